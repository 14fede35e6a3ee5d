/**
 * Live window results in Redis: the layout the runtime writes (runtime/sinks/redis-sink.ts, the one writer)
 * and the gateway and the tests read (`readLiveWindows`, the one reader).
 *
 * Key layout (P = `tally:{<namespace>/<pipeline>}`; the braces are a Redis Cluster hash tag, so all of
 * a pipeline's keys share a slot and one script may touch several of them):
 *
 *   P:w:<window>:<windowStartMs>:<groupKeyJson>   HASH  one window instance of one group key
 *       field `<topic>:<partition>` → `<version>|<json>`, the partition's latest share, where json is
 *       {"end":<windowEndMs>,"states":{<aggregation>:<serialized state>},"results":{...}} or
 *       {"end":<windowEndMs>,"retracted":true} for a session absorbed into another
 *   P:i:<window>                                   ZSET  member `<windowStartMs>:<groupKeyJson>`,
 *       score = windowStartMs: which window instances exist, for range reads
 *   P:wm                                           HASH  field `<topic>:<partition>` → the partition's
 *       watermark (epoch ms): a window is complete once every partition's watermark passed its end;
 *       written (and PEXPIREd) with every durable batch, alone when the batch fired no window, so its
 *       expiry moves on each batch: the gateway's live stream reads that as "new rows in ClickHouse"
 *
 * Every write is a compare-and-set on version (the Kafka offset that produced the share, see
 * window-table-ddl.ts): a replayed or reordered write of an older version changes nothing, so writes
 * are idempotent and may be retried freely. Every key written gets PEXPIRE ttl.
 */
import type { Redis } from "ioredis";
import type { GroupValue, WindowResult, WindowUpsert } from "../windows/window-results.js";

/** P: every key of one pipeline starts with it. */
export function redisPrefix(namespace: string, pipeline: string): string {
  return `tally:{${namespace}/${pipeline}}`;
}

/** `<windowStartMs>:<groupKeyJson>`: one window instance of one group key, the index's member. */
export function liveWindowMember(result: Pick<WindowResult, "windowStart" | "groupKey">): string {
  return `${result.windowStart}:${JSON.stringify(result.groupKey)}`;
}

export function liveWindowKey(prefix: string, window: string, member: string): string {
  return `${prefix}:w:${window}:${member}`;
}

export function liveWindowIndexKey(prefix: string, window: string): string {
  return `${prefix}:i:${window}`;
}

export function watermarksKey(prefix: string): string {
  return `${prefix}:wm`;
}

/** The hash field of one source partition's share (and of its watermark). */
export function shareField(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** The JSON after `<version>|` in a share. */
export function encodeShareBody(result: WindowResult): string {
  return result.kind === "retract"
    ? JSON.stringify({ end: result.windowEnd, retracted: true })
    : JSON.stringify({ end: result.windowEnd, states: result.states, results: result.results });
}

/** One share as stored (`<version>|<json>`), back as a partial; undefined for a retracted session. */
export function decodeShare(window: string, member: string, value: string): WindowUpsert | undefined {
  const sep = member.indexOf(":");
  const bar = value.indexOf("|");
  const body = JSON.parse(value.slice(bar + 1)) as {
    end: number;
    retracted?: boolean;
    states?: Record<string, string>;
    results?: Record<string, number | null>;
  };
  if (body.retracted === true || body.states === undefined || body.results === undefined) return undefined;
  return {
    kind: "upsert",
    windowName: window,
    windowStart: Number(member.slice(0, sep)),
    windowEnd: body.end,
    groupKey: JSON.parse(member.slice(sep + 1)) as GroupValue[],
    revision: Number(value.slice(0, bar)),
    states: body.states,
    results: body.results,
  };
}

/**
 * Reads the live shares of `window` with window start in [fromMs, toMs) and returns the non-retracted
 * ones as partials, ready for `combinePartials` (contracts/windows/window-results.ts).
 */
export async function readLiveWindows(
  redis: Redis,
  prefix: string,
  window: string,
  fromMs: number,
  toMs: number,
): Promise<WindowUpsert[]> {
  const members = await redis.zrangebyscore(liveWindowIndexKey(prefix, window), fromMs, `(${toMs}`);
  const out: WindowUpsert[] = [];
  for (const member of members) {
    const shares = await redis.hgetall(liveWindowKey(prefix, window, member));
    for (const value of Object.values(shares)) {
      const share = decodeShare(window, member, value);
      if (share !== undefined) out.push(share);
    }
  }
  return out;
}
