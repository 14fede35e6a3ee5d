/**
 * The gateway's part of an AlertRule's status (pure): the evaluation summary and the last
 * notification per channel, whether it is worth a write, and the Event of a rule transition. The
 * operator owns `observedGeneration` and `conditions`; the gateway writes only these fields, under
 * its own server-side-apply field manager.
 */
import type { AlertRuleStatus, AlertState } from "../../api/v1alpha1/alert-rule.js";
import { canonicalJson } from "../cache/cache-key.js";
import { type RuleState, ruleSummary } from "./alert-state.js";
import type { ChannelOutcome } from "./notify-outcomes.js";

export const gatewayStatusFields = [
  "state",
  "since",
  "lastValue",
  "lastEvaluation",
  "series",
  "notifications",
] as const;

export type GatewayStatus = Pick<AlertRuleStatus, (typeof gatewayStatusFields)[number]>;

/** While nothing else changes, `lastEvaluation` and the values are refreshed this often, not every evaluation. */
export const statusRefreshMs = 60_000;

export function gatewayStatus(
  state: RuleState,
  previous: AlertRuleStatus | undefined,
  outcomes: readonly ChannelOutcome[],
): GatewayStatus {
  const summary = ruleSummary(state, previous);
  return outcomes.length === 0
    ? summary
    : { ...summary, notifications: outcomes.map((o) => ({ ...o, message: o.message.slice(0, 1024) })) };
}

/** The status without what moves on every evaluation: the instant and the values. */
function settledPart(status: GatewayStatus | undefined): unknown {
  return {
    state: status?.state,
    since: status?.since,
    series: (status?.series ?? []).map(({ value: _value, ...s }) => s),
    notifications: (status?.notifications ?? []).map(({ lastAttempt: _at, ...n }) => n),
  };
}

/**
 * Whether to write `next` over `stored`: when a state, a series or a channel's outcome changed, or
 * the stored evaluation is older than `statusRefreshMs` (a value moving alone does not cost one API
 * write per rule per interval).
 */
export function statusWriteDue(
  stored: AlertRuleStatus | undefined,
  next: GatewayStatus,
  nowMs: number,
): boolean {
  if (canonicalJson(settledPart(stored)) !== canonicalJson(settledPart(next))) return true;
  const last = stored?.lastEvaluation === undefined ? Number.NaN : Date.parse(stored.lastEvaluation);
  return Number.isNaN(last) || nowMs - last >= statusRefreshMs;
}

export interface RuleEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly note: string;
}

const warningStates: ReadonlySet<AlertState> = new Set<AlertState>(["Firing", "NoData", "Error"]);

/** The Event of a change of the rule's overall state, or undefined when it holds. */
export function transitionEvent(from: AlertState | undefined, next: GatewayStatus): RuleEvent | undefined {
  const to = next.state ?? "Ok";
  if ((from ?? "Ok") === to) return undefined;
  const series = next.series ?? [];
  const inState = series.filter((s) => s.state === to).length;
  const value = next.lastValue === undefined ? "" : `; worst value ${next.lastValue}`;
  // Pending on no data or an error says so: a new rule waiting for its source is not about to breach.
  const on = to === "Pending" ? series.find((s) => s.state === "Pending")?.pendingOn : undefined;
  const waiting = on === undefined || on === "Firing" ? "" : ` on ${on}`;
  return {
    type: warningStates.has(to) ? "Warning" : "Normal",
    reason: `Alert${to}`,
    note: `${from ?? "Ok"} → ${to}: ${inState} of ${series.length} series ${to}${waiting}${value}`,
  };
}

/** An Event per channel that has just started failing (its first failure since a success, or ever). */
export function channelFailureEvents(
  outcomes: readonly ChannelOutcome[],
  before: readonly ChannelOutcome[],
): RuleEvent[] {
  const seen = new Set(before.map((b) => `${b.channel}@${b.lastAttempt}`));
  return outcomes
    .filter((o) => !o.ok && o.consecutiveFailures === 1 && !seen.has(`${o.channel}@${o.lastAttempt}`))
    .map((o) => ({
      type: "Warning",
      reason: "NotificationFailed",
      note: `channel ${o.channel}: ${o.message}`,
    }));
}
