/**
 * The autoscaler's part of a Pipeline's status, and the Event worth recording, from one round of the
 * loop (pure). The autoscaler writes these fields under its own field manager; the pipeline controller
 * writes the rest (pipeline-status.ts), so neither overwrites the other.
 *
 * The `Scaling` condition says whether the autoscaler is in control: True while it decides on fresh
 * signals (its reason says what it decided), False when it cannot or must not act (no signals, an HPA
 * owns the scale subresource, mode off, paused, an inconsistent spec) with the reason why.
 */
import type { PipelineStatus } from "../../api/v1alpha1/pipeline.js";
import {
  type DesiredCondition,
  findCondition,
  type Reason,
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

type AutoscalerStatus = Pick<PipelineStatus, (typeof autoscalerStatusFields)[number]>;

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

interface AutoscalerEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly note: string;
}

function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function scalingCondition(round: AutoscalerRound): DesiredCondition {
  switch (round.kind) {
    case "invalid":
      return { type: "Scaling", status: "False", reason: reasons.InvalidSpec, message: round.message };
    case "standDown":
      return {
        type: "Scaling",
        status: "False",
        reason: reasons.HPAInControl,
        message: `HorizontalPodAutoscaler ${round.hpa} targets this Pipeline's scale subresource, so it sets replicas; Tally's autoscaler stands down and only reports lag`,
      };
    case "decided": {
      const { decision } = round;
      const message =
        round.sampleError !== undefined &&
        (decision.rule === DecisionRule.missingSignals || decision.rule === DecisionRule.staleSignals)
          ? `offsets could not be sampled (${round.sampleError}); ${decision.reason}`
          : decision.reason;
      return { type: "Scaling", ...conditionFor(decision), message };
    }
  }
}

/** Decisions that mean the autoscaler is not in control of replicas (Scaling=False). */
const notInControl: Partial<Record<DecisionRule, Reason>> = {
  [DecisionRule.modeOff]: reasons.AutoscalingOff,
  [DecisionRule.paused]: reasons.AutoscalerPaused,
  [DecisionRule.missingSignals]: reasons.SignalsMissing,
  [DecisionRule.staleSignals]: reasons.SignalsMissing,
};

/** Holds with a reason of their own; any other hold is Steady, or Recommending in recommend mode. */
const holdReasons: Partial<Record<DecisionRule, Reason>> = {
  [DecisionRule.noCapacityEstimate]: reasons.MeasuringCapacity,
  [DecisionRule.noProgress]: reasons.NoProgress,
  [DecisionRule.sinkBackPressure]: reasons.SinkBackPressure,
  [DecisionRule.hotPartition]: reasons.HotPartition,
  [DecisionRule.stabilization]: reasons.Stabilizing,
  [DecisionRule.cooldown]: reasons.CoolingDown,
  [DecisionRule.rebalanceCost]: reasons.RebalanceNotWorthIt,
  [DecisionRule.drainsBeforeTakeover]: reasons.BacklogDraining,
  [DecisionRule.asleep]: reasons.Asleep,
};

function conditionFor(decision: ScaleDecision): Pick<DesiredCondition, "status" | "reason"> {
  if (decision.action === ScaleAction.up) return { status: "True", reason: reasons.ScaledUp };
  if (decision.action === ScaleAction.down) return { status: "True", reason: reasons.ScaledDown };
  const stopped = notInControl[decision.rule];
  if (stopped !== undefined) return { status: "False", reason: stopped };
  const recommending = decision.recommendation !== decision.replicas;
  return {
    status: "True",
    reason: holdReasons[decision.rule] ?? (recommending ? reasons.Recommending : reasons.Steady),
  };
}

function signalsOf(round: AutoscalerRound): ConsumerGroupSignals | undefined {
  return round.kind === "invalid" ? undefined : round.signals;
}

/** The autoscaler's status fields after this round. Unknown signals are left out (shown empty), never 0. */
export function computeAutoscalerStatus(
  previous: PipelineStatus | undefined,
  generation: number,
  round: AutoscalerRound,
  state: AutoscalerState,
  now: Date,
): AutoscalerStatus {
  const signals = signalsOf(round);
  const condition = scalingCondition(round);
  const status: AutoscalerStatus = {
    conditions: setConditions(previous?.conditions, [condition], generation, now).filter(
      (c) => c.type === "Scaling",
    ),
    scaleReason: condition.message,
    autoscaler: encodeAutoscalerState(state),
  };
  if (round.kind === "decided") status.desiredReplicas = round.decision.recommendation;
  if (signals?.totalLag.kind === "known") status.lag = Math.round(signals.totalLag.value);
  if (signals?.lagSeconds.kind === "known") status.lagSeconds = roundTo(signals.lagSeconds.value, 1);
  if (signals?.processingRate.kind === "known")
    status.processingRate = roundTo(signals.processingRate.value, 1);
  if (state.lastScaleAt !== undefined)
    status.lastScaleTime = new Date(state.lastScaleAt).toISOString().replace(/\.\d{3}Z$/, "Z");
  return status;
}

/**
 * Reasons worth an Event when the autoscaler enters them (the others are routine and stay in status).
 * NoProgress is judged on several samples of commit records, so it is worth waking someone for.
 */
const notable = new Set<string>([
  reasons.InvalidSpec,
  reasons.HPAInControl,
  reasons.NoProgress,
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
  round: AutoscalerRound,
): AutoscalerEvent | undefined {
  const before = findCondition(previous?.conditions, "Scaling");
  const after = findCondition(next.conditions, "Scaling");
  if (after === undefined) return undefined;
  if (round.kind === "decided" && round.decision.action !== ScaleAction.hold)
    return { type: "Normal", reason: after.reason, note: after.message };
  if (
    round.kind === "decided" &&
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
