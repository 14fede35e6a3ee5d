/**
 * The gateway's result cache (gateway/cache/result-cache.ts) against the stack's Redis and
 * ClickHouse: each compute runs a real ClickHouse query tagged with its own `log_comment`, and the
 * queries that reached ClickHouse are counted on the ClickHouse side, in the stand-in's
 * `tally_standin.query_log` (test/env/clickhouse/query-log.ts). The Redis outage cases use a
 * redis-server of their own on a free port, so the stack's Redis is never stopped.
 * The stack's ClickHouse must run a stand-in that has that table (restart it after pulling it in), or
 * point TALLY_CLICKHOUSE_PORT at one started apart: `tsx test/env/clickhouse/main.ts --port P --data-dir D`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { resultCacheKey } from "../../gateway/cache/cache-key.js";
import { type CacheStatus, ResultCache } from "../../gateway/cache/result-cache.js";
import { standinQueryLogTable } from "../env/clickhouse/query-log.js";
import { clickhouseUrl, redisUrl, stackConfig } from "../env/config.js";
import { tcpExchange } from "../env/probes.js";
import { eventually } from "../support/eventually.js";
import { freePort } from "../support/free-port.js";

const clickhouse = createClient({
  url: clickhouseUrl,
  username: stackConfig.clickhouseUser,
  password: stackConfig.clickhousePassword,
  request_timeout: 60_000,
});
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const caches: ResultCache[] = [];
const redisServers: ChildProcess[] = [];
afterAll(async () => {
  // Servers first: a cache stuck on a hung server must not keep it alive.
  for (const server of redisServers) server.kill("SIGKILL");
  await Promise.all(caches.map((cache) => cache.close()));
  await redis.quit();
  await clickhouse.close();
});

/** Log lines the cache wrote, parsed. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}

async function newCache(
  options: { redisUrl?: string; lockWaitMs?: number; lockTtlMs?: number } = {},
): Promise<{ cache: ResultCache; registry: Registry; lines: Array<Record<string, unknown>> }> {
  const registry = new Registry();
  const { logger, lines } = capturingLogger();
  const cache = new ResultCache({ redisUrl: options.redisUrl ?? redisUrl, registry, logger, ...options });
  caches.push(cache);
  // Until connected every lookup is "unavailable" by design; these tests start from a connected cache.
  expect(await cache.waitUntilReady(10_000)).toBe(true);
  return { cache, registry, lines };
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

interface Sums {
  readonly n: number;
  readonly total: number;
}

/**
 * A compute that asks ClickHouse for count() and sum() over numbers(n), tagged with `tag`, and
 * counts its own calls; `expected` is the same answer worked out here.
 */
function sumsQuery(client: ClickHouseClient, tag: string, n = 1_000 + Math.floor(Math.random() * 1_000)) {
  const calls = { count: 0 };
  const compute = async (): Promise<Sums> => {
    calls.count += 1;
    const result = await client.query({
      query: "SELECT count() AS n, sum(number) AS total FROM numbers({n:UInt32})",
      query_params: { n },
      format: "JSONEachRow",
      clickhouse_settings: { log_comment: tag, output_format_json_quote_64bit_integers: 0 },
    });
    const [row] = await result.json<Sums>();
    if (row === undefined) throw new Error(`no row from numbers(${n})`);
    return row;
  };
  return { compute, calls, expected: { n, total: (n * (n - 1)) / 2 } };
}

/** How many queries tagged `tag` ClickHouse ran. */
async function queriesRun(tag: string): Promise<number> {
  const result = await clickhouse.query({
    query: `SELECT count() AS n FROM ${standinQueryLogTable} WHERE log_comment = {tag:String} AND type = 'QueryFinish'`,
    query_params: { tag },
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const [row] = await result.json<{ n: number }>();
  return row?.n ?? 0;
}

function countStatuses(
  results: ReadonlyArray<{ status: CacheStatus }>,
): Partial<Record<CacheStatus, number>> {
  const counts: Partial<Record<CacheStatus, number>> = {};
  for (const { status } of results) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

function freshKey(): { key: string; tag: string } {
  const tag = `result-cache-it-${randomUUID()}`;
  return { key: resultCacheKey("result-cache-it", { tag }), tag };
}

async function startRedis(port: number): Promise<ChildProcess> {
  const server = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  redisServers.push(server);
  await eventually(async () => {
    expect(await tcpExchange("127.0.0.1", port, "PING\r\n")).toBe("+PONG\r\n");
  }, 15_000);
  return server;
}

async function stopRedis(server: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  await exited;
}

/** Runs one get() and how long it took. */
async function timed<T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await call();
  return { result, ms: performance.now() - started };
}

describe("gateway result cache", () => {
  it("misses, then hits without asking ClickHouse again; the entry and its stale copy carry the TTLs", async () => {
    const { cache, registry } = await newCache();
    const { key, tag } = freshKey();
    const { compute, calls, expected } = sumsQuery(clickhouse, tag);

    expect(await cache.get(key, 60, compute, { bypass: false })).toEqual({ value: expected, status: "miss" });
    expect(await cache.get(key, 60, compute, { bypass: false })).toEqual({ value: expected, status: "hit" });
    expect(calls.count).toBe(1);
    expect(await queriesRun(tag)).toBe(1);

    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.pttl(`${key}:stale`)).toBeGreaterThan(60_000 + 3_500_000);
    expect(await redis.exists(`${key}:lock`)).toBe(0);

    // no-cache runs the query again and refreshes the entry.
    expect(await cache.get(key, 60, compute, { bypass: true })).toEqual({
      value: expected,
      status: "bypass",
    });
    expect(await queriesRun(tag)).toBe(2);
    expect(await metric(registry, "tally_gateway_cache_requests_total", { status: "miss" })).toBe(1);
    expect(await metric(registry, "tally_gateway_cache_requests_total", { status: "hit" })).toBe(1);
    expect(await metric(registry, "tally_gateway_cache_requests_total", { status: "bypass" })).toBe(1);
  });

  it("answers 200 concurrent identical requests on a cold key with exactly one ClickHouse query", async () => {
    const { cache, registry } = await newCache();
    const { key, tag } = freshKey();
    const { compute, calls, expected } = sumsQuery(clickhouse, tag);

    const results = await Promise.all(
      Array.from({ length: 200 }, () => cache.get(key, 60, compute, { bypass: false })),
    );
    expect(results.every((r) => r.value.n === expected.n && r.value.total === expected.total)).toBe(true);
    expect(calls.count).toBe(1);
    expect(await queriesRun(tag)).toBe(1);
    expect(countStatuses(results)).toEqual({ miss: 1, hit: 199 });
    expect(await metric(registry, "tally_gateway_cache_singleflight_waits_total")).toBeGreaterThan(0);
  });

  it("shares one compute between two replicas with their own Redis connections, 50 requests each", async () => {
    // A generous wait so a slow machine cannot make a loser give up and compute: the count is the point.
    const replicas = [await newCache({ lockWaitMs: 30_000 }), await newCache({ lockWaitMs: 30_000 })];
    const { key, tag } = freshKey();
    const { compute, calls, expected } = sumsQuery(clickhouse, tag);

    const results = await Promise.all(
      replicas.flatMap(({ cache }) =>
        Array.from({ length: 50 }, () => cache.get(key, 60, compute, { bypass: false })),
      ),
    );
    expect(results.every((r) => r.value.total === expected.total)).toBe(true);
    expect(calls.count).toBe(1);
    expect(await queriesRun(tag)).toBe(1);
    expect(countStatuses(results)).toEqual({ miss: 1, hit: 99 });
    // The replica that lost the lock got its answer by waiting for the other one's.
    const waits = await Promise.all(
      replicas.map(({ registry }) => metric(registry, "tally_gateway_cache_singleflight_waits_total")),
    );
    expect(Math.min(...waits)).toBeGreaterThan(0);
  });

  it("while another replica holds the lock too long, serves the stale copy, or computes when there is none", async () => {
    const { cache, registry } = await newCache({ lockWaitMs: 300 });
    const { key, tag } = freshKey();
    const { compute, calls, expected } = sumsQuery(clickhouse, tag);
    expect((await cache.get(key, 60, compute, { bypass: false })).status).toBe("miss");
    // The entry expired, and a slow replica is recomputing it: it holds the lock and stores nothing.
    await redis.del(key);
    await redis.set(`${key}:lock`, "another-replica", "PX", 60_000);
    const { result, ms } = await timed(() => cache.get(key, 60, compute, { bypass: false }));
    expect(result).toEqual({ value: expected, status: "stale" });
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(calls.count).toBe(1);
    expect(await metric(registry, "tally_gateway_cache_stale_served_total")).toBe(1);

    await redis.del(`${key}:stale`);
    expect(await cache.get(key, 60, compute, { bypass: false })).toEqual({ value: expected, status: "miss" });
    expect(calls.count).toBe(2);
    expect(await queriesRun(tag)).toBe(2);
    await redis.del(`${key}:lock`);
  });

  it("a holder whose lock expired mid-compute leaves its successor's lock alone", async () => {
    const { cache } = await newCache({ lockTtlMs: 200 });
    const { key, tag } = freshKey();
    const query = sumsQuery(clickhouse, tag);
    const lockKey = `${key}:lock`;
    const slowCompute = async () => {
      // Outlive the lock, and let another replica take it meanwhile.
      await eventually(async () => expect(await redis.exists(lockKey)).toBe(0), 10_000, 25);
      await redis.set(lockKey, "successor", "PX", 60_000);
      return query.compute();
    };
    expect(await cache.get(key, 60, slowCompute, { bypass: false })).toEqual({
      value: query.expected,
      status: "miss",
    });
    expect(await redis.get(lockKey)).toBe("successor");
    await redis.del(lockKey);
  });

  it("serves the last result marked stale when ClickHouse is down, logging once; rethrows with no stale copy", async () => {
    const { cache, registry, lines } = await newCache();
    const { key, tag } = freshKey();
    const { compute, expected } = sumsQuery(clickhouse, tag);
    expect((await cache.get(key, 1, compute, { bypass: false })).status).toBe("miss");
    // The fresh entry expires on its own TTL; the stale copy outlives it.
    await eventually(async () => expect(await redis.exists(key)).toBe(0), 10_000);

    // A ClickHouse that refuses connections: nothing listens on this port.
    const down = createClient({
      url: `http://127.0.0.1:${await freePort()}`,
      request_timeout: 2_000,
      log: { level: ClickHouseLogLevel.OFF },
    });
    const failing = sumsQuery(down, tag, expected.n);
    try {
      for (let i = 0; i < 3; i++) {
        expect(await cache.get(key, 1, failing.compute, { bypass: false })).toEqual({
          value: expected,
          status: "stale",
        });
      }
      expect(failing.calls.count).toBe(3);
      expect(await metric(registry, "tally_gateway_cache_stale_served_total")).toBe(3);
      const warnings = lines.filter((l) => l.msg === "query failed; serving the cached result marked stale");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        key,
        level: 40,
        err: { message: expect.stringMatching(/ECONNREFUSED/) },
      });

      const cold = freshKey();
      await expect(
        cache.get(cold.key, 1, sumsQuery(down, cold.tag).compute, { bypass: false }),
      ).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await down.close();
    }
    expect(await queriesRun(tag)).toBe(1);
  });

  it("keeps answering, uncached and within a second, while its Redis is stopped or hung, and uses it again after", async () => {
    const port = await freePort();
    let server = await startRedis(port);
    const own = `redis://127.0.0.1:${port}`;
    const { cache, registry, lines } = await newCache({ redisUrl: own });
    const { key, tag } = freshKey();
    const { compute, calls, expected } = sumsQuery(clickhouse, tag);
    expect((await cache.get(key, 60, compute, { bypass: false })).status).toBe("miss");

    await stopRedis(server);
    for (let i = 0; i < 3; i++) {
      const { result, ms } = await timed(() => cache.get(key, 60, compute, { bypass: false }));
      expect(result).toEqual({ value: expected, status: "unavailable" });
      expect(ms).toBeLessThan(1_000);
    }
    expect(calls.count).toBe(4);
    // Without Redis, concurrent requests in one process still share one query.
    const together = await Promise.all(
      Array.from({ length: 20 }, () => cache.get(key, 60, compute, { bypass: false })),
    );
    expect(countStatuses(together)).toEqual({ unavailable: 20 });
    expect(calls.count).toBe(5);
    expect(await queriesRun(tag)).toBe(5);
    expect(await metric(registry, "tally_gateway_cache_requests_total", { status: "unavailable" })).toBe(23);
    expect(
      lines.filter((l) => l.msg === "redis unavailable; queries run uncached until it answers"),
    ).toHaveLength(1);

    // Back (empty, no persistence): the cache reconnects by itself and is used again.
    server = await startRedis(port);
    await eventually(async () => expect(await cache.waitUntilReady(100)).toBe(true), 15_000);
    expect((await cache.get(key, 60, compute, { bypass: false })).status).toBe("miss");
    expect((await cache.get(key, 60, compute, { bypass: false })).status).toBe("hit");

    // Hung rather than gone: connected, but no answer. The command timeout keeps each call short.
    server.kill("SIGSTOP");
    try {
      const other = freshKey();
      const slow = sumsQuery(clickhouse, other.tag);
      const { result, ms } = await timed(() => cache.get(other.key, 60, slow.compute, { bypass: false }));
      expect(result).toEqual({ value: slow.expected, status: "unavailable" });
      expect(ms).toBeLessThan(1_000);
    } finally {
      server.kill("SIGCONT");
    }
    await stopRedis(server);
  });
});
