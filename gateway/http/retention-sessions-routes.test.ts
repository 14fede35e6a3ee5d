import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { QueryResponse } from "../../api/v1alpha1/query.js";
import type { RetentionRequest, RetentionResponse } from "../../api/v1alpha1/retention.js";
import type { SessionsRequest, SessionsResponse } from "../../api/v1alpha1/sessions.js";
import type { RetentionService } from "../analytics/retention-service.js";
import type { SessionsService } from "../analytics/sessions-service.js";
import { buildTokenTable } from "../auth/token-table.js";
import { createLogger } from "../logger.js";
import type { QueryService } from "../query/query-service.js";
import { buildApp, type GatewayApp } from "./app.js";

// The retention and sessions routes in-process (fastify's inject) with stand-ins for the services:
// auth and rate limit as every route, the schema's defaults and refusals naming the field, and the
// export forms chosen by ?format or Accept.

const token = "reader-token-3c4d";
const { table } = buildTokenTable([
  {
    ref: { namespace: "tally", name: "reader" },
    data: {
      token: Buffer.from(token).toString("base64"),
      namespaces: Buffer.from("shop").toString("base64"),
    },
  },
]);
const explain: QueryResponse["explain"] = {
  source: { kind: "Pipeline", name: "clicks", table: "shop.clicks" },
  segments: [],
  candidates: [],
  range: { from: "2026-01-05T00:00:00.000Z", to: "2026-01-06T00:00:00.000Z" },
  approximate: [],
  cache: { status: "miss", settled: true },
};

class RecordingAnalytics implements RetentionService, SessionsService {
  readonly retentionCalls: RetentionRequest[] = [];
  readonly sessionsCalls: SessionsRequest[] = [];
  async retention(_namespace: string, request: RetentionRequest): Promise<RetentionResponse> {
    this.retentionCalls.push(request);
    return {
      period: request.period,
      mode: request.mode,
      cohorts: [
        {
          start: "2026-01-05T00:00:00.000Z",
          size: 3,
          cells: [
            { period: 0, entities: 3, percent: 100 },
            { period: 1, entities: 1, percent: 33.33 },
          ],
        },
      ],
      explain,
    };
  }
  async sessions(_namespace: string, request: SessionsRequest): Promise<SessionsResponse> {
    this.sessionsCalls.push(request);
    const stats = {
      sessions: 2,
      events: 3,
      bounces: 1,
      averageDurationSeconds: 1.5,
      medianDurationSeconds: 1.5,
      bounceRate: 0.5,
      eventsPerSession: 1.5,
    };
    return {
      summary: stats,
      entryPages: [{ url: "/a,b", sessions: 2 }],
      exitPages: [],
      overTime: [],
      byDimension: [],
      gapSeconds: 1800,
      explain,
    };
  }
}

const noQueries: QueryService = {
  sources: async () => ({ sources: [], unusable: [] }),
  query: async () => {
    throw new Error("not called");
  },
};

let app: GatewayApp;
let analytics: RecordingAnalytics;
afterEach(async () => app.close());

async function start(): Promise<void> {
  analytics = new RecordingAnalytics();
  app = await buildApp({
    service: noQueries,
    tokens: () => table,
    rateLimitPerMinute: 1000,
    logger: createLogger(new Writable({ write: (_c, _e, done) => done() }), "error"),
    analytics: {
      retention: analytics,
      sessions: analytics,
      exportQuery: async () => ({ columns: [], rows: [] }),
    },
  });
}

const post = (
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${token}` },
) => app.inject({ method: "POST", url: `/api/v1/namespaces/shop/${path}`, payload: body as object, headers });

describe("retention and sessions routes", () => {
  it("need a token for the namespace", async () => {
    await start();
    const range = { timeRange: { preset: "7d" } };
    expect((await post("retention", range, {})).statusCode).toBe(401);
    expect((await post("sessions", range, {})).statusCode).toBe(401);
    const other = await app.inject({
      method: "POST",
      url: "/api/v1/namespaces/billing/retention",
      payload: range,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(other.statusCode).toBe(403);
    expect(analytics.retentionCalls).toEqual([]);
  });

  it("fill the documented defaults and refuse out-of-range values naming the field", async () => {
    await start();
    expect((await post("retention", { timeRange: { preset: "7d" } })).statusCode).toBe(200);
    expect(analytics.retentionCalls[0]).toEqual({
      timeRange: { preset: "7d" },
      period: "day",
      periods: 7,
      mode: "recurring",
      timezone: "UTC",
    });
    const tooMany = await post("retention", { timeRange: { preset: "7d" }, periods: 61 });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().field).toBe("periods");
    const segment = await post("retention", {
      timeRange: { preset: "7d" },
      segment: { op: "has_done", event: { op: "eq", field: "type", value: "purchase" } },
    });
    expect(segment.statusCode).toBe(200);
    expect(analytics.retentionCalls[1]?.segment).toEqual({
      op: "has_done",
      event: { op: "eq", field: "type", value: "purchase" },
    });
    expect((await post("sessions", { timeRange: { preset: "7d" } })).statusCode).toBe(200);
    expect(analytics.sessionsCalls[0]).toMatchObject({
      urlField: "url",
      bounce: "single_event",
      granularity: "1d",
      top: 10,
    });
    const badBounce = await post("sessions", { timeRange: { preset: "7d" }, bounce: "sometimes" });
    expect(badBounce.statusCode).toBe(400);
    expect(badBounce.json().field).toBe("bounce");
  });

  it("answer CSV or JSON Lines for ?format or Accept, with the cap and a filename", async () => {
    await start();
    const csv = await post("retention?format=csv", { timeRange: { preset: "7d" } });
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(csv.headers["x-tally-row-cap"]).toBe("300000");
    expect(csv.headers["content-disposition"]).toBe('attachment; filename="retention-clicks.csv"');
    expect(csv.body).toBe(
      "cohort_start,cohort_size,period,entities,percent\r\n2026-01-05T00:00:00.000Z,3,0,3,100\r\n2026-01-05T00:00:00.000Z,3,1,1,33.33\r\n",
    );
    const jsonl = await post(
      "sessions",
      { timeRange: { preset: "7d" } },
      { authorization: `Bearer ${token}`, accept: "application/x-ndjson" },
    );
    const lines = jsonl.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ breakdown: "all", sessions: 2, bounce_rate: 0.5 });
    expect(lines[1]).toMatchObject({ breakdown: "entry_page", key: "/a,b", sessions: 2 });
  });
});
