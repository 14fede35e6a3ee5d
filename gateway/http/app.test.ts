import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { QueryRequest, QueryResponse } from "../../api/v1alpha1/query.js";
import { buildTokenTable } from "../auth/token-table.js";
import { createLogger } from "../logger.js";
import { refuse } from "../query/query-refusal.js";
import type { QueryOptions, QueryService } from "../query/query-service.js";
import { buildApp, type GatewayApp } from "./app.js";
import { buildOpenApiDocument } from "./openapi.js";

// The HTTP layer in-process (fastify's inject) with a stand-in for the query side: what reaches the
// service, and what the client gets back for each kind of refusal.

const b64 = (s: string) => Buffer.from(s).toString("base64");
const shopToken = "shop-token-5f1d2c";
const adminToken = "admin-token-9a8b7c";
const { table } = buildTokenTable([
  { ref: { namespace: "tally", name: "shop" }, data: { token: b64(shopToken), namespaces: b64("shop") } },
  { ref: { namespace: "tally", name: "admin" }, data: { token: b64(adminToken), namespaces: b64("*") } },
]);

const response: QueryResponse = {
  columns: [{ name: "events", role: "metric", type: "UInt64" }],
  rows: [{ events: 3 }],
  explain: {
    source: { kind: "Pipeline", name: "clicks", table: "shop.clicks" },
    segments: [],
    candidates: [],
    range: { from: "2020-01-01T00:00:00.000Z", to: "2020-01-02T00:00:00.000Z" },
    approximate: [],
    cache: { status: "miss", settled: false },
  },
};

class RecordingService implements QueryService {
  readonly calls: { namespace: string; request: QueryRequest; options: QueryOptions }[] = [];
  failWith: unknown;
  async sources() {
    return { sources: [], unusable: [] };
  }
  async query(namespace: string, request: QueryRequest, options: QueryOptions) {
    this.calls.push({ namespace, request, options });
    if (this.failWith !== undefined) throw this.failWith;
    return response;
  }
}

let app: GatewayApp;
let service: RecordingService;
let logLines: string[];

async function start(rateLimitPerMinute = 1000): Promise<void> {
  service = new RecordingService();
  logLines = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  app = await buildApp({
    service,
    tokens: () => table,
    rateLimitPerMinute,
    logger: createLogger(sink, "debug"),
  });
}
afterEach(async () => app.close());

const query = { metrics: ["events"], timeRange: { preset: "last_1h" } };
const post = (body: unknown, token = shopToken, url = "/api/v1/namespaces/shop/query", headers = {}) =>
  app.inject({
    method: "POST",
    url,
    payload: body as object,
    headers: { authorization: `Bearer ${token}`, ...headers },
  });

describe("gateway HTTP: auth", () => {
  it("answers 401 with WWW-Authenticate without a token or with an unknown one", async () => {
    await start();
    const none = await app.inject({ method: "POST", url: "/api/v1/namespaces/shop/query", payload: query });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(none.json()).toMatchObject({ error: "Unauthenticated", field: "Authorization" });
    const unknown = await post(query, "not-a-token");
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().message).toMatch(/not one this gateway knows/);
    expect(service.calls).toEqual([]);
  });

  it("answers 403 naming the namespace for a token scoped elsewhere; * reads any namespace", async () => {
    await start();
    const other = await post(query, shopToken, "/api/v1/namespaces/billing/query");
    expect(other.statusCode).toBe(403);
    expect(other.json()).toEqual({
      error: "Forbidden",
      message: "This token may not read namespace billing; it may read: shop.",
      field: "namespace",
      allowed: ["shop"],
    });
    expect((await post(query, adminToken, "/api/v1/namespaces/billing/query")).statusCode).toBe(200);
  });

  it("never logs the token, even for a request that fails", async () => {
    await start();
    await post(query, shopToken);
    await post(query, "some-unknown-token-77");
    service.failWith = new Error("boom");
    await post(query, shopToken);
    expect(logLines.length).toBeGreaterThanOrEqual(3);
    const log = logLines.join("\n");
    expect(log).not.toContain(shopToken);
    expect(log).not.toContain("some-unknown-token-77");
    expect(logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request")).toContainEqual(
      expect.objectContaining({ namespace: "shop", status: 200, token: "tally/shop" }),
    );
  });
});

describe("gateway HTTP: rate limit", () => {
  it("limits per token, and unauthenticated callers per address, with 429 and Retry-After", async () => {
    await start(2);
    expect((await post(query)).statusCode).toBe(200);
    expect((await post(query)).statusCode).toBe(200);
    const limited = await post(query);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({
      error: "RateLimited",
      message: expect.stringMatching(/retry in \d+ s/),
    });
    // Another token has its own budget.
    expect((await post(query, adminToken)).statusCode).toBe(200);
    // Guessing tokens is limited too.
    const guesses = [];
    for (let i = 0; i < 3; i++) guesses.push((await post(query, `guess-${i}`)).statusCode);
    expect(guesses).toEqual([401, 401, 429]);
  });
});

describe("gateway HTTP: requests", () => {
  it("applies the schema's defaults and passes explain and no-cache on", async () => {
    await start();
    const ok = await post(query, shopToken, "/api/v1/namespaces/shop/query?explain=true", {
      "cache-control": "max-age=0, No-Cache",
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual(response);
    expect(service.calls).toEqual([
      {
        namespace: "shop",
        request: {
          metrics: ["events"],
          timeRange: { preset: "last_1h" },
          dimensions: [],
          granularity: "none",
          timezone: "UTC",
          orderBy: [],
          limit: 1000,
          offset: 0,
        },
        options: { explainOnly: true, bypassCache: true },
      },
    ]);
    await post({ ...query, orderBy: [{ field: "events" }] });
    expect(service.calls[1]?.request.orderBy).toEqual([{ field: "events", direction: "asc" }]);
    expect(service.calls[1]?.options).toEqual({ explainOnly: false, bypassCache: false });
  });

  it.each([
    [
      "a bad metric name",
      { metrics: ["a", "b", "no spaces"] },
      "metrics[2]",
      /metrics\[2\] must match pattern/,
    ],
    [
      "an unknown preset",
      { timeRange: { preset: "last_fortnight" } },
      "timeRange.preset",
      /must match pattern/,
    ],
    [
      "a bad date",
      { timeRange: { from: "yesterday", to: "2020-01-01T00:00:00Z" } },
      "timeRange.from",
      /date-time/,
    ],
    [
      "an unknown granularity",
      { granularity: "weekly" },
      "granularity",
      /must be one of: 1m, 5m, 10m, 15m, 30m, 1h, 6h, 12h, 1d, none/,
    ],
    ["a number as a string", { limit: "5" }, "limit", /limit must be integer/],
    ["a limit too high", { limit: 1_000_000 }, "limit", /must be <= 10000/],
    ["a filter without its value", { filter: { op: "eq", field: "country" } }, "filter.value", /is required/],
    [
      "an unknown filter op",
      { filter: { op: "like", field: "x", value: "y" } },
      "filter.op",
      /one of: eq, in, contains, range, and, or, not/,
    ],
    [
      "a nested filter's bad value",
      { filter: { op: "and", filters: [{ op: "in", field: "country", values: [] }] } },
      "filter.filters[0].values",
      /must NOT have fewer than 1 items/,
    ],
    [
      "an unknown aggregation fn",
      { metrics: [{ fn: "median", name: "m", field: "x" }] },
      "metrics[0].fn",
      /one of: count, sum/,
    ],
  ])("refuses %s with 400 naming the field", async (_what, change, field, message) => {
    await start();
    const refused = await post({ ...query, ...change });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json()).toMatchObject({ error: "InvalidRequest", field });
    expect(refused.json().message).toMatch(message);
    expect(service.calls).toEqual([]);
  });

  it("refuses unknown properties instead of dropping them", async () => {
    await start();
    const top = await post({ ...query, metric: ["typo"] });
    expect(top.statusCode).toBe(400);
    expect(top.json()).toMatchObject({
      error: "UnknownField",
      field: "metric",
      allowed: expect.arrayContaining(["metrics"]),
    });
    const nested = await post({ ...query, timeRange: { preset: "last_1h", tz: "UTC" } });
    expect(nested.json()).toMatchObject({ error: "UnknownField", field: "timeRange.tz" });
    const queryString = await post(query, shopToken, "/api/v1/namespaces/shop/query?explian=true");
    expect(queryString.json()).toMatchObject({ error: "UnknownField", field: "explian" });
  });

  it("refuses a namespace that is not a DNS label", async () => {
    await start();
    const refused = await post(query, adminToken, "/api/v1/namespaces/Shop_1/query");
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ field: "namespace", message: expect.stringMatching(/DNS label/) });
  });

  it("answers a QueryRefusal with its status and body", async () => {
    await start();
    service.failWith = (() => {
      try {
        refuse(422, "CostLimit", "The range is too long at minute granularity: ask for hour.", {
          field: "granularity",
        });
      } catch (error) {
        return error;
      }
    })();
    const refused = await post(query);
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toEqual({
      error: "CostLimit",
      message: "The range is too long at minute granularity: ask for hour.",
      field: "granularity",
    });
  });

  it("answers any other failure with a generic 500 and logs it with namespace and route", async () => {
    await start();
    service.failWith = new Error("connect ECONNREFUSED 10.0.0.7:8123");
    const failed = await post(query);
    expect(failed.statusCode).toBe(500);
    expect(failed.body).not.toContain("ECONNREFUSED");
    expect(failed.json().error).toBe("InternalError");
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === "request failed");
    expect(logged).toMatchObject({
      level: "error",
      namespace: "shop",
      route: "/api/v1/namespaces/:namespace/query",
      err: { message: "connect ECONNREFUSED 10.0.0.7:8123" },
    });
  });

  it("answers bad JSON and unknown routes with an ErrorResponse", async () => {
    await start();
    const bad = await app.inject({
      method: "POST",
      url: "/api/v1/namespaces/shop/query",
      payload: "{not json",
      headers: { authorization: `Bearer ${shopToken}`, "content-type": "application/json" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    const missing = await app.inject({ method: "GET", url: "/api/v2/nothing" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: "NotFound", message: "No route GET /api/v2/nothing." });
  });

  it("serves the OpenAPI document without a token", async () => {
    await start();
    const served = await app.inject({ method: "GET", url: "/openapi.json" });
    expect(served.statusCode).toBe(200);
    expect(served.json()).toEqual(buildOpenApiDocument());
  });
});
