import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorResponse, QueryResponse } from "../../api/v1alpha1/query.js";
import { windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import { TokenSecrets } from "../../gateway/auth/token-secrets.js";
import { ResultCache } from "../../gateway/cache/result-cache.js";
import { buildApp, type GatewayApp } from "../../gateway/http/app.js";
import { createLogger } from "../../gateway/logger.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { KubeClient } from "../../lib/kube/kube-client.js";
import { kubeconfigPath, redisUrl } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { dropGatewayDataset, type GatewayDataset, loadGatewayDataset } from "../support/gateway-dataset.js";
import { createNamespace, deleteNamespace, kubectlOk } from "../support/kube.js";
import { clickhouseClient } from "../support/runtime-harness.js";

// Issue 13, "Refusals": the real HTTP app over the real query service (the example pipeline, its three
// rollups and a generated clickstream on the stack's ClickHouse, the Redis result cache) and a token
// table from real Secrets. Every string field of a request gets SQL-ish and unicode-trick strings:
// where the field is a name, the schema refuses it with a 400 naming the field; where it is a value,
// it is only a value (it matches nothing, and every table keeps its rows).

const clickhouse = clickhouseClient();
const silent = () => createLogger(new Writable({ write: (_c, _e, done) => done() }));
const hour = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The strings tried in every field. */
const hostile: Readonly<Record<string, string>> = {
  "sql comment": "'; DROP TABLE x; --",
  backticks: "`events`; DROP TABLE `x`",
  "placeholder p0": "{p0:String}",
  "placeholder name": "{name:String}",
  "NUL byte": "ev\u0000ents",
  "RTL override": "\u202Eevents",
  "Cyrillic е": "\u0435vents",
  "5000 characters": "a".repeat(5_000),
};

/** Values a filter accepts: the same strings, at most 1024 characters, and escape-worthy ones. */
const hostileValues: readonly string[] = [
  ...Object.values(hostile).map((v) => v.slice(0, 1024)),
  "\\N",
  "\\",
  "'",
  "\n\t\r",
  "я".repeat(1024),
];

let dataset: GatewayDataset;
let secretNamespace: string;
let tokens: TokenSecrets;
let redis: Redis;
let cache: ResultCache;
let base: string;
const apps: GatewayApp[] = [];
const token = `refusals-${Math.random().toString(36).slice(2)}`;
const otherToken = `elsewhere-${Math.random().toString(36).slice(2)}`;
const otherNamespace = "gw-elsewhere";

async function startApp(rateLimitPerMinute: number): Promise<string> {
  const service = createQueryService({
    snapshot: (ns) =>
      ns === dataset.names.namespace
        ? { pipelines: [dataset.pipeline], rollups: dataset.rollups }
        : { pipelines: [], rollups: [] },
    clickhouse,
    redis,
    cache,
    logger: silent(),
    now: () => Date.now(),
  });
  const app = await buildApp({ service, tokens: () => tokens.table(), rateLimitPerMinute, logger: silent() });
  apps.push(app);
  return app.listen({ port: 0, host: "127.0.0.1" });
}

interface Sent {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function send(
  body: unknown,
  options: {
    token?: string | null;
    namespace?: string;
    search?: string;
    root?: string;
    headers?: object;
  } = {},
): Promise<Sent> {
  const bearer = options.token === undefined ? token : options.token;
  const namespace = options.namespace ?? encodeURIComponent(dataset.names.namespace);
  const response = await fetch(
    `${options.root ?? base}/api/v1/namespaces/${namespace}/query${options.search ?? ""}`,
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        ...options.headers,
      },
      body: JSON.stringify(body),
    },
  );
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const refusal = (sent: Sent) => sent.body as ErrorResponse;
const answer = (sent: Sent) => sent.body as QueryResponse;

/** A request over the whole dataset (three days, all settled). */
const request = (overrides: Record<string, unknown> = {}) => ({
  metrics: ["events"],
  timeRange: { from: iso(dataset.dayStartMs), to: iso(dataset.dayStartMs + 72 * hour) },
  ...overrides,
});

/** Rows of every table the dataset made: raw, window and the three rollups. */
async function tableRows(): Promise<Record<string, number>> {
  const { database, table } = dataset.spec.sink.clickhouse;
  const tables = [
    dataset.rawTable,
    `${database}.${windowTableName(table)}`,
    ...dataset.rollups.map((r) => `${r.status?.database}.${r.status?.table}`),
  ];
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const result = await clickhouse.query({
      query: `SELECT count() AS n FROM ${t}`,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    counts[t] = (await result.json<{ n: number }>())[0]?.n ?? -1;
  }
  return counts;
}

beforeAll(async () => {
  dataset = await loadGatewayDataset(clickhouse, "refusals");
  secretNamespace = await createNamespace("gw-refusals");
  const secret = (name: string, value: string, namespaces: string) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: secretNamespace },
      stringData: { token: value, namespaces },
    });
  await kubectlOk(["apply", "-f", "-"], secret("dashboards", token, dataset.names.namespace));
  await kubectlOk(["apply", "-f", "-"], secret("elsewhere", otherToken, otherNamespace));
  tokens = new TokenSecrets(
    KubeClient.fromEnvironment(kubeconfigPath),
    [
      { namespace: secretNamespace, name: "dashboards" },
      { namespace: secretNamespace, name: "elsewhere" },
    ],
    silent(),
  );
  tokens.start();
  await eventually(async () => {
    if (tokens.table().size !== 2) throw new Error("token Secrets not read yet");
  }, 30_000);
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  cache = new ResultCache({ redisUrl, registry: new Registry(), logger: silent() });
  await cache.waitUntilReady(5_000);
  base = await startApp(100_000);
}, 300_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await tokens?.stop();
  await cache?.close();
  redis?.disconnect();
  if (dataset !== undefined) await dropGatewayDataset(clickhouse, dataset);
  await clickhouse.close();
  if (secretNamespace !== undefined) await deleteNamespace(secretNamespace);
});

describe("gateway refusals over HTTP", () => {
  it("answers the dataset at all (the refusals below are not a broken setup)", async () => {
    const ok = await send(request({ dimensions: ["type"], orderBy: [{ field: "type" }] }));
    expect(ok.status).toBe(200);
    const result = await clickhouse.query({
      query: `SELECT type, count() AS events FROM ${dataset.rawTable} GROUP BY type ORDER BY type`,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const byType = await result.json<{ type: string; events: number }>();
    expect(byType.length).toBeGreaterThan(1);
    expect(answer(ok).rows).toEqual(byType);
  });

  it("refuses unknown metrics, dimensions, filter fields, windows and pipelines, listing the valid ones", async () => {
    const metric = await send(request({ metrics: ["events", "clicks"] }));
    expect(metric.status).toBe(400);
    expect(refusal(metric)).toMatchObject({ error: "UnknownMetric", field: "metrics[1]" });
    expect(refusal(metric).allowed).toEqual(
      expect.arrayContaining(["count", "events", "latency", "revenue", "users"]),
    );
    expect(refusal(metric).message).toContain(`"clicks"; use one of: ${refusal(metric).allowed?.join(", ")}`);

    const dimension = await send(request({ dimensions: ["type", "country"] }));
    expect(dimension.status).toBe(400);
    expect(refusal(dimension)).toMatchObject({ error: "UnknownDimension", field: "dimensions[1]" });
    expect(refusal(dimension).allowed).toEqual(expect.arrayContaining(["type", "url", "user_id"]));
    expect(refusal(dimension).message).toMatch(/"country" is not a dimension .*; use one of: .*\burl\b/);

    const inFilter = await send(
      request({
        filter: {
          op: "and",
          filters: [
            { op: "eq", field: "type", value: "click" },
            { op: "eq", field: "country", value: "FR" },
          ],
        },
      }),
    );
    expect(inFilter.status).toBe(400);
    expect(refusal(inFilter)).toMatchObject({ error: "UnknownField", field: "filter.filters[1].field" });
    expect(refusal(inFilter).allowed).toEqual(expect.arrayContaining(["type", "url", "ts"]));
    expect(refusal(inFilter).message).toMatch(/"country" is not a field .*; use one of: /);

    const inline = await send(request({ metrics: [{ fn: "sum", name: "total", field: "price" }] }));
    expect(inline.status).toBe(400);
    expect(refusal(inline)).toMatchObject({ error: "UnknownField", field: "metrics[0].field" });
    expect(refusal(inline).allowed).toContain("value");

    const window = await send(request({ window: "events_per_hour" }));
    expect(window.status).toBe(400);
    expect(refusal(window)).toMatchObject({
      error: "UnknownWindow",
      field: "window",
      allowed: ["events_per_minute", "page_latency"],
    });

    const pipeline = await send(request({ pipeline: "nope" }));
    expect(pipeline.status).toBe(404);
    expect(refusal(pipeline)).toMatchObject({
      error: "UnknownPipeline",
      field: "pipeline",
      allowed: [dataset.names.pipeline],
    });
  });

  // Where the request names something, a name it must be: refused by the schema, naming the field.
  const nameFields: readonly { field: string; make: (h: string) => Record<string, unknown> }[] = [
    { field: "metrics[1]", make: (h) => ({ metrics: ["events", h] }) },
    { field: "metrics[0].name", make: (h) => ({ metrics: [{ fn: "count", name: h }] }) },
    { field: "metrics[0].field", make: (h) => ({ metrics: [{ fn: "uniq", name: "u", field: h }] }) },
    { field: "dimensions[0]", make: (h) => ({ dimensions: [h] }) },
    { field: "filter.field", make: (h) => ({ filter: { op: "eq", field: h, value: "click" } }) },
    {
      field: "filter.filters[1].field",
      make: (h) => ({
        filter: {
          op: "and",
          filters: [
            { op: "eq", field: "type", value: "click" },
            { op: "in", field: h, values: ["x"] },
          ],
        },
      }),
    },
    {
      field: "filter.filter.field",
      make: (h) => ({ filter: { op: "not", filter: { op: "contains", field: h, value: "x" } } }),
    },
    { field: "orderBy[0].field", make: (h) => ({ orderBy: [{ field: h, direction: "desc" }] }) },
    { field: "pipeline", make: (h) => ({ pipeline: h }) },
    { field: "window", make: (h) => ({ window: h }) },
    { field: "timeRange.preset", make: (h) => ({ timeRange: { preset: h } }) },
    { field: "timeRange.from", make: (h) => ({ timeRange: { from: h, to: iso(Date.now()) } }) },
    { field: "timeRange.to", make: (h) => ({ timeRange: { from: iso(Date.now() - hour), to: h } }) },
  ];

  it.each(Object.entries(hostile))("refuses %s in every name field with a 400 naming it", async (_, h) => {
    for (const { field, make } of nameFields) {
      const sent = await send(request(make(h)));
      expect(sent.status, `${field}: ${JSON.stringify(sent.body)}`).toBe(400);
      expect(refusal(sent)).toMatchObject({ error: "InvalidRequest", field });
      // The message names the field and the form it must take.
      expect(refusal(sent).message).toMatch(
        new RegExp(
          `^${field.replace(/[[\].]/g, "\\$&")} must (match pattern "\\^.+\\$"|NOT have more than \\d+ characters|match format "date-time")`,
        ),
      );
    }
    // The timezone is not a name the schema can pattern: an IANA zone, checked as such.
    const timezone = await send(request({ timezone: h, granularity: "1h" }));
    expect(timezone.status).toBe(400);
    expect(refusal(timezone).field).toBe("timezone");
    expect(refusal(timezone).message).toMatch(
      h.length > 64
        ? /^timezone must NOT have more than 64 characters/
        : /is not an IANA timezone \(e\.g\. UTC, Europe\/Paris\)$/,
    );
    // The query string's one parameter takes true or false only.
    const explain = await send(request(), { search: `?explain=${encodeURIComponent(h)}` });
    expect(explain.status).toBe(400);
    expect(refusal(explain)).toMatchObject({
      error: "InvalidRequest",
      field: "explain",
      message: "explain must be one of: true, false",
      allowed: ["true", "false"],
    });
    // And in the path: the namespace is a DNS label, refused as such before the token's scope is judged.
    const path = await send(request(), { namespace: encodeURIComponent(h) });
    expect(path.status).toBe(400);
    expect(refusal(path)).toMatchObject({ error: "InvalidRequest", field: "namespace" });
    expect(refusal(path).message).toMatch(/^namespace must .*(DNS label|\^\[a-z0-9\])/);
  });

  it("takes hostile filter values as values: they match nothing, and every table keeps its rows", async () => {
    const before = await tableRows();
    expect(Object.values(before).every((n) => n > 0)).toBe(true);
    const total = answer(await send(request())).rows[0]?.events;
    expect(total).toBe(before[dataset.rawTable]);
    const filters = (v: string) => [
      { op: "eq", field: "url", value: v },
      { op: "eq", field: "type", value: v },
      { op: "in", field: "type", values: [v] },
      { op: "in", field: "url", values: [v, `${v.slice(0, 8)}/`] },
      { op: "contains", field: "url", value: v },
      { op: "range", field: "url", gte: v, lte: v },
      {
        op: "or",
        filters: [
          { op: "eq", field: "user_id", value: v },
          { op: "eq", field: "session_id", value: v },
        ],
      },
    ];
    for (const v of hostileValues) {
      for (const filter of filters(v)) {
        const sent = await send(request({ filter }));
        expect(sent.status, `${JSON.stringify(filter).slice(0, 120)}: ${JSON.stringify(sent.body)}`).toBe(
          200,
        );
        expect(answer(sent).rows, JSON.stringify(filter).slice(0, 120)).toEqual([{ events: 0 }]);
      }
      // Negated, the value excludes nothing: every event is counted.
      const negated = await send(
        request({ filter: { op: "not", filter: { op: "eq", field: "type", value: v } } }),
      );
      expect(answer(negated).rows).toEqual([{ events: total }]);
      // A live window's filter too.
      const window = await send(
        request({
          window: "events_per_minute",
          dimensions: ["type"],
          filter: { op: "eq", field: "type", value: v },
        }),
      );
      expect(window.status).toBe(200);
      expect(answer(window).rows).toEqual([]);
    }
    // Past 1024 characters a value is refused by the schema, naming it.
    const long = await send(
      request({ filter: { op: "eq", field: "url", value: hostile["5000 characters"] } }),
    );
    expect(long.status).toBe(400);
    expect(refusal(long)).toMatchObject({ error: "InvalidRequest", field: "filter.value" });
    expect(refusal(long).message).toMatch(/^filter\.value must NOT have more than 1024 characters/);
    expect(await tableRows()).toEqual(before);
  });

  it("explains with ?explain=true: SQL and params, no request value in the SQL text", async () => {
    const values = hostileValues.filter((v) => v.length > 1);
    const sent = await send(
      request({
        dimensions: ["type"],
        granularity: "1h",
        filter: {
          op: "or",
          filters: [
            { op: "in", field: "url", values },
            ...values.map((v) => ({ op: "contains", field: "user_id", value: v })),
          ],
        },
      }),
      { search: "?explain=true" },
    );
    expect(sent.status).toBe(200);
    const { explain, rows } = answer(sent);
    expect(rows).toEqual([]);
    const sql = explain.sql ?? "";
    const params = explain.params ?? {};
    expect(sql).toMatch(/^SELECT/i);
    // The SQL's own placeholders name params; with them blanked, no request value is left in the text.
    const placeholders = [...sql.matchAll(/\{(\w+):[^}]+\}/g)].map((m) => m[1] ?? "");
    expect(placeholders.length).toBeGreaterThan(values.length);
    for (const name of placeholders) expect(params).toHaveProperty(name);
    const text = sql.replace(/\{(\w+):[^}]+\}/g, "?");
    for (const v of values) expect(text, JSON.stringify(v.slice(0, 40))).not.toContain(v);
    const sentValues = Object.values(params).flatMap((p) => (Array.isArray(p) ? p : [p]));
    for (const v of values) expect(sentValues).toContain(v);
  });

  it("refuses a range over the cost limits with a 422 saying how to narrow it", async () => {
    const buckets = await send(request({ granularity: "1m", timeRange: { preset: "last_30d" } }));
    expect(buckets.status).toBe(422);
    expect(refusal(buckets)).toMatchObject({ error: "TooManyBuckets", field: "granularity" });
    expect(refusal(buckets).message).toMatch(
      /more than 10000 time buckets .*use a coarser granularity or a shorter range/,
    );

    // user_id is in no rollup: 60 days of raw events.
    const raw = await send(request({ dimensions: ["user_id"], timeRange: { preset: "last_60d" } }));
    expect(raw.status).toBe(422);
    expect(refusal(raw)).toMatchObject({ error: "RawRangeTooLong", field: "timeRange" });
    expect(refusal(raw).message).toMatch(/would scan 1440 h .* the limit is 744 h: narrow the time range/);
  });

  it("answers 401 without a known token and 403 outside the token's namespaces", async () => {
    const none = await send(request(), { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(refusal(none)).toMatchObject({ error: "Unauthenticated", field: "Authorization" });
    expect(refusal(none).message).toContain("send `Authorization: Bearer <token>`");
    const unknown = await send(request(), { token: "not-a-token" });
    expect(unknown.status).toBe(401);
    expect(refusal(unknown).message).toMatch(/not one this gateway knows/);

    const elsewhere = await send(request(), { namespace: otherNamespace });
    expect(elsewhere.status).toBe(403);
    expect(refusal(elsewhere)).toMatchObject({
      error: "Forbidden",
      field: "namespace",
      allowed: [dataset.names.namespace],
    });
    expect(refusal(elsewhere).message).toBe(
      `This token may not read namespace ${otherNamespace}; it may read: ${dataset.names.namespace}.`,
    );
    // The other token is good for its own namespace only (which has no pipelines here).
    const own = await send(request(), { token: otherToken, namespace: otherNamespace });
    expect(own.status).toBe(404);
    expect(refusal(own).error).toBe("NoPipelines");
    expect((await send(request(), { token: otherToken })).status).toBe(403);
  });

  it("limits each token to its rate, with 429 and Retry-After", async () => {
    const limited = await startApp(3);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(request(), { root: limited })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await send(request(), { root: limited });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refusal(refused)).toMatchObject({ error: "RateLimited" });
    expect(refusal(refused).message).toBe(
      `Too many requests for this token: retry in ${retryAfter} s (the Retry-After header).`,
    );
    // Per token: another token is judged on its own (here: its scope, not the first one's rate).
    expect((await send(request(), { root: limited, token: otherToken })).status).toBe(403);
  });

  it("accepts Cache-Control: no-cache: the query runs again instead of being served from the cache", async () => {
    const fresh = request({
      dimensions: ["type"],
      filter: { op: "not", filter: { op: "eq", field: "url", value: `/never-${Math.random()}` } },
    });
    const first = await send(fresh);
    expect(answer(first).explain.cache.status).toBe("miss");
    const second = await send(fresh);
    expect(answer(second).explain.cache.status).toBe("hit");
    for (const header of ["no-cache", "max-age=0, No-Cache"]) {
      const bypassed = await send(fresh, { headers: { "cache-control": header } });
      expect(bypassed.status).toBe(200);
      expect(answer(bypassed).explain.cache.status, header).toBe("bypass");
      expect(answer(bypassed).rows).toEqual(answer(first).rows);
    }
  });
});
