/**
 * The gateway's query-result cache in Redis (thin I/O around `compute`). A cold key is computed once:
 * concurrent callers in this process share one promise, and across replicas a Redis lock (SET NX PX)
 * elects one computer while the others poll for its result for a bounded time, then serve the last
 * result marked stale rather than stampede ClickHouse. Every value is also kept as a longer-lived
 * stale copy, served when the compute fails (ClickHouse down). Redis itself is optional: when it does
 * not answer within `commandTimeout` the query is computed uncached, never failed or held up.
 *
 * Keys: `<key>` the fresh value (PX ttl), `<key>:stale` its copy (PX ttl + staleKeepMs),
 * `<key>:lock` the single-flight lock. The key's `{namespace}` hash tag keeps all three in one slot.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";

export type CacheStatus = "hit" | "miss" | "stale" | "bypass" | "unavailable";

export interface CacheResult<T> {
  readonly value: T;
  readonly status: CacheStatus;
}

export interface ResultCacheOptions {
  readonly redisUrl: string;
  readonly registry: Registry;
  readonly logger: Logger;
  /** How long a lock holder may compute before another replica may take over. */
  readonly lockTtlMs?: number;
  /** How long a replica that lost the lock waits for the winner's result. */
  readonly lockWaitMs?: number;
  /** How much longer than the fresh value its stale copy lives. */
  readonly staleKeepMs?: number;
}

const defaults = { lockTtlMs: 10_000, lockWaitMs: 2_000, staleKeepMs: 60 * 60 * 1000 } as const;

/**
 * A client that never holds a query up: commands fail after 200 ms or at once while disconnected
 * (no offline queue, no per-request retry), and it keeps reconnecting in the background.
 */
export const resultCacheRedisOptions: RedisOptions = {
  commandTimeout: 200,
  connectTimeout: 1_000,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: (times) => Math.min(times * 100, 2_000),
};

// Only the lock's owner may delete it: a holder that outlived lockTtlMs must not free a successor's lock.
const releaseLockScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

type Lookup<T> = { readonly kind: "found"; readonly value: T } | { readonly kind: "absent" | "unavailable" };

type Attempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

export class ResultCache {
  private readonly redis: Redis;
  private readonly logger: Logger;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly staleKeepMs: number;
  private readonly inFlight = new Map<string, Promise<CacheResult<unknown>>>();
  /** Keys whose failed compute was already logged; cleared by the next successful compute. */
  private readonly warnedStale = new Set<string>();
  private redisDown = false;
  private readonly requests: Counter<"status">;
  private readonly singleFlightWaits: Counter;
  private readonly staleServed: Counter;

  constructor(options: ResultCacheOptions) {
    this.logger = options.logger;
    this.lockTtlMs = options.lockTtlMs ?? defaults.lockTtlMs;
    this.lockWaitMs = options.lockWaitMs ?? defaults.lockWaitMs;
    this.staleKeepMs = options.staleKeepMs ?? defaults.staleKeepMs;
    this.requests = new Counter({
      name: "tally_gateway_cache_requests_total",
      help: "Result cache lookups by outcome: hit, miss, stale, bypass (no-cache) or unavailable (Redis down)",
      labelNames: ["status"],
      registers: [options.registry],
    });
    this.singleFlightWaits = new Counter({
      name: "tally_gateway_cache_singleflight_waits_total",
      help: "Requests served by another request's compute (same process or another replica) instead of their own",
      registers: [options.registry],
    });
    this.staleServed = new Counter({
      name: "tally_gateway_cache_stale_served_total",
      help: "Requests answered with a stale result (the compute failed, or the lock holder was too slow)",
      registers: [options.registry],
    });
    this.redis = new Redis(options.redisUrl, resultCacheRedisOptions);
    // Without a listener ioredis would throw 'error' events at the process.
    this.redis.on("error", (error: Error) => this.noteRedisFailure(error));
  }

  /** Resolves true once Redis is connected, false after timeoutMs (the cache works either way). */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.redis.status !== "ready") {
      if (Date.now() >= deadline) return false;
      await sleep(25);
    }
    return true;
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  async get<T>(
    key: string,
    ttlSeconds: number,
    compute: () => Promise<T>,
    opts: { readonly bypass: boolean },
  ): Promise<CacheResult<T>> {
    const result = await this.resolve(key, ttlSeconds * 1000, compute, opts.bypass);
    this.requests.inc({ status: result.status });
    if (result.status === "stale") this.staleServed.inc();
    return result;
  }

  private async resolve<T>(
    key: string,
    ttlMs: number,
    compute: () => Promise<T>,
    bypass: boolean,
  ): Promise<CacheResult<T>> {
    if (bypass) return this.computeAndStore(key, ttlMs, compute, "bypass");
    const cached = await this.read<T>(key);
    if (cached.kind === "found") return { value: cached.value, status: "hit" };

    // Callers of one key expect one type, so the shared promise carries the T its starter computes.
    const shared = this.inFlight.get(key) as Promise<CacheResult<T>> | undefined;
    if (shared !== undefined) {
      this.singleFlightWaits.inc();
      const { value, status } = await shared;
      // The starter's compute answered this request too: for this caller that is a hit.
      return { value, status: status === "miss" ? "hit" : status };
    }
    const flight =
      cached.kind === "unavailable" ? this.computeUncached(compute) : this.fill(key, ttlMs, compute);
    const tracked = flight.finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, tracked);
    return tracked;
  }

  /** The cross-replica part of a miss: take the lock and compute, or wait for the holder's result. */
  private async fill<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<CacheResult<T>> {
    const lockKey = `${key}:lock`;
    const token = randomUUID();
    const lock = await this.attempt(() => this.redis.set(lockKey, token, "PX", this.lockTtlMs, "NX"));
    if (!lock.ok) return this.computeUncached(compute);
    if (lock.value === "OK") {
      try {
        // A holder that finished between our read and our lock has stored its result already.
        const again = await this.read<T>(key);
        if (again.kind === "found") return { value: again.value, status: "hit" };
        return await this.computeAndStore(key, ttlMs, compute, "miss");
      } finally {
        await this.attempt(() => this.redis.eval(releaseLockScript, 1, lockKey, token));
      }
    }

    const waited = await this.waitForHolder<T>(key, lockKey);
    if (waited.kind === "found") {
      this.singleFlightWaits.inc();
      return { value: waited.value, status: "hit" };
    }
    const stale = await this.read<T>(`${key}:stale`);
    if (stale.kind === "found") return { value: stale.value, status: "stale" };
    return this.computeAndStore(key, ttlMs, compute, "miss");
  }

  /** Polls for the lock holder's result until it appears, the lock goes away, or lockWaitMs passes. */
  private async waitForHolder<T>(key: string, lockKey: string): Promise<Lookup<T>> {
    const deadline = Date.now() + this.lockWaitMs;
    while (Date.now() < deadline) {
      await sleep(25 + Math.random() * 25);
      const value = await this.read<T>(key);
      if (value.kind !== "absent") return value;
      const held = await this.attempt(() => this.redis.exists(lockKey));
      // The holder gave up (its compute failed) or Redis went away: waiting longer would not help.
      if (!held.ok || held.value === 0) return { kind: "absent" };
    }
    return { kind: "absent" };
  }

  private async computeAndStore<T>(
    key: string,
    ttlMs: number,
    compute: () => Promise<T>,
    status: "miss" | "bypass",
  ): Promise<CacheResult<T>> {
    let value: T;
    try {
      value = await compute();
    } catch (error) {
      const stale = await this.read<T>(`${key}:stale`);
      if (stale.kind !== "found") throw error;
      if (!this.warnedStale.has(key)) {
        this.warnedStale.add(key);
        this.logger.warn({ key, err: error }, "query failed; serving the cached result marked stale");
      }
      return { value: stale.value, status: "stale" };
    }
    this.warnedStale.delete(key);
    const json = JSON.stringify(value);
    // Best effort: the answer is good whether or not Redis keeps it.
    await this.attempt(() =>
      this.redis
        .multi()
        .set(key, json, "PX", ttlMs)
        .set(`${key}:stale`, json, "PX", ttlMs + this.staleKeepMs)
        .exec(),
    );
    return { value, status };
  }

  private async computeUncached<T>(compute: () => Promise<T>): Promise<CacheResult<T>> {
    return { value: await compute(), status: "unavailable" };
  }

  private async read<T>(key: string): Promise<Lookup<T>> {
    const read = await this.attempt(() => this.redis.get(key));
    if (!read.ok) return { kind: "unavailable" };
    if (read.value === null) return { kind: "absent" };
    try {
      return { kind: "found", value: JSON.parse(read.value) as T };
    } catch (error) {
      this.logger.warn({ key, err: error }, "cached result is not JSON; recomputing");
      return { kind: "absent" };
    }
  }

  /** Runs one Redis call; a failure of any kind means "no cache for this call", never a failed query. */
  private async attempt<T>(call: () => Promise<T>): Promise<Attempt<T>> {
    try {
      const value = await call();
      if (this.redisDown) {
        this.redisDown = false;
        this.logger.info("redis answers again; result cache back in use");
      }
      return { ok: true, value };
    } catch (error) {
      this.noteRedisFailure(error);
      return { ok: false };
    }
  }

  /** Logs once per outage, not once per failed call or reconnect attempt. */
  private noteRedisFailure(error: unknown): void {
    if (this.redisDown) return;
    this.redisDown = true;
    this.logger.warn({ err: error }, "redis unavailable; queries run uncached until it answers");
  }
}
