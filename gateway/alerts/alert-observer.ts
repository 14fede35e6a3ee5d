/**
 * What the alert evaluator reports as it works (its metrics: gateway/metrics.ts; the bench's figures):
 * an interface, so the evaluator needs no metrics library and a test or bench can watch it.
 */

/** How an evaluation ended: the query's answer, or `failed` when the evaluation itself could not finish. */
export type EvaluationOutcome = "values" | "noData" | "error" | "failed";

/** What started an evaluation: its interval's slot, or a change of the live window it watches. */
export type EvaluationTrigger = "interval" | "window";

export interface AlertObserver {
  /** `lagMs`: how late it started after its slot (or after the change was seen), queueing included. */
  evaluated(outcome: EvaluationOutcome, trigger: EvaluationTrigger, seconds: number, lagMs: number): void;
  notified(channelType: "alertmanager" | "webhook", outcome: "sent" | "failed"): void;
  /** How many shards and rules this replica holds and evaluates now. */
  owned(shards: number, rules: number): void;
}

export const ignoreAlertObservations: AlertObserver = {
  evaluated: () => undefined,
  notified: () => undefined,
  owned: () => undefined,
};
