import { Redis } from "ioredis";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryRequest, QueryResponse, ResultValue } from "../../api/v1alpha1/query.js";
import { ResultCache } from "../../gateway/cache/result-cache.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { QueryRefusal } from "../../gateway/query/query-refusal.js";
import type { QueryService } from "../../gateway/query/query-service.js";
import { standinQueryLogTable } from "../env/clickhouse/query-log.js";
import { redisUrl } from "../env/config.js";
import { exactQuantile } from "../support/exact-quantile.js";
import { freePort } from "../support/free-port.js";
import { dropGatewayDataset, type GatewayDataset, loadGatewayDataset } from "../support/gateway-dataset.js";
import { clickhouseClient, stackCommand } from "../support/runtime-harness.js";

// Issue 13: the router's answers equal the same question answered from the raw table by SQL written here
// (direct aggregates: count(), sum(), uniqExact(), exact quantiles computed from groupArray), and the router
// picks the expected tables: the day, hour or minute rollup, the window table or the raw table, with the
// edges of a non-aligned range answered by finer sources.
const clickhouse = clickhouseClient();
afterAll(async () => {
  await clickhouse.close();
});

const hour = 3_600_000;
const day = 24 * hour;
const minute = 60_000;

type Metric = "events" | "revenue" | "users" | "latency" | "count" | "sessions" | "n";

interface Case {
  readonly name: string;
  readonly request: (
    d: GatewayDataset,
  ) => Omit<QueryRequest, "dimensions" | "granularity" | "timezone" | "orderBy" | "limit" | "offset"> &
    Partial<QueryRequest>;
  /** The expected source of each segment, in time order: a rollup name, "raw" or "window". */
  readonly route: readonly string[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const span = (d: GatewayDataset, fromH: number, toH: number) => ({
  from: iso(d.dayStartMs + fromH * hour),
  to: iso(d.dayStartMs + toH * hour),
});
const days = (d: GatewayDataset) => span(d, 0, 72);

const cases: Case[] = [
  {
    name: "daily events by type",
    request: (d) => ({
      metrics: ["events", "revenue"],
      dimensions: ["type"],
      granularity: "1d",
      timeRange: days(d),
    }),
    route: ["clicks-per-day"],
  },
  {
    name: "hourly events by type",
    request: (d) => ({
      metrics: ["events", "revenue"],
      dimensions: ["type"],
      granularity: "1h",
      timeRange: days(d),
    }),
    route: ["clicks-per-hour"],
  },
  {
    name: "6-hourly events",
    request: (d) => ({ metrics: ["events"], granularity: "6h", timeRange: days(d) }),
    route: ["clicks-per-hour"],
  },
  {
    name: "total events",
    request: (d) => ({ metrics: ["events", "revenue"], timeRange: days(d) }),
    route: ["clicks-per-day"],
  },
  {
    name: "inline count under another name",
    request: (d) => ({
      metrics: [{ fn: "count", name: "n" }],
      dimensions: ["type"],
      granularity: "1d",
      timeRange: days(d),
    }),
    route: ["clicks-per-day"],
  },
  {
    name: "New York days (UTC-5): hours make them",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["type"],
      granularity: "1d",
      timezone: "America/New_York",
      timeRange: span(d, 5, 53),
    }),
    route: ["clicks-per-hour"],
  },
  {
    name: "Kolkata days (UTC+5:30): minutes make them",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["type"],
      granularity: "1d",
      timezone: "Asia/Kolkata",
      timeRange: { from: iso(d.dayStartMs - 5.5 * hour), to: iso(d.dayStartMs + 2 * day - 5.5 * hour) },
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "Kolkata half hours",
    request: (d) => ({
      metrics: ["events"],
      granularity: "30m",
      timezone: "Asia/Kolkata",
      timeRange: span(d, 2, 10),
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "Kathmandu days (UTC+5:45)",
    request: (d) => ({
      metrics: ["events", "revenue"],
      granularity: "1d",
      timezone: "Asia/Kathmandu",
      timeRange: { from: iso(d.dayStartMs - 5.75 * hour), to: iso(d.dayStartMs + day - 5.75 * hour) },
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "by url (only the minute rollup has it)",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["url"],
      granularity: "1h",
      timeRange: span(d, 0, 24),
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "distinct users by type per day",
    request: (d) => ({ metrics: ["users"], dimensions: ["type"], granularity: "1d", timeRange: days(d) }),
    route: ["clicks-per-minute"],
  },
  {
    name: "latency quantiles by url",
    request: (d) => ({
      metrics: ["latency"],
      dimensions: ["url"],
      granularity: "6h",
      timeRange: span(d, 0, 24),
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "every metric by type hourly",
    request: (d) => ({
      metrics: ["events", "revenue", "users", "latency"],
      dimensions: ["type"],
      granularity: "1h",
      timeRange: span(d, 6, 18),
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "5-minute buckets",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["type"],
      granularity: "5m",
      timeRange: span(d, 10, 14),
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "inline uniq of a field no rollup has",
    request: (d) => ({
      metrics: [{ fn: "uniq", name: "sessions", field: "session_id" }],
      dimensions: ["type"],
      granularity: "1d",
      timeRange: days(d),
    }),
    route: ["raw"],
  },
  {
    name: "by user (raw)",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["user_id"],
      timeRange: span(d, 0, 12),
      orderBy: [
        { field: "events", direction: "desc" },
        { field: "user_id", direction: "asc" },
      ],
      limit: 20,
    }),
    route: ["raw"],
  },
  {
    name: "filter on type, hourly",
    request: (d) => ({
      metrics: ["events"],
      filter: { op: "eq", field: "type", value: "click" },
      granularity: "1h",
      timeRange: span(d, 0, 48),
    }),
    route: ["clicks-per-hour"],
  },
  {
    name: "filter type in, daily",
    request: (d) => ({
      metrics: ["events", "revenue"],
      filter: { op: "in", field: "type", values: ["purchase", "add_to_cart"] },
      dimensions: ["type"],
      granularity: "1d",
      timeRange: days(d),
    }),
    route: ["clicks-per-day"],
  },
  {
    name: "filter not purchase",
    request: (d) => ({
      metrics: ["events"],
      filter: { op: "not", filter: { op: "eq", field: "type", value: "purchase" } },
      granularity: "1d",
      timeRange: days(d),
    }),
    route: ["clicks-per-day"],
  },
  {
    name: "filter or",
    request: (d) => ({
      metrics: ["events"],
      filter: {
        op: "or",
        filters: [
          { op: "eq", field: "type", value: "click" },
          { op: "eq", field: "type", value: "purchase" },
        ],
      },
      dimensions: ["type"],
      timeRange: days(d),
    }),
    route: ["clicks-per-day"],
  },
  {
    name: "url contains (minute)",
    request: (d) => ({
      metrics: ["events"],
      filter: { op: "contains", field: "url", value: "/products" },
      dimensions: ["type"],
      granularity: "1h",
      timeRange: span(d, 0, 24),
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "range on value (raw)",
    request: (d) => ({
      metrics: ["events", "revenue"],
      filter: { op: "range", field: "value", gte: 10, lt: 100 },
      dimensions: ["type"],
      granularity: "1d",
      timeRange: days(d),
    }),
    route: ["raw"],
  },
  {
    name: "and of type and url",
    request: (d) => ({
      metrics: ["events", "users"],
      filter: {
        op: "and",
        filters: [
          { op: "eq", field: "type", value: "page_view" },
          { op: "range", field: "url", gte: "/" },
        ],
      },
      dimensions: ["url"],
      timeRange: span(d, 0, 30),
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "non-aligned range, no buckets: raw, minute, hour",
    request: (d) => ({
      metrics: ["events", "revenue"],
      dimensions: ["type"],
      timeRange: { from: iso(d.dayStartMs + 3 * hour + 30_000), to: iso(d.dayStartMs + 9 * hour) },
    }),
    route: ["raw", "clicks-per-minute", "clicks-per-hour"],
  },
  {
    name: "non-aligned range, hourly buckets, both edges",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["type"],
      granularity: "1h",
      timeRange: { from: iso(d.dayStartMs + 3 * hour + 30_000), to: iso(d.dayStartMs + 9 * hour + 45_500) },
    }),
    route: ["raw", "clicks-per-minute", "clicks-per-hour", "raw"],
  },
  {
    name: "days over a range starting at noon: hours, a day, hours",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["type"],
      granularity: "1d",
      timeRange: span(d, 12, 60),
    }),
    route: ["clicks-per-hour", "clicks-per-day", "clicks-per-hour"],
  },
  {
    name: "uniq across a non-aligned range merges states",
    request: (d) => ({
      metrics: ["users", "latency"],
      timeRange: {
        from: iso(d.dayStartMs + 2 * hour + 17_000),
        to: iso(d.dayStartMs + 20 * hour + 5 * minute + 10_000),
      },
    }),
    route: ["raw", "clicks-per-minute", "raw"],
  },
  {
    name: "paging hourly",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["type"],
      granularity: "1h",
      timeRange: span(d, 0, 24),
      limit: 5,
      offset: 5,
    }),
    route: ["clicks-per-hour"],
  },
  {
    name: "top urls",
    request: (d) => ({
      metrics: ["events"],
      dimensions: ["url"],
      timeRange: days(d),
      orderBy: [
        { field: "events", direction: "desc" },
        { field: "url", direction: "asc" },
      ],
      limit: 3,
    }),
    route: ["clicks-per-minute"],
  },
  {
    name: "relative: last_7d daily",
    request: () => ({
      metrics: ["events"],
      dimensions: ["type"],
      granularity: "1d",
      timeRange: { preset: "last_7d" },
    }),
    route: ["clicks-per-day"],
  },
  {
    name: "window: per-minute by type",
    request: (d) => ({
      window: "events_per_minute",
      metrics: ["events", "users", "revenue"],
      dimensions: ["type"],
      timeRange: span(d, 0, 40),
      limit: 10_000,
    }),
    route: ["window"],
  },
  {
    name: "window: all types merged",
    request: (d) => ({
      window: "events_per_minute",
      metrics: ["events", "revenue"],
      timeRange: span(d, 0, 24),
      limit: 10_000,
    }),
    route: ["window"],
  },
  {
    name: "window: one type",
    request: (d) => ({
      window: "events_per_minute",
      metrics: ["events"],
      dimensions: ["type"],
      filter: { op: "eq", field: "type", value: "click" },
      timeRange: span(d, 0, 40),
    }),
    route: ["window"],
  },
];

/** The answer computed here from the raw table, with aggregates the gateway does not use. */
async function reference(
  d: GatewayDataset,
  request: QueryRequest,
  response: QueryResponse,
): Promise<Record<string, ResultValue>[]> {
  const from = Date.parse(response.explain.range.from);
  const to = Date.parse(response.explain.range.to);
  const literal = (v: string | number | boolean) =>
    typeof v === "string" ? `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'` : String(v);
  const where = (f: NonNullable<QueryRequest["filter"]>): string => {
    switch (f.op) {
      case "and":
      case "or":
        return `(${f.filters.map(where).join(` ${f.op} `)})`;
      case "not":
        return `not (${where(f.filter)})`;
      case "eq":
        return `${f.field} = ${literal(f.value)}`;
      case "in":
        return `${f.field} in (${f.values.map(literal).join(", ")})`;
      case "contains":
        return `like(${f.field}, ${literal(`%${f.value}%`)})`;
      case "range":
        return [
          f.gt === undefined ? "" : `${f.field} > ${literal(f.gt)}`,
          f.gte === undefined ? "" : `${f.field} >= ${literal(f.gte)}`,
          f.lt === undefined ? "" : `${f.field} < ${literal(f.lt)}`,
          f.lte === undefined ? "" : `${f.field} <= ${literal(f.lte)}`,
        ]
          .filter((s) => s !== "")
          .join(" and ");
    }
  };
  const interval: Record<string, string> = {
    "1m": "1 minute",
    "5m": "5 minute",
    "30m": "30 minute",
    "1h": "1 hour",
    "6h": "6 hour",
    "1d": "1 day",
  };
  const window = request.window !== undefined;
  const time = window
    ? "toUnixTimestamp(toStartOfMinute(ts)) * 1000"
    : request.granularity === "none"
      ? undefined
      : `toUnixTimestamp(toStartOfInterval(ts, interval ${interval[request.granularity]}, '${request.timezone}')) * 1000`;
  const keys = [...(time === undefined ? [] : [`${time} as t`]), ...request.dimensions];
  // A window leaves out the events it refused as late (they are in the raw table, and its dead letters).
  const late = window ? (d.lateForWindow.get(request.window ?? "") ?? []) : [];
  const excludeLate =
    late.length === 0
      ? ""
      : ` and (_partition, _offset) not in (${late.map(([p, o]) => `(${p}, ${o})`).join(", ")})`;
  const sql = `select ${[...keys, "count() as events", "sum(value) as revenue", "uniqExact(user_id) as users", "uniqExact(session_id) as sessions", "groupArray(latency_ms) as lat"].join(", ")}
    from ${d.rawTable}
    where ts >= fromUnixTimestamp64Milli(${from}) and ts < fromUnixTimestamp64Milli(${to})${request.filter ? ` and ${where(request.filter)}` : ""}${excludeLate}
    ${keys.length > 0 ? `group by ${[...(time === undefined ? [] : ["t"]), ...request.dimensions].join(", ")}` : ""}`;
  const result = await clickhouse.query({
    query: sql,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await result.json<Record<string, ResultValue | number[]>>();
  return rows
    .filter((r) => keys.length > 0 || Number(r.events) > 0)
    .map((r) => {
      const out: Record<string, ResultValue> = {};
      if (time !== undefined) out[window ? "window_start" : "time"] = iso(Number(r.t));
      for (const dim of request.dimensions) out[dim] = r[dim] as ResultValue;
      const lat = r.lat as number[];
      for (const m of request.metrics) {
        const name = (typeof m === "string" ? m : m.name) as Metric;
        if (name === "latency")
          for (const q of [0.5, 0.95, 0.99])
            out[`latency_p${Math.round(q * 100)}`] = exactQuantile(lat, q).value;
        else if (name === "count" || name === "n") out[name] = r.events as number;
        else out[name] = (r[name] as ResultValue) ?? 0;
      }
      return out;
    });
}

function rowKey(row: Record<string, ResultValue>, keys: readonly string[]): string {
  return JSON.stringify(keys.map((k) => row[k] ?? null));
}

/** Exact columns must be equal (sums up to float rounding); estimates within their documented error. */
function expectClose(
  name: string,
  got: ResultValue | undefined,
  want: ResultValue | undefined,
  exact: boolean,
  where: string,
): void {
  const g = Number(got ?? 0);
  const w = Number(want ?? 0);
  const tolerance = exact
    ? 1e-9 * Math.max(1, Math.abs(w))
    : name.startsWith("latency")
      ? 0.02 * Math.abs(w) + 1e-9
      : Math.max(1, 0.02 * w);
  if (Math.abs(g - w) > tolerance)
    throw new Error(`${where}: ${name} = ${got}, want ${want} (±${tolerance})`);
}

describe("gateway: the query router answers exactly from the best table", () => {
  let dataset: GatewayDataset;
  let service: QueryService;

  beforeAll(async () => {
    dataset = await loadGatewayDataset(clickhouse, "query");
    service = createQueryService({
      snapshot: () => ({ pipelines: [dataset.pipeline], rollups: dataset.rollups }),
      clickhouse,
      redis: undefined,
      cache: undefined,
      logger: pino({ level: "silent" }),
      now: () => Date.now(),
    });
  }, 300_000);
  afterAll(async () => {
    if (dataset !== undefined) await dropGatewayDataset(clickhouse, dataset);
  });

  it.each(cases)("$name", async (c) => {
    const raw = c.request(dataset);
    const request: QueryRequest = {
      dimensions: [],
      granularity: "none",
      timezone: "UTC",
      orderBy: [],
      limit: 1000,
      offset: 0,
      ...raw,
    };
    const response = await service.query(dataset.names.namespace, request, {
      explainOnly: false,
      bypassCache: false,
    });

    const route =
      response.explain.source.kind === "Window"
        ? ["window"]
        : response.explain.segments.map((s) => (s.source.kind === "Pipeline" ? "raw" : s.source.name));
    expect(route, JSON.stringify(response.explain.candidates)).toEqual(c.route);

    const want = await reference(dataset, request, response);
    const keyColumns = [
      ...(request.window !== undefined ? ["window_start"] : request.granularity === "none" ? [] : ["time"]),
      ...request.dimensions,
    ];
    const approximate = new Set(response.explain.approximate);
    const check = (
      got: Record<string, ResultValue>,
      expected: Record<string, ResultValue> | undefined,
      where: string,
    ) => {
      expect(expected, `${where}: no such row in the reference`).toBeDefined();
      for (const column of response.columns.filter((col) => col.role === "metric"))
        expectClose(
          column.name,
          got[column.name],
          expected?.[column.name],
          !approximate.has(column.name),
          where,
        );
    };
    if (request.limit < 1000 || request.offset > 0 || request.orderBy.length > 0) {
      // Paged or ordered: the reference ordered the same way, then the same slice.
      const order =
        request.orderBy.length > 0
          ? request.orderBy
          : keyColumns.map((field) => ({ field, direction: "asc" as const }));
      want.sort((a, b) => {
        for (const o of order) {
          const x = a[o.field] ?? "";
          const y = b[o.field] ?? "";
          if (x !== y) return (x < y ? -1 : 1) * (o.direction === "desc" ? -1 : 1);
        }
        return 0;
      });
      const slice = want.slice(request.offset, request.offset + request.limit);
      expect(response.rows.map((r) => rowKey(r, keyColumns))).toEqual(
        slice.map((r) => rowKey(r, keyColumns)),
      );
      for (const [i, row] of response.rows.entries()) check(row, slice[i], `row ${i}`);
    } else {
      const byKey = new Map(want.map((r) => [rowKey(r, keyColumns), r]));
      expect(response.rows.length, "rows").toBe(want.length);
      for (const row of response.rows)
        check(row, byKey.get(rowKey(row, keyColumns)), rowKey(row, keyColumns));
    }
    if (c.name.startsWith("relative")) return;
    expect(response.rows.length, "the query found data").toBeGreaterThan(0);
  });

  it("refuses a request it cannot answer, saying why and what is valid", async () => {
    const base: QueryRequest = {
      metrics: ["events"],
      dimensions: [],
      granularity: "none",
      timezone: "UTC",
      orderBy: [],
      limit: 10,
      offset: 0,
      timeRange: { preset: "last_1h" },
    };
    const refusal = async (request: QueryRequest) => {
      try {
        await service.query(dataset.names.namespace, request, { explainOnly: false, bypassCache: false });
      } catch (error) {
        if (error instanceof QueryRefusal) return error;
        throw error;
      }
      throw new Error("not refused");
    };
    const metric = await refusal({ ...base, metrics: ["events", "clicks"] });
    expect(metric.status).toBe(400);
    expect(metric.body).toMatchObject({ error: "UnknownMetric", field: "metrics[1]" });
    expect(metric.body.allowed).toEqual(
      expect.arrayContaining(["events", "users", "revenue", "latency", "count"]),
    );
    const dimension = await refusal({ ...base, dimensions: ["country"] });
    expect(dimension.body).toMatchObject({ error: "UnknownDimension", field: "dimensions[0]" });
    expect(dimension.body.allowed).toContain("url");
    const buckets = await refusal({ ...base, granularity: "1m", timeRange: { preset: "last_30d" } });
    expect(buckets.status).toBe(422);
    expect(buckets.body.message).toMatch(/coarser granularity or a shorter range/);
    const rawScan = await refusal({ ...base, dimensions: ["user_id"], timeRange: { preset: "last_60d" } });
    expect(rawScan.status).toBe(422);
    expect(rawScan.body.error).toBe("RawRangeTooLong");
    const value = await refusal({
      ...base,
      filter: { op: "eq", field: "latency_ms", value: "'; DROP TABLE x; --" },
    });
    expect(value.body).toMatchObject({ error: "InvalidFilterValue", field: "filter.value" });
  });

  it("explains without running: the parameterized SQL holds no request value", async () => {
    const hostile = "x'); DROP TABLE default.t; --{p0:String}`";
    const response = await service.query(
      dataset.names.namespace,
      {
        metrics: ["events"],
        dimensions: ["type"],
        filter: { op: "eq", field: "url", value: hostile },
        granularity: "1h",
        timezone: "UTC",
        orderBy: [],
        limit: 10,
        offset: 0,
        timeRange: span(dataset, 0, 6),
      },
      { explainOnly: true, bypassCache: false },
    );
    expect(response.rows).toEqual([]);
    expect(response.explain.sql).toBeDefined();
    expect(response.explain.sql).not.toContain("DROP");
    expect(Object.values(response.explain.params ?? {})).toContain(hostile);
    // And run, the hostile value is only a value: no row matches it, and the tables are still there.
    const run = await service.query(
      dataset.names.namespace,
      {
        metrics: ["events"],
        dimensions: [],
        filter: { op: "eq", field: "url", value: hostile },
        granularity: "none",
        timezone: "UTC",
        orderBy: [],
        limit: 10,
        offset: 0,
        timeRange: span(dataset, 0, 6),
      },
      { explainOnly: false, bypassCache: false },
    );
    expect(run.rows.map((r) => r.events)).toEqual([0]);
  });
});

describe("gateway: the query service through the Redis result cache", () => {
  let dataset: GatewayDataset;
  let redis: Redis;
  let cache: ResultCache;
  let service: QueryService;
  const midHourNow = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 1_800_000 + 17_000;
  const base: QueryRequest = {
    metrics: ["events", "revenue"],
    dimensions: ["type"],
    granularity: "1h",
    timezone: "UTC",
    orderBy: [],
    limit: 1000,
    offset: 0,
    timeRange: { preset: "last_1h" },
  };
  const run = (request: QueryRequest, bypassCache = false) =>
    service.query(dataset.names.namespace, request, { explainOnly: false, bypassCache });
  const gatewayQueries = async () => {
    const result = await clickhouse.query({
      query: `SELECT count() AS n FROM ${standinQueryLogTable} WHERE startsWith(log_comment, 'tally-gateway') AND type = 'QueryFinish'`,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return (await result.json<{ n: number }>())[0]?.n ?? 0;
  };

  beforeAll(async () => {
    dataset = await loadGatewayDataset(clickhouse, "cache");
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    cache = new ResultCache({ redisUrl, registry: new Registry(), logger: pino({ level: "silent" }) });
    await cache.waitUntilReady(5_000);
    service = createQueryService({
      snapshot: () => ({ pipelines: [dataset.pipeline], rollups: dataset.rollups }),
      clickhouse,
      redis,
      cache,
      logger: pino({ level: "silent" }),
      // Mid-hour, mid-minute: `last_1h` is then never a whole hour the hour rollup could answer
      // (at 23:59:27 it resolves to 23:00–24:00), so the open range is the minute rollup's whatever the time.
      now: () => midHourNow,
    });
  }, 300_000);
  afterAll(async () => {
    await cache?.close();
    redis?.disconnect();
    if (dataset !== undefined) await dropGatewayDataset(clickhouse, dataset);
  });

  it("caches a settled range for hours and an open one for the rollup's cacheTtl: miss, then hit", async () => {
    const settled = { ...base, timeRange: span(dataset, 0, 24) };
    const first = await run(settled);
    expect(first.explain.cache).toMatchObject({ status: "miss", settled: true });
    expect(first.explain.cache.ttlSeconds).toBeGreaterThanOrEqual(3_600);
    const second = await run(settled);
    expect(second.explain.cache.status).toBe("hit");
    expect(second.rows).toEqual(first.rows);
    expect(first.rows.length).toBeGreaterThan(0);

    // The last hour lies past the pipeline's watermark (its events stopped days ago), so events may still
    // arrive for it: open, cached for the minute rollup's cacheTtl (10s).
    const open = await run({ ...base, granularity: "none" });
    expect(open.explain.cache).toMatchObject({ status: "miss", settled: false, ttlSeconds: 10 });
    expect(open.explain.source.name).toBe("clicks-per-minute");
    expect((await run({ ...base, granularity: "none" })).explain.cache.status).toBe("hit");
    // no-cache: run again and refresh.
    expect((await run({ ...base, granularity: "none" }, true)).explain.cache.status).toBe("bypass");
  });

  it("200 concurrent identical requests on a cold cache make exactly one ClickHouse query", async () => {
    const request: QueryRequest = {
      ...base,
      timeRange: span(dataset, 0, 30),
      filter: { op: "not", filter: { op: "eq", field: "url", value: `/never-${Math.random()}` } },
    };
    const before = await gatewayQueries();
    const answers = await Promise.all(Array.from({ length: 200 }, () => run(request)));
    const statuses = answers.map((a) => a.explain.cache.status);
    expect(statuses.filter((s) => s === "miss")).toHaveLength(1);
    expect(statuses.filter((s) => s === "hit")).toHaveLength(199);
    expect(new Set(answers.map((a) => JSON.stringify(a.rows))).size).toBe(1);
    expect((await gatewayQueries()) - before).toBe(1);
  });

  it("serves the cached result, marked stale, while ClickHouse is stopped", async () => {
    const request: QueryRequest = { ...base, timeRange: span(dataset, 6, 18) };
    const fresh = await run(request);
    await stackCommand("down", "clickhouse");
    try {
      // no-cache forces a run: it fails, and the last result is served, marked stale.
      const stale = await run(request, true);
      expect(stale.explain.cache.status).toBe("stale");
      expect(stale.rows).toEqual(fresh.rows);
      // A question never cached has nothing to fall back on: a 503 that says ClickHouse did not answer.
      await expect(run({ ...request, dimensions: [] }, true)).rejects.toMatchObject({
        status: 503,
        body: { error: "ClickHouseUnavailable" },
      });
    } finally {
      await stackCommand("up", "clickhouse");
    }
  });

  it("answers uncached while Redis is unreachable, and nothing crashes", async () => {
    const port = await freePort();
    const deadUrl = `redis://127.0.0.1:${port}`;
    const deadCache = new ResultCache({
      redisUrl: deadUrl,
      registry: new Registry(),
      logger: pino({ level: "silent" }),
    });
    const deadRedis = new Redis(deadUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    deadRedis.on("error", () => {});
    try {
      const uncached = createQueryService({
        snapshot: () => ({ pipelines: [dataset.pipeline], rollups: dataset.rollups }),
        clickhouse,
        redis: deadRedis,
        cache: deadCache,
        logger: pino({ level: "silent" }),
        now: () => Date.now(),
      });
      const request: QueryRequest = { ...base, timeRange: span(dataset, 0, 24) };
      const started = Date.now();
      const answer = await uncached.query(dataset.names.namespace, request, {
        explainOnly: false,
        bypassCache: false,
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(answer.explain.cache.status).toBe("unavailable");
      // No watermark without Redis: the range counts as open.
      expect(answer.explain.cache.settled).toBe(false);
      expect(answer.rows).toEqual((await run(request)).rows);
    } finally {
      await deadCache.close();
      deadRedis.disconnect();
    }
  });
});
