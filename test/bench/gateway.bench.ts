/**
 * The gateway's query API through HTTP at 50 concurrent clients (issue 13), on the local stack. The
 * gateway runs in a process of its own (gateway-bench-server.ts: the real fastify app with a bearer-token
 * table and the rate limit set out of the way, the real query service with the Redis result cache, the
 * stack's ClickHouse) so that it has its event loop to itself; the clients run here, over keep-alive
 * connections. The data: a clickstream of 4 × 50,000 events run through a real runtime worker into the
 * example pipeline and its minute → hour → day rollups.
 *
 * Each kind of question is measured under two loads of 50 clients:
 *  - dashboard-paced (the headline `_p50_ms`/`_p95_ms` figures): each client sends a request, waits for
 *    the answer, then for its next tick, on a timer of its own; the clients' ticks are spread evenly over
 *    the period, as independent dashboards' are. Cached questions every 100 ms per client (500 req/s
 *    offered); questions that reach ClickHouse at what the local stand-in, which runs one query at a
 *    time, can serve (periodMs). A tick that passes while the answer is still out is skipped and counted.
 *  - saturated (`_saturated_*`): 50 clients back to back, each sending as soon as it has its answer.
 *
 *  - gateway.query_cached_*: 20 distinct rollup questions, each asked once to fill the cache, then over
 *    and over (every answer a hit). Where the time goes: the server's CPU per request and how busy its
 *    event loop was (from its control endpoint), one client alone, the query service alone in this
 *    process (no HTTP) and its pure planner alone.
 *  - gateway.query_uncached_rollup_*: a distinct question each time, `Cache-Control: no-cache`, that the
 *    router answers from rollups only (asserted from explain). gateway.clickhouse_direct_rollup_*: the
 *    gateway's own SQL for the same questions sent straight to ClickHouse by a client configured as the
 *    gateway's, at 50 clients and one at a time; gateway.uncached_overhead_vs_clickhouse_p50_ms is the
 *    gateway's p50 minus ClickHouse's, one client at a time.
 *  - gateway.query_raw_*: questions only the raw table can answer (a dimension no rollup has, a distinct
 *    count of a field no rollup keeps), no-cache.
 *  - gateway.rows_read_ratio_vs_raw: over every distinct question above, the rows the router's choice
 *    read ÷ the rows the same requests read through a service whose catalogue has no rollups (raw only).
 *
 * Latencies are measured at the client, from sending the request to the last byte of the answer; each
 * kind is warmed up first, unmeasured. Both processes share the machine's cores with the stack and with
 * whatever else runs, and the stand-in with its other users: so each phase also logs how late the
 * gateway's event loop ran, its GC pauses, how late the clients' timers fired, and the machine's CPU use
 * and pressure, and each group of figures gets a line saying what limits it.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { availableParallelism } from "node:os";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClickHouseClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import type { Aggregation } from "../../api/v1alpha1/aggregation.js";
import type { QueryFilter, QueryRequest, QueryResponse } from "../../api/v1alpha1/query.js";
import { buildCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { redisPrefix } from "../../contracts/redis/live-windows.js";
import { resultCacheKeyPrefix } from "../../gateway/cache/cache-key.js";
import { ResultCache } from "../../gateway/cache/result-cache.js";
import { createLogger } from "../../gateway/logger.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { planQuery } from "../../gateway/query/plan-query.js";
import type { QueryService } from "../../gateway/query/query-service.js";
import { defaultQueryLimits } from "../../gateway/query/run-query.js";
import { redisUrl } from "../env/config.js";
import { dropGatewayDataset, type GatewayDataset, loadGatewayDataset } from "../support/gateway-dataset.js";
import { clickhouseClient } from "../support/runtime-harness.js";
import { type BenchFigure, perSecond } from "./bench-figure.js";
import { GatewayServer } from "./gateway-bench-process.js";
import { type BenchServerConfig, gatewayClickhouse } from "./gateway-bench-shared.js";

const clients = 50;
const hour = 3_600_000;
const minute = 60_000;
const day = 24 * hour;

/**
 * Each dashboard client's period. Cached: the issue's dashboards. Uncached and raw: the stand-in runs
 * one query at a time (about 8 ms of engine time each, 15-22 ms with its HTTP handling on a busy
 * machine: 45-65 q/s flat out, and it serves the other users of the stack too), so 50 clients every
 * 100 ms would offer it ten times what it can serve and measure its queue, not the gateway; every
 * second (50 req/s) still queued them in some runs, every 2 s keeps it about half busy.
 */
const periodMs = { cached: 100, uncached: 2_000, raw: 2_000 } as const;

const counts = {
  cachedWarmup: 1_000,
  cachedPaced: 5_000,
  cached: 5_000,
  cachedSerial: 500,
  uncachedWarmup: 20,
  uncachedPaced: 300,
  uncached: 300,
  uncachedSerial: 50,
  rawWarmup: 10,
  rawPaced: 200,
  raw: 150,
} as const;

function progress(message: string): void {
  console.error(`[bench] gateway: ${message}`);
}

interface Quantiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function quantiles(samples: readonly number[]): Quantiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99) };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

// Inline metrics, defined as the example rollups define theirs (so the router may use them), because a
// catalogue without rollups offers no named metric but `count`, and the raw-only service must be asked
// the very same requests.
const events: Aggregation = { fn: "count", name: "events" };
const revenue: Aggregation = { fn: "sum", name: "revenue", field: "value" };
const users: Aggregation = { fn: "uniq", name: "users", field: "user_id" };
const latency: Aggregation = {
  fn: "quantiles",
  name: "latency",
  field: "latency_ms",
  quantiles: [0.5, 0.95, 0.99],
};
const sessions: Aggregation = { fn: "uniq", name: "sessions", field: "session_id" };

/** A full request (the defaults the HTTP schema would fill in), so the service can be asked it directly. */
function ask(
  d: GatewayDataset,
  fromMs: number,
  toMs: number,
  fields: Omit<Partial<QueryRequest>, "timeRange"> & Pick<QueryRequest, "metrics">,
): QueryRequest {
  return {
    dimensions: [],
    granularity: "none",
    timezone: "UTC",
    orderBy: [],
    limit: 1000,
    offset: 0,
    timeRange: {
      from: new Date(d.dayStartMs + fromMs).toISOString(),
      to: new Date(d.dayStartMs + toMs).toISOString(),
    },
    ...fields,
  };
}

const urlIs = (n: number): QueryFilter => ({ op: "eq", field: "url", value: `/products/${n % 25}` });

/**
 * The dataset: 4 partitions × 50,000 events, one a second per partition, so about 14 h from 1 h after
 * `dayStartMs` at 240 events a minute. Dense enough that a minute holds several events per (type, url)
 * and the tables span many ClickHouse granules (8,192 rows), so rows read reflect the table chosen
 * rather than the granule size.
 */
const datasetSize = { partitions: 4, perPartition: 50_000, spacingMs: 1_000 } as const;
const dataFrom = hour;
const dataHours = 14;

/** 20 distinct questions the day, hour and minute rollups answer. */
function cachedQuestions(d: GatewayDataset): QueryRequest[] {
  const dayRanges: [number, number][] = [
    [0, day],
    [0, 2 * day],
    [-day, day],
    [-2 * day, day],
  ];
  return [0, 1, 2, 3].flatMap((v) => {
    const [dayFrom, dayTo] = dayRanges[v] ?? [0, day];
    return [
      ask(d, dayFrom, dayTo, { metrics: [events, revenue], dimensions: ["type"], granularity: "1d" }),
      ask(d, v * 2 * hour, v * 2 * hour + 12 * hour, {
        metrics: [events],
        dimensions: ["type"],
        granularity: "1h",
      }),
      ask(d, 0, (v + 1) * 6 * hour, { metrics: [events, revenue], granularity: "6h" }),
      ask(d, dataFrom + v * 3 * hour, dataFrom + (v + 1) * 3 * hour, {
        metrics: [events],
        dimensions: ["url"],
        granularity: "1h",
      }),
      ask(d, v * 3 * hour, v * 3 * hour + 6 * hour, {
        metrics: [users, latency],
        dimensions: ["type"],
        granularity: "1h",
        filter: urlIs(v),
      }),
    ];
  });
}

/** Shifts of whole minutes that keep a range of `hours` within the data. */
const shiftFor = (i: number, hours: number) => (i % ((dataHours - hours) * 60)) * minute;

/** The i-th of a series of distinct rollup questions: ranges shifted by minutes, filter values varied. */
function uncachedQuestion(d: GatewayDataset, i: number): QueryRequest {
  if (i % 2 === 0) {
    // Six hours off the hour: the hour rollup for the middle, the minute rollup for the edges.
    const from = dataFrom + shiftFor(i, 6);
    return ask(d, from, from + 6 * hour, { metrics: [events, revenue], dimensions: ["type"] });
  }
  const from = dataFrom + shiftFor(i, 2);
  return ask(d, from, from + 2 * hour, {
    metrics: [events, users],
    dimensions: ["type"],
    granularity: "5m",
    filter: urlIs(i),
  });
}

/** The i-th of a series of distinct questions no rollup can answer. */
function rawQuestion(d: GatewayDataset, i: number): QueryRequest {
  if (i % 2 === 0) {
    const from = dataFrom + shiftFor(i, 2);
    return ask(d, from, from + 2 * hour, {
      metrics: [events],
      dimensions: ["user_id"],
      orderBy: [
        { field: "events", direction: "desc" },
        { field: "user_id", direction: "asc" },
      ],
      limit: 20,
    });
  }
  const from = dataFrom + shiftFor(i, 3);
  return ask(d, from, from + 3 * hour, { metrics: [sessions, events], dimensions: ["type"] });
}

function routeOf(response: QueryResponse): string {
  return response.explain.segments
    .map((s) => (s.source.kind === "Pipeline" ? "raw" : `${s.source.name}`))
    .join("+");
}

/** Throws unless every segment of the answer came from rollups (or, for "raw", from the raw table). */
function checkRoute(response: QueryResponse, want: "rollups" | "raw", what: string): void {
  const kinds = response.explain.segments.map((s) => s.source.kind);
  const ok = kinds.length > 0 && kinds.every((k) => (want === "raw" ? k === "Pipeline" : k === "Rollup"));
  if (!ok)
    throw new Error(
      `${what}: answered by ${routeOf(response) || response.explain.source.kind}, expected ${want}; candidates: ${JSON.stringify(response.explain.candidates)}`,
    );
}

function checkCache(
  response: QueryResponse,
  allowed: readonly QueryResponse["explain"]["cache"]["status"][],
  what: string,
): void {
  const status = response.explain.cache.status;
  if (!allowed.includes(status))
    throw new Error(`${what}: cache status ${status}, expected ${allowed.join(" or ")}`);
}

/** Runs `total` tasks with `concurrency` of them in flight at any time; results in task order. */
async function atConcurrency<T>(
  concurrency: number,
  total: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(total);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}

interface Timed<T> {
  readonly ms: number;
  readonly value: T;
}

/** The API's client: keep-alive connections, one per concurrent client, timed to the last byte. */
class GatewayClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: clients });
  private readonly path: string;

  constructor(
    private readonly port: number,
    private readonly token: string,
    namespace: string,
  ) {
    this.path = `/api/v1/namespaces/${namespace}/query`;
  }

  query(request: QueryRequest, noCache: boolean): Promise<Timed<QueryResponse>> {
    const body = JSON.stringify(request);
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: this.port,
          path: this.path,
          method: "POST",
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...(noCache ? { "cache-control": "no-cache" } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const ms = performance.now() - started;
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200)
              reject(new Error(`POST ${this.path} answered ${res.statusCode}: ${text.slice(0, 500)}`));
            else resolve({ ms, value: JSON.parse(text) as QueryResponse });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** How the 50 clients send: back to back, or each on its own timer like a dashboard. */
type LoadShape = { readonly kind: "saturated" } | { readonly kind: "paced"; readonly periodMs: number };

/**
 * Client c sends requests c, c + clients, c + 2·clients, …, each on the first tick of its timer after
 * the previous answer; its ticks are offset by c/clients of a period. Ticks passed while waiting are
 * skipped (counted), not made up for. How late the timers fire tells how busy this process and the
 * machine were.
 */
async function pacedLoad<T>(
  period: number,
  total: number,
  task: (i: number) => Promise<T>,
): Promise<{ results: T[]; skipped: number; timerLateMs: number[] }> {
  const results: T[] = new Array(total);
  let skipped = 0;
  const timerLateMs: number[] = [];
  const started = performance.now();
  const client = async (c: number) => {
    const first = started + (c * period) / clients;
    let tick = 0;
    for (let i = c; i < total; i += clients) {
      const due = first + tick * period;
      if (due > performance.now()) {
        await sleep(due - performance.now());
        timerLateMs.push(performance.now() - due);
      }
      results[i] = await task(i);
      const next = Math.max(tick + 1, Math.ceil((performance.now() - first) / period));
      skipped += next - tick - 1;
      tick = next;
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, total) }, (_, c) => client(c)));
  return { results, skipped, timerLateMs };
}

interface Measured<T> {
  readonly values: readonly T[];
  readonly latency: Quantiles;
  readonly rate: number;
  /** The gateway process's CPU per request, ms (all its threads). */
  readonly serverCpuMs: number;
  /** The share of the phase's wall time the gateway's event loop was busy. */
  readonly serverLoop: number;
  /** How late the gateway's event loop ran a 10 ms timer, and its garbage-collection pauses, ms. */
  readonly serverLoopLag: { readonly p99: number; readonly max: number };
  readonly serverGc: { readonly totalMs: number; readonly maxMs: number };
  /** This process's CPU per request, ms: the clients' side. */
  readonly clientCpuMs: number;
  /** Paced only: ticks that passed while their client still waited for an answer. */
  readonly skipped: number;
  /** Paced only: how late the clients' timers fired, ms. */
  readonly clientTimerLate: Quantiles | undefined;
  /** The whole machine (Linux): cores in use by anyone, and the share of the time a task waited for one. */
  readonly machine: { readonly busyCores: number; readonly cpuWaitShare: number } | undefined;
}

interface MachineCounters {
  readonly busyMs: number;
  readonly waitingMs: number;
}

/**
 * Linux's machine-wide CPU time in use (/proc/stat, in USER_HZ = 100 ticks a second; steal counts as
 * in use, by another VM) and time some task waited for a CPU (/proc/pressure/cpu, µs); none elsewhere.
 */
function machineCounters(): MachineCounters | undefined {
  try {
    const ticks = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).map(Number);
    const busy = [1, 2, 3, 6, 7, 8].reduce((sum, field) => sum + (ticks[field] ?? 0), 0);
    const waiting = /^some .*total=(\d+)/m.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1];
    if (waiting === undefined) return undefined;
    return { busyMs: busy * 10, waitingMs: Number(waiting) / 1000 };
  } catch {
    return undefined;
  }
}

/** `total` requests at 50 clients in the given shape, with the server's and the clients' usage over them. */
async function measure<T>(
  server: GatewayServer,
  shape: LoadShape,
  total: number,
  task: (i: number) => Promise<Timed<T>>,
): Promise<Measured<T>> {
  const before = await server.usage();
  const machineBefore = machineCounters();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const { results, skipped, timerLateMs } =
    shape.kind === "saturated"
      ? { results: await atConcurrency(clients, total, task), skipped: 0, timerLateMs: undefined }
      : await pacedLoad(shape.periodMs, total, task);
  const elapsed = performance.now() - started;
  const client = process.cpuUsage(clientBefore);
  const machineAfter = machineCounters();
  const after = await server.usage();
  const active = after.loopActiveMs - before.loopActiveMs;
  const idle = after.loopIdleMs - before.loopIdleMs;
  return {
    values: results.map((r) => r.value),
    latency: quantiles(results.map((r) => r.ms)),
    rate: perSecond(total, elapsed),
    serverCpuMs: (after.cpuMicros - before.cpuMicros) / 1000 / total,
    serverLoop: active / (active + idle),
    serverLoopLag: { p99: after.loopLagP99Ms, max: after.loopLagMaxMs },
    serverGc: { totalMs: after.gcPauseTotalMs, maxMs: after.gcPauseMaxMs },
    clientCpuMs: (client.user + client.system) / 1000 / total,
    skipped,
    clientTimerLate: timerLateMs === undefined ? undefined : quantiles(timerLateMs),
    machine:
      machineBefore === undefined || machineAfter === undefined
        ? undefined
        : {
            busyCores: (machineAfter.busyMs - machineBefore.busyMs) / elapsed,
            cpuWaitShare: (machineAfter.waitingMs - machineBefore.waitingMs) / elapsed,
          },
  };
}

/** The gateway's SQL for a question (explain only), sent straight to ClickHouse with the gateway's settings. */
async function directQuery(clickhouse: ClickHouseClient, sql: string, params: Record<string, unknown>) {
  const started = performance.now();
  const result = await clickhouse.query({
    query: sql,
    query_params: params,
    format: "JSON",
    clickhouse_settings: {
      max_execution_time: defaultQueryLimits.maxExecutionSeconds,
      max_result_bytes: String(defaultQueryLimits.maxResultBytes),
      result_overflow_mode: "throw",
      output_format_json_quote_64bit_integers: 0,
      output_format_json_quote_denormals: 0,
      // Tagged as the gateway tags its queries (the stand-in logs tagged ones), but not as the gateway.
      log_comment: "tally-bench direct",
    },
  });
  await result.json();
  return performance.now() - started;
}

async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== "0");
  return deleted;
}

/** What each phase measures with. */
interface Bench {
  readonly d: GatewayDataset;
  readonly namespace: string;
  readonly gateway: GatewayClient;
  readonly server: GatewayServer;
  readonly service: QueryService;
  readonly direct: ClickHouseClient;
}

interface Asked {
  readonly request: QueryRequest;
  readonly answer: QueryResponse;
}

const pacedAt = (kind: keyof typeof periodMs): LoadShape => ({ kind: "paced", periodMs: periodMs[kind] });
const saturated: LoadShape = { kind: "saturated" };

/** Cache hits: each question asked once to fill the cache, then over and over. */
async function measureCached(b: Bench) {
  const questions = cachedQuestions(b.d);
  const filled: Asked[] = [];
  for (const [i, request] of questions.entries()) {
    const { value } = await b.gateway.query(request, false);
    checkRoute(value, "rollups", `cached question ${i}`);
    checkCache(value, ["miss"], `cached question ${i}, first ask`);
    filled.push({ request, answer: value });
  }
  progress(`cached questions answered by: ${[...new Set(filled.map((f) => routeOf(f.answer)))].join(", ")}`);
  const question = (i: number) => questions[i % questions.length] as QueryRequest;
  const ask = async (i: number) => {
    const answer = await b.gateway.query(question(i), false);
    checkCache(answer.value, ["hit"], `cached request ${i}`);
    return answer;
  };
  await atConcurrency(clients, counts.cachedWarmup, ask);
  const atPace = await measure(b.server, pacedAt("cached"), counts.cachedPaced, ask);
  const flatOut = await measure(b.server, saturated, counts.cached, ask);
  const oneClient = await atConcurrency(1, counts.cachedSerial, ask);
  const serviceOnly = await atConcurrency(1, counts.cachedSerial, async (i) => {
    const t0 = performance.now();
    const answer = await b.service.query(b.namespace, question(i), {
      explainOnly: false,
      bypassCache: false,
    });
    checkCache(answer, ["hit"], `cached service call ${i}`);
    return performance.now() - t0;
  });
  // The pure planner alone, which runs before the cache is consulted (the key is the normalized plan).
  const catalogue = buildCatalogue(b.namespace, [b.d.pipeline], b.d.rollups);
  const planStarted = performance.now();
  for (let i = 0; i < counts.cachedSerial * 4; i++) planQuery(catalogue, question(i), Date.now());
  const planMs = (performance.now() - planStarted) / (counts.cachedSerial * 4);
  return {
    filled,
    paced: atPace,
    saturated: flatOut,
    oneClient: quantiles(oneClient.map((a) => a.ms)),
    serviceOnly: quantiles(serviceOnly),
    planMs,
  };
}

/** ClickHouse's own execution time (the stand-in's, queue excluded) over a phase's answers. */
const engineOf = (asked: readonly Asked[]) =>
  quantiles(asked.map((a) => a.answer.explain.elapsedMs ?? Number.NaN));

/**
 * Distinct rollup questions forced to run through the gateway, paced and saturated, and the gateway's
 * SQL for the same questions sent straight to ClickHouse: at 50 clients, then both one at a time.
 */
async function measureUncached(b: Bench) {
  const ask = async (i: number): Promise<Timed<Asked>> => {
    const request = uncachedQuestion(b.d, i);
    const { ms, value } = await b.gateway.query(request, true);
    checkRoute(value, "rollups", `uncached question ${i}`);
    checkCache(value, ["miss", "bypass"], `uncached question ${i}`);
    return { ms, value: { request, answer: value } };
  };
  await atConcurrency(clients, counts.uncachedWarmup, (i) => ask(counts.uncached + i));
  const atPace = await measure(b.server, pacedAt("uncached"), counts.uncachedPaced, ask);
  const flatOut = await measure(b.server, saturated, counts.uncached, ask);
  progress(
    `uncached rollup questions answered by: ${[...new Set(flatOut.values.map((a) => routeOf(a.answer)))].join(", ")}`,
  );
  const plans = await atConcurrency(4, counts.uncached, async (i) => {
    const { explain } = await b.service.query(b.namespace, uncachedQuestion(b.d, i), {
      explainOnly: true,
      bypassCache: true,
    });
    if (explain.sql === undefined) throw new Error(`uncached question ${i}: explain has no SQL`);
    return { sql: explain.sql, params: explain.params ?? {} };
  });
  const askDirect = (i: number) => {
    const plan = plans[i % plans.length];
    if (plan === undefined) throw new Error(`uncached question ${i}: no plan`);
    return directQuery(b.direct, plan.sql, plan.params);
  };
  await atConcurrency(clients, counts.uncachedWarmup, askDirect);
  const direct = await atConcurrency(clients, counts.uncached, askDirect);
  const oneClient = await atConcurrency(1, counts.uncachedSerial, async (i) => (await ask(i)).ms);
  const directOneClient = await atConcurrency(1, counts.uncachedSerial, askDirect);
  return {
    paced: atPace,
    saturated: flatOut,
    engine: engineOf(atPace.values),
    direct: quantiles(direct),
    oneClient: quantiles(oneClient),
    directOneClient: quantiles(directOneClient),
  };
}

/** Distinct questions only the raw table can answer, forced to run, paced and saturated. */
async function measureRaw(b: Bench) {
  const ask = async (i: number): Promise<Timed<Asked>> => {
    const request = rawQuestion(b.d, i);
    const { ms, value } = await b.gateway.query(request, true);
    checkRoute(value, "raw", `raw question ${i}`);
    checkCache(value, ["miss", "bypass"], `raw question ${i}`);
    return { ms, value: { request, answer: value } };
  };
  await atConcurrency(clients, counts.rawWarmup, (i) => ask(counts.raw + i));
  const atPace = await measure(b.server, pacedAt("raw"), counts.rawPaced, ask);
  const flatOut = await measure(b.server, saturated, counts.raw, ask);
  return { paced: atPace, saturated: flatOut, engine: engineOf(atPace.values) };
}

function rowsReadOf(answer: QueryResponse, what: string): number {
  const rows = answer.explain.rowsRead;
  if (rows === undefined) throw new Error(`${what}: explain has no rowsRead`);
  return rows;
}

/** Rows read by the router's choice vs by the same requests to a service whose catalogue has no rollups. */
async function rowsReadVsRaw(
  b: Bench,
  rawOnly: QueryService,
  mix: Readonly<Record<string, readonly Asked[]>>,
) {
  const total = { router: 0, raw: 0, questions: 0 };
  const parts: string[] = [];
  for (const [part, questions] of Object.entries(mix)) {
    const sums = { router: 0, raw: 0 };
    for (const [i, { request, answer }] of questions.entries()) {
      const what = `${part} question ${i}`;
      const fromRaw = await rawOnly.query(b.namespace, request, { explainOnly: false, bypassCache: true });
      checkRoute(fromRaw, "raw", `raw-only service, ${what}`);
      // Sanity, not the gateway's correctness test (gateway-query.int.test.ts is): same rows, same counts.
      const summary = (a: QueryResponse) =>
        `${a.rows.length} rows, ${a.rows.reduce((sum, row) => sum + Number(row.events ?? 0), 0)} events`;
      if (summary(fromRaw) !== summary(answer))
        throw new Error(
          `${what}: ${summary(answer)} from ${routeOf(answer)}, ${summary(fromRaw)} from the raw table`,
        );
      sums.router += rowsReadOf(answer, what);
      sums.raw += rowsReadOf(fromRaw, `raw-only ${what}`);
    }
    parts.push(`${part} ${sums.router} vs ${sums.raw} over ${questions.length}`);
    total.router += sums.router;
    total.raw += sums.raw;
    total.questions += questions.length;
  }
  return { ...total, parts };
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;
const ms = (q: Quantiles) => `p50 ${round(q.p50)} ms p95 ${round(q.p95)} ms p99 ${round(q.p99)} ms`;
const pct = (share: number) => `${Math.round(share * 100)}%`;

/** A phase's load and where its time went, from both processes' counters and the machine's. */
function loadOf(m: Measured<unknown>): string {
  const ours = ((m.serverCpuMs + m.clientCpuMs) * m.rate) / 1000;
  const late = m.clientTimerLate;
  return (
    `${Math.round(m.rate)} req/s${m.skipped > 0 ? `, ${m.skipped} ticks skipped` : ""}; ` +
    `gateway ${round2(m.serverCpuMs)} ms CPU per request, its event loop busy ${pct(m.serverLoop)} and ` +
    `late p99 ${round(m.serverLoopLag.p99)} ms max ${round(m.serverLoopLag.max)} ms (GC pauses ` +
    `${Math.round(m.serverGc.totalMs)} ms in all, longest ${round(m.serverGc.maxMs)} ms); ` +
    `clients ${round2(m.clientCpuMs)} ms CPU per request` +
    (late === undefined ? "" : `, their timers late p95 ${round(late.p95)} ms p99 ${round(late.p99)} ms`) +
    `; the two processes ${round2(ours)} cores` +
    (m.machine === undefined
      ? ""
      : `, the whole machine ${round2(m.machine.busyCores)} of ${availableParallelism()} cores, ` +
        `some task waiting for a core ${pct(m.machine.cpuWaitShare)} of the time`)
  );
}

/** What bounds a saturated phase that ClickHouse is not part of: the gateway's loop, or the machine. */
function saturatedLimit(m: Measured<unknown>): string {
  return m.serverLoop >= 0.9
    ? `the gateway's one event loop, busy ${pct(m.serverLoop)}: at ${round2(m.serverCpuMs)} ms CPU per request it ` +
        `serves at most about ${Math.round(1000 / m.serverCpuMs)} req/s, so 50 clients queue behind each other on it`
    : `not the gateway's loop alone (busy ${pct(m.serverLoop)}): the clients and the rest of the machine share the cores`;
}

/** What sets a paced phase's tail when the gateway has CPU to spare: waiting for the loop, or for a core. */
function pacedLimit(m: Measured<unknown>, oneClientP50: number): string {
  if (m.serverLoop >= 0.9) return saturatedLimit(m);
  const machine =
    m.machine === undefined
      ? ""
      : `, and the machine is shared: some task waited for a core ${pct(m.machine.cpuWaitShare)} of the time`;
  return (
    `not the gateway's throughput (its loop busy ${pct(m.serverLoop)}); one request alone takes ` +
    `${round(oneClientP50)} ms, the tail is requests waiting behind others on the gateway's loop and the ` +
    `loop itself running late (up to ${round(m.serverLoopLag.max)} ms, GC at most ${round(m.serverGc.maxMs)} ms of it)${machine}`
  );
}

/**
 * What bounds questions that reach ClickHouse: the stand-in runs one query at a time, so its rate flat
 * out is its capacity, and a paced phase keeps it as busy as its offered rate is a share of that.
 */
function standInLimit(
  q: { readonly paced: Measured<unknown>; readonly saturated: Measured<unknown>; readonly engine: Quantiles },
  offered: number,
): string {
  const capacity = q.saturated.rate;
  const busy = offered / capacity;
  return (
    `the ClickHouse stand-in, which runs one query at a time: flat out it completed ${Math.round(capacity)} q/s, ` +
    `one every ${round(1000 / capacity)} ms (ClickHouse's own elapsed p50 ${round(q.engine.p50)} ms), so ` +
    `${clients} saturating clients wait about ${clients} × that; paced, ${Math.round(offered)} req/s keep it ` +
    `about ${pct(busy)} busy, ` +
    (busy < 0.9
      ? "so a request waits only for the few ahead of it"
      : "so paced requests queue too: the paced figures measure the stand-in's queue, not the gateway")
  );
}

export async function runBench(): Promise<readonly BenchFigure[]> {
  const started = performance.now();
  const admin = clickhouseClient();
  const clickhouse = gatewayClickhouse();
  const direct = gatewayClickhouse();
  // This process's query service (the same questions without HTTP, and the gateway's SQL via explain)
  // reads watermarks as main.ts does.
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const logger = createLogger(new Writable({ write: (_chunk, _encoding, done) => done() }), "info");
  const cache = new ResultCache({ redisUrl, registry: new Registry(), logger });
  let dataset: GatewayDataset | undefined;
  let server: GatewayServer | undefined;
  let gateway: GatewayClient | undefined;
  try {
    if (!(await cache.waitUntilReady(5_000))) throw new Error(`Redis at ${redisUrl} is not ready`);
    dataset = await loadGatewayDataset(admin, "bench", datasetSize);
    const d = dataset;
    const namespace = d.names.namespace;
    progress(
      `dataset loaded in ${Math.round((performance.now() - started) / 1000)} s (namespace ${namespace})`,
    );

    const service = createQueryService({
      snapshot: () => ({ pipelines: [d.pipeline], rollups: d.rollups }),
      clickhouse,
      redis,
      cache,
      logger,
      now: () => Date.now(),
    });
    const token = randomUUID();
    const config: BenchServerConfig = { namespace, token, pipeline: d.pipeline, rollups: d.rollups };
    server = await GatewayServer.start(config);
    progress(`gateway process listening on 127.0.0.1:${server.ready.port}`);
    gateway = new GatewayClient(server.ready.port, token, namespace);
    const b: Bench = { d, namespace, gateway, server, service, direct };

    const cached = await measureCached(b);
    const uncached = await measureUncached(b);
    const raw = await measureRaw(b);
    const rawOnly = createQueryService({
      snapshot: () => ({ pipelines: [d.pipeline], rollups: [] }),
      clickhouse,
      redis: undefined,
      cache: undefined,
      logger,
      now: () => Date.now(),
    });
    const rows = await rowsReadVsRaw(b, rawOnly, {
      cached: cached.filled,
      uncached: uncached.saturated.values,
      raw: raw.saturated.values,
    });

    const offered = (kind: keyof typeof periodMs) => (clients * 1000) / periodMs[kind];
    progress(
      `cached (${cached.filled.length} distinct rollup questions, every answer a Redis hit), dashboard-paced ` +
        `(each of ${clients} clients every ${periodMs.cached} ms, ${offered("cached")} req/s offered): ` +
        `${ms(cached.paced.latency)}; ${loadOf(cached.paced)}. Saturated: ${ms(cached.saturated.latency)}; ` +
        `${loadOf(cached.saturated)}. Limit paced: ${pacedLimit(cached.paced, cached.oneClient.p50)}. Limit ` +
        `saturated: ${saturatedLimit(cached.saturated)}. One client alone p50 ` +
        `${round(cached.oneClient.p50)} ms; the query service alone in this process (plan, watermark, Redis ` +
        `GET, JSON) p50 ${round(cached.serviceOnly.p50)} ms, of which the planner ${round2(cached.planMs)} ms.`,
    );
    progress(
      `uncached rollup (a distinct question each time, no-cache), dashboard-paced (each of ${clients} clients ` +
        `every ${periodMs.uncached} ms, not ${periodMs.cached} ms: the stand-in could not serve ${offered("cached")} req/s): ` +
        `${ms(uncached.paced.latency)}; ${loadOf(uncached.paced)}. Saturated: ${ms(uncached.saturated.latency)}; ` +
        `${loadOf(uncached.saturated)}. Limit: ${standInLimit(uncached, offered("uncached"))}. The same SQL ` +
        `straight to ClickHouse at ${clients} clients ${ms(uncached.direct)}; one client alone: gateway p50 ` +
        `${round(uncached.oneClient.p50)} ms, direct p50 ${round(uncached.directOneClient.p50)} ms.`,
    );
    progress(
      `raw (questions no rollup answers, no-cache), dashboard-paced (each of ${clients} clients every ` +
        `${periodMs.raw} ms, as uncached): ${ms(raw.paced.latency)}; ${loadOf(raw.paced)}. Saturated: ` +
        `${ms(raw.saturated.latency)}; ${loadOf(raw.saturated)}. Limit: ${standInLimit(raw, offered("raw"))}.`,
    );
    progress(
      `rows read over ${rows.questions} distinct questions, router's choice vs raw table: ${rows.router} vs ` +
        `${rows.raw} (${rows.parts.join("; ")}); set by the tables the router picks, not by load. ` +
        `Whole bench ${Math.round((performance.now() - started) / 1000)} s.`,
    );
    return [
      { name: "gateway.query_cached_p50_ms", value: cached.paced.latency.p50, unit: "ms" },
      { name: "gateway.query_cached_p95_ms", value: cached.paced.latency.p95, unit: "ms" },
      { name: "gateway.query_cached_cpu_ms_per_request", value: cached.paced.serverCpuMs, unit: "ms" },
      { name: "gateway.query_cached_saturated_p50_ms", value: cached.saturated.latency.p50, unit: "ms" },
      { name: "gateway.query_cached_saturated_p95_ms", value: cached.saturated.latency.p95, unit: "ms" },
      { name: "gateway.query_cached_saturated_req_per_s", value: cached.saturated.rate, unit: "req/s" },
      {
        name: "gateway.query_cached_saturated_cpu_ms_per_request",
        value: cached.saturated.serverCpuMs,
        unit: "ms",
      },
      { name: "gateway.query_cached_one_client_p50_ms", value: cached.oneClient.p50, unit: "ms" },
      { name: "gateway.query_cached_service_only_p50_ms", value: cached.serviceOnly.p50, unit: "ms" },
      { name: "gateway.plan_query_mean_ms", value: cached.planMs, unit: "ms" },
      { name: "gateway.query_uncached_rollup_p50_ms", value: uncached.paced.latency.p50, unit: "ms" },
      { name: "gateway.query_uncached_rollup_p95_ms", value: uncached.paced.latency.p95, unit: "ms" },
      {
        name: "gateway.query_uncached_rollup_cpu_ms_per_request",
        value: uncached.paced.serverCpuMs,
        unit: "ms",
      },
      {
        name: "gateway.query_uncached_rollup_saturated_p50_ms",
        value: uncached.saturated.latency.p50,
        unit: "ms",
      },
      {
        name: "gateway.query_uncached_rollup_saturated_p95_ms",
        value: uncached.saturated.latency.p95,
        unit: "ms",
      },
      {
        name: "gateway.query_uncached_rollup_saturated_req_per_s",
        value: uncached.saturated.rate,
        unit: "req/s",
      },
      { name: "gateway.clickhouse_direct_rollup_p50_ms", value: uncached.direct.p50, unit: "ms" },
      {
        name: "gateway.query_uncached_rollup_one_client_p50_ms",
        value: uncached.oneClient.p50,
        unit: "ms",
      },
      {
        name: "gateway.clickhouse_direct_rollup_one_client_p50_ms",
        value: uncached.directOneClient.p50,
        unit: "ms",
      },
      // One client at a time: at 50 the queue in front of the stand-in swamps the difference.
      {
        name: "gateway.uncached_overhead_vs_clickhouse_p50_ms",
        value: uncached.oneClient.p50 - uncached.directOneClient.p50,
        unit: "ms",
      },
      { name: "gateway.query_raw_p50_ms", value: raw.paced.latency.p50, unit: "ms" },
      { name: "gateway.query_raw_p95_ms", value: raw.paced.latency.p95, unit: "ms" },
      { name: "gateway.query_raw_saturated_p50_ms", value: raw.saturated.latency.p50, unit: "ms" },
      { name: "gateway.query_raw_saturated_p95_ms", value: raw.saturated.latency.p95, unit: "ms" },
      { name: "gateway.query_raw_saturated_req_per_s", value: raw.saturated.rate, unit: "req/s" },
      { name: "gateway.rows_read_router_sum", value: rows.router, unit: "rows" },
      { name: "gateway.rows_read_raw_sum", value: rows.raw, unit: "rows" },
      { name: "gateway.rows_read_ratio_vs_raw", value: rows.router / rows.raw, unit: "ratio" },
    ];
  } finally {
    gateway?.close();
    if (server !== undefined) progress(`gateway process: ${await server.stop()}`);
    await cache.close();
    if (dataset !== undefined) {
      await dropGatewayDataset(admin, dataset);
      const { namespace, pipeline } = dataset.names;
      const removed =
        (await deleteKeys(redis, `${resultCacheKeyPrefix(namespace)}*`)) +
        (await deleteKeys(redis, `${redisPrefix(namespace, pipeline)}*`));
      progress(`dropped the dataset's tables and ${removed} Redis keys`);
    }
    redis.disconnect();
    await Promise.all([admin.close(), clickhouse.close(), direct.close()]);
  }
}
