/**
 * The autoscaler's part of a Pipeline's status, and the Event worth recording, from one round of the
 * loop (pure). The autoscaler writes these fields under its own field manager; the pipeline controller
 * writes the rest (pipeline-status.ts), so neither overwrites the other.
 *
 * The `Scaling` condition says whether the autoscaler is in control: True while it decides on fresh
 * signals (its reason says what it decided), False when it cannot or must not act (no signals, an HPA
 * owns the scale subresource, mode off, paused, an inconsistent spec) with the reason why.
 */
import type { PipelineStatus } from "../api/v1alpha1/pipeline.js";
import {
  type Condition,
  type DesiredCondition,
  findCondition,
  reasons,
  setConditions,
} from "../core/conditions.js";
import { type AutoscalerState, encodeAutoscalerState } from "./autoscaler-state.js";
import { DecisionRule, ScaleAction, type ScaleDecision } from "./scaling-policy.js";
import type { ConsumerGroupSignals } from "./signals.js";

/** The status fields the autoscaler owns. */
export const autoscalerStatusFields = [
  "desiredReplicas",
  "lag",
  "lagSeconds",
  "processingRate",
  "lastScaleTime",
  "scaleReason",
  "autoscaler",
  "conditions",
] as const satisfies readonly (keyof PipelineStatus)[];

export type AutoscalerStatus = Pick<PipelineStatus, (typeof autoscalerStatusFields)[number]>;

export type AutoscalerRound =
  /** spec.scaling cannot be turned into a policy. */
  | { readonly kind: "invalid"; readonly message: string }
  /** A HorizontalPodAutoscaler targets the Pipeline: it owns replicas; we only report. */
  | { readonly kind: "standDown"; readonly hpa: string; readonly signals: ConsumerGroupSignals }
  | {
      readonly kind: "decided";
      readonly signals: ConsumerGroupSignals;
      readonly decision: ScaleDecision;
      /** Why the newest sample could not be taken, if it could not. */
      readonly sampleError: string | undefined;
    };

export interface AutoscalerEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly note: string;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function scalingCondition(round_: AutoscalerRound): DesiredCondition {
  switch (round_.kind) {
    case "invalid":
      return { type: "Scaling", status: "False", reason: reasons.InvalidSpec, message: round_.message };
    case "standDown":
      return {
        type: "Scaling",
        status: "False",
        reason: reasons.HPAInControl,
        message: `HorizontalPodAutoscaler ${round_.hpa} targets this Pipeline's scale subresource, so it sets replicas; Tally's autoscaler stands down and only reports lag`,
      };
    case "decided": {
      const { decision } = round_;
      const message =
        round_.sampleError !== undefined &&
        (decision.rule === DecisionRule.missingSignals || decision.rule === DecisionRule.staleSignals)
          ? `offsets could not be sampled (${round_.sampleError}); ${decision.reason}`
          : decision.reason;
      return { type: "Scaling", ...conditionFor(decision), message };
    }
  }
}

function conditionFor(decision: ScaleDecision): Pick<DesiredCondition, "status" | "reason"> {
  if (decision.action === ScaleAction.up) return { status: "True", reason: reasons.ScaledUp };
  if (decision.action === ScaleAction.down) return { status: "True", reason: reasons.ScaledDown };
  switch (decision.rule) {
    case DecisionRule.modeOff:
      return { status: "False", reason: reasons.AutoscalingOff };
    case DecisionRule.paused:
      return { status: "False", reason: reasons.AutoscalerPaused };
    case DecisionRule.missingSignals:
    case DecisionRule.staleSignals:
      return { status: "False", reason: reasons.SignalsMissing };
    case DecisionRule.noCapacityEstimate:
      return { status: "True", reason: reasons.MeasuringCapacity };
    case DecisionRule.noProgress:
      return { status: "True", reason: reasons.NoProgress };
    case DecisionRule.sinkBackPressure:
      return { status: "True", reason: reasons.SinkBackPressure };
    case DecisionRule.hotPartition:
      return { status: "True", reason: reasons.HotPartition };
    case DecisionRule.stabilization:
      return { status: "True", reason: reasons.Stabilizing };
    case DecisionRule.cooldown:
      return { status: "True", reason: reasons.CoolingDown };
    case DecisionRule.rebalanceCost:
      return { status: "True", reason: reasons.RebalanceNotWorthIt };
    case DecisionRule.asleep:
      return { status: "True", reason: reasons.Asleep };
    default:
      return {
        status: "True",
        reason: decision.recommendation !== decision.replicas ? reasons.Recommending : reasons.Steady,
      };
  }
}

function signalsOf(round_: AutoscalerRound): ConsumerGroupSignals | undefined {
  return round_.kind === "invalid" ? undefined : round_.signals;
}

/** The autoscaler's status fields after this round. Unknown signals are left out (shown empty), never 0. */
export function computeAutoscalerStatus(
  previous: PipelineStatus | undefined,
  generation: number,
  round_: AutoscalerRound,
  state: AutoscalerState,
  now: Date,
): AutoscalerStatus {
  const signals = signalsOf(round_);
  const condition = scalingCondition(round_);
  const status: AutoscalerStatus = {
    conditions: setConditions(
      previous?.conditions as Condition[] | undefined,
      [condition],
      generation,
      now,
    ).filter((c) => c.type === "Scaling"),
    scaleReason: condition.message,
    autoscaler: encodeAutoscalerState(state),
  };
  if (round_.kind === "decided") status.desiredReplicas = round_.decision.recommendation;
  if (signals?.totalLag.kind === "known") status.lag = Math.round(signals.totalLag.value);
  if (signals?.lagSeconds.kind === "known") status.lagSeconds = round(signals.lagSeconds.value, 1);
  if (signals?.processingRate.kind === "known")
    status.processingRate = round(signals.processingRate.value, 1);
  if (state.lastScaleAt !== undefined)
    status.lastScaleTime = new Date(state.lastScaleAt).toISOString().replace(/\.\d{3}Z$/, "Z");
  return status;
}

/** Reasons worth an Event when the autoscaler enters them (the others are routine and stay in status). */
const notable = new Set<string>([
  reasons.InvalidSpec,
  reasons.HPAInControl,
  reasons.SinkBackPressure,
  reasons.HotPartition,
  reasons.AutoscalerPaused,
]);

/**
 * The Event for this round: every scale action, every new recommendation in recommend mode, entering a
 * notable state, and losing signals after having had them. Nothing while the situation stays the same.
 */
export function autoscalerEvent(
  previous: PipelineStatus | undefined,
  next: AutoscalerStatus,
  round_: AutoscalerRound,
): AutoscalerEvent | undefined {
  const before = findCondition(previous?.conditions as Condition[] | undefined, "Scaling");
  const after = findCondition(next.conditions as Condition[] | undefined, "Scaling");
  if (after === undefined) return undefined;
  if (round_.kind === "decided" && round_.decision.action !== ScaleAction.hold)
    return { type: "Normal", reason: after.reason, note: after.message };
  if (
    round_.kind === "decided" &&
    after.reason === reasons.Recommending &&
    previous?.desiredReplicas !== next.desiredReplicas
  )
    return { type: "Normal", reason: after.reason, note: after.message };
  if (before?.reason === after.reason) return undefined;
  if (notable.has(after.reason))
    return {
      type: after.reason === reasons.AutoscalerPaused ? "Normal" : "Warning",
      reason: after.reason,
      note: after.message,
    };
  if (after.reason === reasons.SignalsMissing && before?.status === "True")
    return { type: "Warning", reason: after.reason, note: after.message };
  return undefined;
}
