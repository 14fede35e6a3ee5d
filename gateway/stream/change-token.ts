/**
 * A pipeline's change token: a few bytes from what the runtime's Redis sink writes on every batch, read
 * once per pipeline per tick for every view, so that a view whose pipelines did not change reads nothing
 * from ClickHouse (an idle pipeline costs only heartbeats).
 *
 * Why it is sufficient. The runtime's partition writer (runtime/source/partition-writer.ts) inserts a
 * batch's raw rows, then its window rows, each acknowledged by ClickHouse (async_insert=0, so they are
 * visible), and only then publishes the batch to Redis (runtime/sinks/redis-sink.ts). Every publish with a
 * watermark runs SET_WATERMARK, which PEXPIREs `P:wm`, and every share write PEXPIREs the window's index
 * `P:i:<window>`: their absolute expiry (PEXPIRETIME = Redis's clock at the write + the TTL) moves with each
 * write, even when no watermark value moves (late or out-of-order events). So when the token moves, every
 * row of the batches behind the move is already readable in ClickHouse. Two writes in the same millisecond
 * give one expiry, and a token read between them would miss the second: so the read also takes Redis's
 * TIME first, and a token whose newest write (expiry − TTL) is not strictly older than that instant is
 * "unsettled": the view reads once more at its next chance (refresh-decision.ts). A settled token cannot
 * hide a later write: that write's expiry is in a later millisecond. ClickHouse itself needs no second
 * look: inserts are synchronous (async_insert=0), so acknowledged rows are readable.
 * A batch that fires no window (events inside open windows: the usual case between window ends) still
 * writes its watermark alone (redis-sink.ts drains watermarks without shares), so it moves the token too.
 * Not covered: a batch whose watermark is not finite (no event with a usable time) writes nothing; and a
 * pipeline without a Redis sink has no token: its panels are re-read on a fallback period instead.
 */
import type { Redis } from "ioredis";
import { liveWindowIndexKey, redisPrefix, watermarksKey } from "../../contracts/redis/live-windows.js";

export interface TrackedPipeline {
  readonly namespace: string;
  readonly pipeline: string;
  /** The pipeline's window names: their indexes are part of the token. */
  readonly windows: readonly string[];
  /** spec.sink.redis.ttl: every write sets the keys' expiry to its instant + this. */
  readonly ttlMs: number;
}

export interface ChangeToken {
  readonly token: string;
  /** No write may share a millisecond with the token's read (see above). */
  readonly settled: boolean;
}

export function pipelineKey(namespace: string, pipeline: string): string {
  return `${namespace}/${pipeline}`;
}

/** The token from the replies for one pipeline (pure): watermarks by partition, sorted, then the expiries. */
export function changeToken(
  watermarks: Readonly<Record<string, string>>,
  expiries: readonly number[],
): string {
  const marks = Object.entries(watermarks).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([marks, expiries]);
}

/** Whether every write behind the expiries (absent keys have none) is older than Redis's `nowMs` (pure). */
export function tokenSettled(expiries: readonly number[], ttlMs: number, nowMs: number): boolean {
  return expiries.every((expiry) => expiry < 0 || expiry - ttlMs < nowMs);
}

/**
 * Every pipeline's token in one round trip; a pipeline whose replies failed, or all of them when Redis
 * does not answer, maps to undefined (its panels fall back to periodic reads).
 */
export async function readChangeTokens(
  redis: Redis,
  pipelines: readonly TrackedPipeline[],
): Promise<Map<string, ChangeToken | undefined>> {
  const tokens = new Map<string, ChangeToken | undefined>();
  if (pipelines.length === 0) return tokens;
  const batch = redis.pipeline();
  batch.time();
  for (const { namespace, pipeline, windows } of pipelines) {
    const prefix = redisPrefix(namespace, pipeline);
    batch.hgetall(watermarksKey(prefix));
    batch.call("PEXPIRETIME", watermarksKey(prefix));
    for (const window of windows) batch.call("PEXPIRETIME", liveWindowIndexKey(prefix, window));
  }
  let replies: [Error | null, unknown][];
  try {
    replies = (await batch.exec()) ?? [];
  } catch {
    replies = [];
  }
  const [timeError, time] = replies[0] ?? [new Error("no reply"), undefined];
  const [seconds, micros] = Array.isArray(time) ? time.map(Number) : [];
  const redisNowMs = Math.floor((seconds ?? Number.NaN) * 1000 + (micros ?? Number.NaN) / 1000);
  let at = 1;
  for (const { namespace, pipeline, windows, ttlMs } of pipelines) {
    const mine = replies.slice(at, at + 2 + windows.length);
    at += 2 + windows.length;
    const ok =
      timeError === null &&
      Number.isFinite(redisNowMs) &&
      mine.length === 2 + windows.length &&
      mine.every(([error]) => error === null);
    if (!ok) {
      tokens.set(pipelineKey(namespace, pipeline), undefined);
      continue;
    }
    const expiries = mine.slice(1).map(([, v]) => Number(v));
    tokens.set(pipelineKey(namespace, pipeline), {
      token: changeToken(mine[0]?.[1] as Record<string, string>, expiries),
      settled: tokenSettled(expiries, ttlMs, redisNowMs),
    });
  }
  return tokens;
}
