/**
 * Live window results in Redis for dashboards: idempotent per window, group key and source partition,
 * with a TTL (spec.sink.redis.ttl). Redis is a cache of the window table, never the source of truth:
 * the worker writes here only after ClickHouse acknowledged the results, never waits for it, and never
 * lets it hold back the raw path.
 *
 * The key layout and the share format are the contract in contracts/redis/live-windows.ts.
 *
 * Failures. Writes are queued and sent in pipelines; the client does not queue offline. When a write
 * fails the sink drops its queue and marks itself stale; once Redis answers again it re-reads the
 * latest shares of its partitions written within the TTL from the window table and writes them (the
 * same compare-and-set), so the live view recovers even if Redis lost its data.
 */
import { createHash } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Redis } from "ioredis";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import {
  encodeShareBody,
  liveWindowIndexKey,
  liveWindowKey,
  liveWindowMember,
  redisPrefix,
  shareField,
  watermarksKey,
} from "../../contracts/redis/live-windows.js";
import type { GroupValue, WindowResult } from "../../contracts/windows/window-results.js";
import type { PipelinePlan } from "../pipeline/pipeline-plan.js";

/**
 * Compare-and-set of many shares in one call (a command per share cost the worker more than the write): KEYS are
 * (window key, index key) per share, ARGV the TTL then (field, version, body, index member, score) per share.
 */
const SET_SHARES = `
local ttl = ARGV[1]
local written = 0
for i = 1, #KEYS / 2 do
  local key, index = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 2 + (i - 1) * 5
  local field, version, body, member, score = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local current = redis.call('HGET', key, field)
  local newer = true
  if current then
    local sep = string.find(current, '|', 1, true)
    if sep and tonumber(string.sub(current, 1, sep - 1)) >= tonumber(version) then newer = false end
  end
  if newer then
    redis.call('HSET', key, field, version .. '|' .. body)
    redis.call('PEXPIRE', key, ttl)
    redis.call('ZADD', index, score, member)
    redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (tonumber(score) - tonumber(ttl)))
    redis.call('PEXPIRE', index, ttl)
    written = written + 1
  end
end
return written
`;

const SET_WATERMARK = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (not current) or tonumber(current) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

interface Share {
  readonly result: WindowResult;
  readonly topic: string;
  readonly partition: number;
  readonly version: number;
}

interface RedisSinkEvents {
  onError(error: unknown, context: string): void;
  onRecovered(shares: number): void;
}

interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

const MAX_QUEUED = 100_000;
const PIPELINE_SIZE = 500;
/** Shares per script call: few calls, while one call keeps Redis busy for well under a millisecond. */
const SHARES_PER_CALL = 50;

export class RedisSink {
  private readonly prefix: string;
  private queue: Share[] = [];
  private watermarks = new Map<string, number>();
  private writing: Promise<void> | undefined;
  private stale = false;
  private recovering: Promise<void> | undefined;
  private readonly resyncQuery: string;

  constructor(
    private readonly redis: Redis,
    private readonly clickhouse: ClickHouseClient,
    plan: PipelinePlan,
    private readonly ttlMs: number,
    private readonly partitions: () => readonly PartitionRef[],
    private readonly events: RedisSinkEvents,
  ) {
    this.prefix = redisPrefix(plan.namespace, plan.name);
    const { database, table } = plan.spec.sink.clickhouse;
    // Latest version of every share, retractions included (FINAL would hide them, and Redis must learn them).
    this.resyncQuery = [
      "SELECT window_name, toUnixTimestamp64Milli(window_start) AS start, group_key,",
      "  argMax(toUnixTimestamp64Milli(window_end), version) AS end, max(version) AS v,",
      "  argMax(is_deleted, version) AS deleted, argMax(states, version) AS states, argMax(results, version) AS results",
      `FROM ${qualifiedName(database, windowTableName(table), "window table")}`,
      "WHERE source_topic = {topic:String} AND source_partition = {partition:UInt32}",
      "  AND _inserted_at >= now64(3) - toIntervalMillisecond({ttl:UInt64})",
      "GROUP BY window_name, window_start, group_key",
    ].join("\n");
  }

  /** Whether writes are currently being dropped until Redis answers again. */
  get isStale(): boolean {
    return this.stale;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues the shares of a durable batch; returns at once. */
  publish(
    results: readonly WindowResult[],
    topic: string,
    partition: number,
    version: number,
    watermarkMs: number,
  ): void {
    if (Number.isFinite(watermarkMs)) this.watermarks.set(shareField(topic, partition), watermarkMs);
    if (this.stale) return;
    for (const result of results) this.queue.push({ result, topic, partition, version });
    if (this.queue.length > MAX_QUEUED) {
      this.markStale(new Error(`more than ${MAX_QUEUED} shares queued`), "queue");
      return;
    }
    this.kick();
  }

  /** Waits until the queue is written (or `timeoutMs` passes). */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.writing !== undefined) && Date.now() < deadline) {
      await (this.writing ?? new Promise((r) => setTimeout(r, 10)));
    }
  }

  /** Called periodically: once Redis answers after a failure, rewrites the latest shares from ClickHouse. */
  async recoverIfStale(): Promise<void> {
    if (!this.stale || this.recovering !== undefined) return;
    this.recovering = this.recover().finally(() => {
      this.recovering = undefined;
    });
    await this.recovering;
  }

  private async recover(): Promise<void> {
    try {
      await this.redis.ping();
    } catch {
      return;
    }
    // From here on new shares are written live; the resync below covers everything inserted before it.
    this.stale = false;
    try {
      const count = await this.resync(this.partitions());
      this.events.onRecovered(count);
    } catch (error) {
      this.markStale(error, "resync");
    }
  }

  /**
   * Rewrites the latest shares of `partitions` written within the TTL from the window table. Called when
   * Redis comes back, and when a worker takes over a partition whose previous owner may have died
   * between ClickHouse acknowledging a batch and Redis receiving its shares.
   */
  async resyncPartitions(partitions: readonly PartitionRef[]): Promise<void> {
    if (this.stale) return; // the recovery will cover them
    try {
      await this.resync(partitions);
    } catch (error) {
      this.markStale(error, "resync");
    }
  }

  private async resync(partitions: readonly PartitionRef[]): Promise<number> {
    let count = 0;
    for (const { topic, partition } of partitions) {
      const result = await this.clickhouse.query({
        query: this.resyncQuery,
        query_params: { topic, partition, ttl: this.ttlMs },
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const rows = await result.json<{
        window_name: string;
        start: number;
        group_key: string;
        end: number;
        v: number;
        deleted: number;
        states: string;
        results: string;
      }>();
      const shares: Share[] = rows.map((r) => {
        const groupKey = JSON.parse(r.group_key) as GroupValue[];
        const result: WindowResult =
          r.deleted === 1
            ? {
                kind: "retract",
                windowName: r.window_name,
                windowStart: r.start,
                windowEnd: r.end,
                groupKey,
                revision: 0,
              }
            : {
                kind: "upsert",
                windowName: r.window_name,
                windowStart: r.start,
                windowEnd: r.end,
                groupKey,
                revision: 0,
                states: JSON.parse(r.states) as Record<string, string>,
                results: JSON.parse(r.results) as Record<string, number | null>,
              };
        return { result, topic, partition, version: r.v };
      });
      for (let i = 0; i < shares.length; i += PIPELINE_SIZE)
        await this.write(shares.slice(i, i + PIPELINE_SIZE));
      count += shares.length;
    }
    return count;
  }

  private markStale(error: unknown, context: string): void {
    this.stale = true;
    // A restarted Redis has lost its script cache: load the scripts again before the next write.
    this.scriptsLoaded = false;
    this.queue = [];
    this.events.onError(error, context);
  }

  private kick(): void {
    if (this.writing !== undefined) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if ((this.queue.length > 0 || this.watermarks.size > 0) && !this.stale) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // A batch that fired no window still moves the watermark: it is written alone, so every durable batch
    // reaches Redis (the gateway's live stream takes that write as "new rows are in ClickHouse").
    while ((this.queue.length > 0 || this.watermarks.size > 0) && !this.stale) {
      const chunk = this.queue.splice(0, PIPELINE_SIZE);
      try {
        await this.write(chunk);
      } catch (error) {
        this.markStale(error, "write");
      }
    }
  }

  private async write(shares: readonly Share[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    const ttl = String(this.ttlMs);
    for (let i = 0; i < shares.length; i += SHARES_PER_CALL) {
      const chunk = shares.slice(i, i + SHARES_PER_CALL);
      const keys: string[] = [];
      const args: string[] = [ttl];
      for (const { result, topic, partition, version } of chunk) {
        const member = liveWindowMember(result);
        keys.push(
          liveWindowKey(this.prefix, result.windowName, member),
          liveWindowIndexKey(this.prefix, result.windowName),
        );
        args.push(
          shareField(topic, partition),
          String(version),
          encodeShareBody(result),
          member,
          String(result.windowStart),
        );
      }
      pipeline.call("EVALSHA", scriptSha(SET_SHARES), String(keys.length), ...keys, ...args);
    }
    for (const [field, watermark] of this.watermarks) {
      pipeline.call(
        "EVALSHA",
        scriptSha(SET_WATERMARK),
        "1",
        watermarksKey(this.prefix),
        field,
        String(watermark),
        ttl,
      );
    }
    this.watermarks = new Map();
    await this.loadScripts();
    const replies = (await pipeline.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
  }

  private scriptsLoaded = false;

  private async loadScripts(): Promise<void> {
    if (this.scriptsLoaded) return;
    await this.redis.script("LOAD", SET_SHARES);
    await this.redis.script("LOAD", SET_WATERMARK);
    this.scriptsLoaded = true;
  }
}

const shas = new Map<string, string>();
function scriptSha(script: string): string {
  let sha = shas.get(script);
  if (sha === undefined) {
    sha = createHash("sha1").update(script).digest("hex");
    shas.set(script, sha);
  }
  return sha;
}
