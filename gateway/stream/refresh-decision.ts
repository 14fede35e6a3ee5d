/**
 * Whether a panel is read this tick (pure). A live panel is read when its pipeline's change token moved
 * (new rows are in ClickHouse: see change-token.ts), once more on the tick after such a move (a write
 * landing in the same millisecond as the token read leaves the token as it was: the extra read catches
 * it), and when its resolved time range moved (a relative range such as last_15m slides at each bucket
 * boundary: the current minute, or the query's granularity, see time-range.ts; rows leave the range then
 * without any new data). A pipeline without a token (no Redis sink, Redis away) is re-read on a fallback
 * period; an interval panel on its own period; a failed read is retried on the next tick.
 */
import type { PanelRefresh } from "./panel-requests.js";

export interface PanelReadState {
  readonly readAtMs: number;
  /** The pipeline's token the last read saw (undefined: there was none). */
  readonly token: string | undefined;
  /** The resolved range of the last read, `from/to` in ms (undefined: the request has none that resolves). */
  readonly range: string | undefined;
  /** The last read followed a token move: read once more. */
  readonly recheck: boolean;
  readonly failed: boolean;
}

export type RefreshReason = "first" | "changed" | "recheck" | "slid" | "interval" | "untracked" | "retry";

export type RefreshDecision =
  | { readonly read: true; readonly reason: RefreshReason }
  | { readonly read: false };

export interface RefreshInput {
  readonly last: PanelReadState | undefined;
  readonly refresh: PanelRefresh;
  /** The pipeline's token now; undefined when it cannot be had (no Redis sink, Redis away, no pipeline). */
  readonly token: string | undefined;
  readonly range: string | undefined;
  readonly nowMs: number;
  /** How often a panel without a token is re-read. */
  readonly untrackedEveryMs: number;
}

export function decideRefresh(input: RefreshInput): RefreshDecision {
  const { last, refresh, token, range, nowMs } = input;
  if (last === undefined) return { read: true, reason: "first" };
  if (last.failed) return { read: true, reason: "retry" };
  if (refresh.mode === "interval")
    return nowMs - last.readAtMs >= refresh.everyMs ? { read: true, reason: "interval" } : { read: false };
  if (range !== last.range) return { read: true, reason: "slid" };
  if (token === undefined)
    return nowMs - last.readAtMs >= input.untrackedEveryMs
      ? { read: true, reason: "untracked" }
      : { read: false };
  if (token !== last.token) return { read: true, reason: "changed" };
  if (last.recheck) return { read: true, reason: "recheck" };
  return { read: false };
}

/** The state after a read made for `reason`, with the token and range it was decided on. */
export function afterRead(
  reason: RefreshReason,
  input: Pick<RefreshInput, "token" | "range" | "nowMs">,
  failed: boolean,
): PanelReadState {
  return {
    readAtMs: input.nowMs,
    token: input.token,
    range: input.range,
    recheck: reason === "changed" || reason === "first",
    failed,
  };
}
