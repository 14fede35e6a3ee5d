/**
 * Whether a panel is read now (pure). A live panel is read when its pipeline's change token moved (new
 * rows are in ClickHouse: see change-token.ts), once more after a read whose token was unsettled (a write
 * in the same millisecond as the token read may hide behind it), and when its resolved time range moved (a
 * relative range such as last_15m slides at each bucket boundary: the current minute, or the query's
 * granularity, see time-range.ts; rows leave the range then without any new data). A pipeline without a
 * token (no Redis sink, Redis away) is re-read on a fallback period; an interval panel on its own period;
 * a failed read is retried. How often a view may read at all is the hub's (one read per view per tick).
 */
import type { PanelRefresh } from "./panel-requests.js";

export interface PanelReadState {
  readonly readAtMs: number;
  /** The pipeline's token the last read saw (undefined: there was none). */
  readonly token: string | undefined;
  /** The resolved range of the last read, `from/to` in ms (undefined: the request has none that resolves). */
  readonly range: string | undefined;
  /** The last read's token was unsettled: read once more. */
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
  /** No write can hide behind the token (change-token.ts); false when there is none. */
  readonly settled: boolean;
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

/** The state after a read, with the token and range it was decided on. */
export function afterRead(
  input: Pick<RefreshInput, "token" | "settled" | "range" | "nowMs">,
  failed: boolean,
): PanelReadState {
  return {
    readAtMs: input.nowMs,
    token: input.token,
    range: input.range,
    recheck: input.token !== undefined && !input.settled,
    failed,
  };
}
