import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { FunnelRequest, FunnelResponse } from "../../api/v1alpha1/funnel.js";
import type { QueryApiRequest } from "../../api/v1alpha1/segment.js";
import type { FunnelService } from "../analytics/funnel-service.js";
import { buildTokenTable } from "../auth/token-table.js";
import { createLogger } from "../logger.js";
import type { QueryOptions } from "../query/query-service.js";
import { buildApp, type GatewayApp } from "./app.js";

// The funnel route, and the query route's segment and compare fields, in-process with stand-in
// services: auth first, the schema's defaults and refusals, and what reaches the service.
const b64 = (s: string) => Buffer.from(s).toString("base64");
const token = "shop-token-5f1d2c";
const { table } = buildTokenTable([
  { ref: { namespace: "tally", name: "shop" }, data: { token: b64(token), namespaces: b64("shop") } },
]);

const answer: FunnelResponse = {
  steps: [],
  timeToConvert: { converted: 0, medianMs: null, histogram: { edgesMs: [], counts: [] } },
  explain: {
    source: { kind: "Pipeline", name: "clicks", table: "shop.clicks" },
    reason: "raw",
    entity: "user_id",
    range: { from: "2020-01-01T00:00:00.000Z", to: "2020-01-02T00:00:00.000Z" },
    cache: { status: "miss", settled: false },
  },
};

const calls: { namespace: string; request: FunnelRequest; options: QueryOptions }[] = [];
const queries: QueryApiRequest[] = [];
const service: FunnelService = {
  async funnel(namespace, request, options) {
    calls.push({ namespace, request, options });
    return answer;
  },
};

let app: GatewayApp;
afterEach(async () => {
  calls.length = 0;
  queries.length = 0;
  await app.close();
});

async function start(): Promise<void> {
  const sink = new Writable({ write: (_c, _e, done) => done() });
  app = await buildApp({
    service: {
      sources: async () => ({ sources: [], unusable: [] }),
      query: async (_namespace, request) => {
        queries.push(request);
        return {
          columns: [],
          rows: [],
          explain: { ...answer.explain, segments: [], candidates: [], approximate: [] },
        };
      },
    },
    funnel: service,
    tokens: () => table,
    rateLimitPerMinute: 1000,
    logger: createLogger(sink, "debug"),
  });
}

const body = {
  steps: [
    { event: { op: "eq", field: "type", value: "page_view" } },
    { event: { op: "eq", field: "type", value: "purchase" } },
  ],
  timeRange: { preset: "7d" },
};
const post = (
  payload: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${token}` },
  url = "/api/v1/namespaces/shop/funnel",
) => app.inject({ method: "POST", url, payload: payload as object, headers });

describe("POST /api/v1/namespaces/{ns}/funnel", () => {
  it("401 without a token, before the body is looked at", async () => {
    await start();
    const response = await post({}, {});
    expect(response.statusCode).toBe(401);
    expect(calls).toEqual([]);
  });

  it("fills the defaults (14-day window, ordered, user_id entity left to the plan) and passes explain/no-cache", async () => {
    await start();
    const response = await post(
      body,
      { authorization: `Bearer ${token}`, "cache-control": "no-cache" },
      "/api/v1/namespaces/shop/funnel?explain=true",
    );
    expect(response.statusCode).toBe(200);
    expect(calls[0]?.request).toMatchObject({
      conversionWindowSeconds: 14 * 86_400,
      order: "ordered",
      exclusions: [],
      histogramBins: 10,
      timezone: "UTC",
    });
    expect(calls[0]?.options).toEqual({ explainOnly: true, bypassCache: true });
  });

  it("400 naming the field: one step only, an unknown order, an unknown key", async () => {
    await start();
    const one = await post({ ...body, steps: body.steps.slice(0, 1) });
    expect(one.statusCode).toBe(400);
    expect(one.json().field).toMatch(/steps/);
    const order = await post({ ...body, order: "sideways" });
    expect(order.statusCode).toBe(400);
    expect(order.json().field).toMatch(/order/);
    const extra = await post({ ...body, stepz: [] });
    expect(extra.statusCode).toBe(400);
    expect(calls).toEqual([]);
  });
});

describe("POST …/query: segment and compare", () => {
  const query = { metrics: ["events"], timeRange: { preset: "7d" } };
  const segment = { op: "has_done", event: { op: "eq", field: "type", value: "purchase" } };

  it("passes a segment and a comparison on to the query service", async () => {
    await start();
    const response = await post(
      { ...query, segment, compare: { previousPeriod: true } },
      undefined,
      "/api/v1/namespaces/shop/query",
    );
    expect(response.statusCode).toBe(200);
    expect(queries[0]).toMatchObject({ segment, compare: { previousPeriod: true } });
  });

  it("400 naming the field: atLeast 0, an unknown op, previousPeriod false, no segments to compare", async () => {
    await start();
    const bad = [
      [{ ...query, segment: { ...segment, atLeast: 0 } }, /segment.*atLeast/],
      [{ ...query, segment: { ...segment, op: "did" } }, /segment/],
      [{ ...query, compare: { previousPeriod: false } }, /compare/],
      [{ ...query, compare: { segments: [] } }, /compare/],
    ] as const;
    for (const [body, field] of bad) {
      const response = await post(body, undefined, "/api/v1/namespaces/shop/query");
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().field).toMatch(field);
    }
    expect(queries).toEqual([]);
  });
});
