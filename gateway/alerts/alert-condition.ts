/**
 * Whether one series breaches an AlertRule's condition (pure). A threshold compares the value; a
 * change compares the difference from the value `over` ago (which the caller queries), absolute or in
 * percent of that earlier value. A comparison that cannot be made is `undetermined`, never a guess:
 * the state machine treats it like a series absent from the evaluation.
 */
import type { AlertRuleSpec } from "../../api/v1alpha1/alert-rule.js";

export type AlertCondition = AlertRuleSpec["condition"];
type Comparison = AlertCondition["operator"];

export type ConditionResult =
  /** `observed` is what was compared with the threshold: the value, or the change. */
  | { readonly kind: "breaching"; readonly observed: number }
  | { readonly kind: "clear"; readonly observed: number }
  | { readonly kind: "undetermined"; readonly reason: string };

const compare: Readonly<Record<Comparison, (observed: number, threshold: number) => boolean>> = {
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
};

function judged(condition: AlertCondition, observed: number): ConditionResult {
  return compare[condition.operator](observed, condition.value)
    ? { kind: "breaching", observed }
    : { kind: "clear", observed };
}

/**
 * `current` is the series' value now; `previous` its value `over` ago (change conditions only).
 */
export function evaluateCondition(
  condition: AlertCondition,
  current: number,
  previous?: number,
): ConditionResult {
  if (!Number.isFinite(current)) return { kind: "undetermined", reason: `the value is ${current}` };
  if (condition.type === "threshold") return judged(condition, current);
  if (previous === undefined) {
    return { kind: "undetermined", reason: `no value ${condition.over} ago to measure the change from` };
  }
  if (!Number.isFinite(previous)) {
    return { kind: "undetermined", reason: `the value ${condition.over} ago is ${previous}` };
  }
  if (condition.relative !== true) return judged(condition, current - previous);
  // A change relative to zero has no finite percentage; a status cannot hold Infinity either.
  if (previous === 0) {
    return {
      kind: "undetermined",
      reason: `a relative change from 0 (${condition.over} ago) has no percentage`,
    };
  }
  // Relative to the magnitude, so a fall from -10 to -20 is -100% as a fall from 10 to 0 is.
  return judged(condition, ((current - previous) / Math.abs(previous)) * 100);
}
