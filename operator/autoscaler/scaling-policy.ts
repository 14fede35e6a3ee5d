/**
 * The scaling policy: from consumer-group signals, the autoscaler's remembered state and the Pipeline's
 * `spec.scaling`, how many runtime replicas a pipeline should have, and why. Pure: time is injected and
 * the next state is returned, never stored.
 *
 * In the spirit of Flink's autoscaler, it sizes on the consumers' measured capacity, not on lag alone:
 * the rate to provide is the input rate plus the backlog spread over `targetCatchUp`, and replicas are
 * added until every consumer — with partitions dealt out the way the round-robin assigner deals them —
 * carries at most `targetUtilization` of what one replica can do. Counts that leave partitions unevenly
 * spread lose to a nearby count that spreads them better because the busiest consumer, not the average,
 * decides whether the group keeps up. Around that core sit the HPA's stabilization windows, a cooldown,
 * a hysteresis band, the cost of a rebalance, partition skew, sink back-pressure, scale to zero, the
 * rule that missing data means hold, a stuck group judged on the runtime's commit records (not on a
 * quiet window: a slow batch commits nothing for a while too), and no scale-up for a backlog the current
 * replicas drain before added ones could start and take over (`podStartMs` + `rebalancePauseMs`).
 */

import { parseDuration } from "../api/v1alpha1/duration.js";
import type { PipelineSpec } from "../api/v1alpha1/pipeline.js";
import { type PartitionKey, partitionLabel, roundRobinAssignment } from "./assignment.js";
import { type AutoscalerState, recommendationRange, recordRecommendation } from "./autoscaler-state.js";
import { formatCount, formatDuration, formatRate, replicasText } from "./format.js";
import {
  type ConsumerGroupSignals,
  defaultSignalOptions,
  describeSinkPressure,
  type Measured,
} from "./signals.js";

/** The annotation that pauses the autoscaler on one Pipeline (`"true"` pauses; anything else does not). */
export const pausedAnnotation = "tally.dev/autoscaler-paused";

export const ScaleAction = { up: "scale-up", down: "scale-down", hold: "hold" } as const;
export type ScaleAction = (typeof ScaleAction)[keyof typeof ScaleAction];

/** Which rule produced a decision: stable names for tests, metrics and Event reasons. */
export const DecisionRule = {
  modeOff: "mode-off",
  paused: "paused",
  missingSignals: "missing-signals",
  staleSignals: "stale-signals",
  noCapacityEstimate: "no-capacity-estimate",
  noProgress: "no-progress",
  asleep: "asleep",
  wake: "wake",
  catchUp: "catch-up",
  excessCapacity: "excess-capacity",
  scaleToZero: "scale-to-zero",
  steady: "steady",
  bounds: "bounds",
  stabilization: "stabilization",
  cooldown: "cooldown",
  sinkBackPressure: "sink-back-pressure",
  rebalanceCost: "rebalance-cost",
  hotPartition: "hot-partition",
  drainsBeforeTakeover: "drains-before-takeover",
} as const;
export type DecisionRule = (typeof DecisionRule)[keyof typeof DecisionRule];

/** Knobs that are not in the CRD: defaults chosen for the runtime, overridable for tests and the bench. */
export interface PolicyTuning {
  /** Size so that the busiest consumer runs at most this busy (headroom for noise). */
  readonly targetUtilization: number;
  /**
   * Scale up only when the current count would run the busiest consumer above this. The band between
   * this and `targetUtilization` is the hysteresis that keeps a noisy steady load from flapping.
   */
  readonly scaleUpUtilization: number;
  /** Newest sample older than this: hold. */
  readonly staleAfterMs: number;
  /** How long a rebalance stops the whole group (join, partition handover). */
  readonly rebalancePauseMs: number;
  /**
   * How long a runtime pod added now takes before it can join the group: scheduling, image, process
   * start, the rebuild of its partitions' state. Added replicas take over only after this and a
   * rebalance pause, so a backlog the current replicas drain sooner at the measured rate is left to them.
   */
  readonly podStartMs: number;
  /**
   * A scale-down must pay back the processing a rebalance loses (pause × replicas) within this long,
   * or the saving is too small to be worth one.
   */
  readonly rebalancePaybackMs: number;
  /** Weight of a new capacity measurement against the remembered estimate (exponential smoothing). */
  readonly capacitySmoothing: number;
  /**
   * A group is stuck (more replicas cannot help) only on evidence: no partition committed or started a
   * batch across at least this many consecutive samples…
   */
  readonly stuckAfterSamples: number;
  /** …for at least this long… */
  readonly stuckAfterMs: number;
  /** …and for this many times the slowest batch insert the partitions' commits report… */
  readonly stuckAfterInserts: number;
  /**
   * …or, while no partition reports a finished batch (the first batches since they were assigned are
   * still in flight, and how long one takes is unknown), for at least this long.
   */
  readonly firstBatchStuckAfterMs: number;
}

const defaultTuning: PolicyTuning = {
  targetUtilization: 0.9,
  scaleUpUtilization: 1,
  staleAfterMs: defaultSignalOptions.staleAfterMs,
  rebalancePauseMs: 5_000,
  podStartMs: 15_000,
  rebalancePaybackMs: 120_000,
  capacitySmoothing: 0.5,
  stuckAfterSamples: 3,
  stuckAfterMs: 30_000,
  stuckAfterInserts: 3,
  firstBatchStuckAfterMs: 60_000,
};

/** How long replicas added now take to process anything: pod start, then a rebalance. */
function takeoverMs(tuning: PolicyTuning): number {
  return tuning.podStartMs + tuning.rebalancePauseMs;
}

type ScalingMode = PipelineSpec["scaling"]["mode"];

/** `spec.scaling` with durations in milliseconds, plus the pause annotation and tuning. */
export interface ScalingPolicy {
  readonly mode: ScalingMode;
  readonly paused: boolean;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly targetCatchUpMs: number;
  readonly scaleUpStabilizationMs: number;
  readonly scaleDownStabilizationMs: number;
  readonly cooldownMs: number;
  /** With `minReplicas` 0: the lag that wakes a pipeline at zero replicas. */
  readonly activationLag: number | undefined;
  readonly tuning: PolicyTuning;
}

export class ScalingSpecError extends Error {
  override readonly name = "ScalingSpecError";
}

/**
 * The policy for one Pipeline from its `spec.scaling` and annotations. Throws a ScalingSpecError naming
 * the field when the spec is inconsistent (the CRD's CEL rules should have refused it already).
 */
export function scalingPolicyFromSpec(
  scaling: PipelineSpec["scaling"],
  annotations: Readonly<Record<string, string>> | undefined,
  tuning: Partial<PolicyTuning> = {},
): ScalingPolicy {
  if (scaling.minReplicas > scaling.maxReplicas) {
    throw new ScalingSpecError(
      `spec.scaling.minReplicas (${scaling.minReplicas}) exceeds spec.scaling.maxReplicas (${scaling.maxReplicas})`,
    );
  }
  if (scaling.minReplicas === 0 && scaling.activationLag === undefined) {
    throw new ScalingSpecError(
      "spec.scaling.activationLag: scale to zero (minReplicas 0) needs an activation lag",
    );
  }
  const targetCatchUpMs = parseDuration(scaling.targetCatchUp, "spec.scaling.targetCatchUp");
  if (targetCatchUpMs <= 0) throw new ScalingSpecError("spec.scaling.targetCatchUp must be longer than 0s");
  return {
    mode: scaling.mode,
    paused: annotations?.[pausedAnnotation] === "true",
    minReplicas: scaling.minReplicas,
    maxReplicas: scaling.maxReplicas,
    targetCatchUpMs,
    scaleUpStabilizationMs: parseDuration(scaling.scaleUpStabilization, "spec.scaling.scaleUpStabilization"),
    scaleDownStabilizationMs: parseDuration(
      scaling.scaleDownStabilization,
      "spec.scaling.scaleDownStabilization",
    ),
    cooldownMs: parseDuration(scaling.cooldown, "spec.scaling.cooldown"),
    activationLag: scaling.activationLag,
    tuning: { ...defaultTuning, ...tuning },
  };
}

export interface ScaleDecision {
  /** The replica count to set on the Pipeline's scale subresource (the current count unless acting). */
  readonly replicas: number;
  readonly action: ScaleAction;
  readonly rule: DecisionRule;
  /** Human-readable and specific; goes to `status.scaleReason` and the Event. */
  readonly reason: string;
  /** What auto mode sets now (after windows and guards): `status.desiredReplicas`, also in recommend mode. */
  readonly recommendation: number;
  /** What the signals alone ask for, before windows and guards; undefined when holding on missing data. */
  readonly rawRecommendation: number | undefined;
  /** Partitions whose backlog no number of replicas can drain within the catch-up target. */
  readonly hotPartitions: readonly string[];
  /** The state to store in the Pipeline's status for the next decision. */
  readonly nextHistory: AutoscalerState;
}

/** Per-partition demand: what a consumer must process per second to absorb the input and drain the backlog. */
interface PartitionLoad {
  readonly key: PartitionKey;
  readonly inputRate: number;
  readonly lag: number;
  /** Demand if replicas stay: input plus backlog over the catch-up time. */
  readonly stay: number;
  /** Demand after a rebalance: the pause adds backlog and takes time off the catch-up. */
  readonly move: number;
  /** No consumer alone can meet this partition's demand: more replicas cannot fix it. */
  readonly hot: boolean;
}

type Demand = "inputRate" | "stay" | "move";

/**
 * The busiest consumer's load as a fraction of one replica's capacity, with partitions dealt out
 * round-robin over `replicas` consumers. A hot partition (one no consumer can keep up with) takes
 * whatever its consumer has left, so it counts as `hotShare` of a consumer: the group fits only when it
 * has a consumer to itself. That is the most replicas can do for it; beyond that they do not help.
 */
function busiestLoad(
  loads: readonly PartitionLoad[],
  replicas: number,
  capacity: number,
  demand: Demand,
  hotShare: number,
): number {
  let worst = 0;
  for (const member of roundRobinAssignment(loads.length, replicas)) {
    let sum = 0;
    for (const i of member) {
      const load = loads[i];
      if (load !== undefined) sum += load.hot ? hotShare * capacity : load[demand];
    }
    worst = Math.max(worst, sum / capacity);
  }
  return worst;
}

/**
 * Whether `replicas` is the smallest count that gets the most partitions per consumer down to what it
 * is (with 12 partitions: 1, 2, 3, 4, 6, 12). Any other count costs more replicas for the same busiest
 * consumer — 5 consumers over 12 partitions still leave one with 3, as 4 do.
 */
export function spreadsEvenly(partitionCount: number, replicas: number): boolean {
  if (replicas <= 0 || replicas > partitionCount) return false;
  return replicas === Math.ceil(partitionCount / Math.ceil(partitionCount / replicas));
}

/**
 * Smallest count in [from, to] that `fits`, or undefined. Only evenly spreading counts are candidates,
 * unless a hot partition makes the exact grouping matter (which partitions share its consumer), in
 * which case every count is.
 */
function smallestFitting(
  fits: (replicas: number) => boolean,
  partitionCount: number,
  anyCount: boolean,
  from: number,
  to: number,
): number | undefined {
  for (let n = Math.max(1, from); n <= to; n++) {
    if (!anyCount && !spreadsEvenly(partitionCount, n)) continue;
    if (fits(n)) return n;
  }
  return undefined;
}

/**
 * Folds this window's capacity measurement into the remembered estimate, once per sample (the
 * controller may decide several times on the same sample; `capacity.at` is the sample it came from). A
 * window that overlaps sink back-pressure measures the sink, not the consumers, so it is skipped — and
 * since the pressure flag is instantaneous, "overlaps" means the sink pushed back within two windows.
 */
function withCapacity(
  state: AutoscalerState,
  signals: ConsumerGroupSignals,
  sampledAt: number,
  now: number,
  smoothing: number,
): AutoscalerState {
  const sinkPressureAt = signals.sinkPressure.length > 0 ? now : state.sinkPressureAt;
  const sinkRecently =
    sinkPressureAt !== undefined && now - sinkPressureAt <= 2 * Math.max(signals.windowMs, 1);
  let estimate = state.capacity;
  const fresh = estimate === undefined || sampledAt > estimate.at;
  const measured = signals.capacityPerReplica;
  if (fresh && !sinkRecently && measured.kind === "known" && measured.value > 0) {
    const perReplica =
      estimate === undefined
        ? measured.value
        : estimate.perReplica + smoothing * (measured.value - estimate.perReplica);
    estimate = { perReplica, at: sampledAt };
  }
  // What a replica did is a lower bound of what it can do.
  const observed = signals.processingRatePerReplica;
  if (
    !sinkRecently &&
    estimate !== undefined &&
    observed.kind === "known" &&
    observed.value > estimate.perReplica
  ) {
    estimate = { perReplica: observed.value, at: sampledAt };
  }
  const next: AutoscalerState = { ...state };
  if (estimate !== undefined) next.capacity = estimate;
  if (sinkPressureAt !== undefined) next.sinkPressureAt = sinkPressureAt;
  return next;
}

function partitionsEach(partitionCount: number, replicas: number): string {
  if (replicas <= 1) return `all ${partitionCount} partitions on one`;
  const most = Math.ceil(partitionCount / replicas);
  return `${most === 1 ? "1 partition" : `at most ${most} partitions`} of ${partitionCount} each`;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/**
 * Evidence that the group is stuck, as the reason's opening, or undefined: no partition committed or
 * started a batch across several samples, for longer than several of the slowest batch inserts the
 * partitions report take (a slow batch is not a stuck group), or longer than the first-batch allowance
 * while none has reported one yet.
 */
function stuckGroup(signals: ConsumerGroupSignals, tuning: PolicyTuning): string | undefined {
  const progress = signals.progress;
  if (progress.kind !== "stalled" || signals.consumingReplicas === 0) return undefined;
  const slowest = progress.slowestInsertMs;
  const allowedMs =
    slowest === undefined
      ? tuning.firstBatchStuckAfterMs
      : Math.max(tuning.stuckAfterMs, tuning.stuckAfterInserts * slowest);
  if (progress.samples < tuning.stuckAfterSamples || progress.forMs < allowedMs) return undefined;
  const evidence =
    slowest === undefined
      ? `and none has finished a batch since it was assigned (allowed ${formatDuration(allowedMs)} for the first)`
      : `while their batch inserts took at most ${formatDuration(slowest)}`;
  return `no partition committed or started a batch for ${formatDuration(progress.forMs)} over ${progress.samples} samples, ${evidence},`;
}

/**
 * Why the backlog is left to the current replicas, or undefined: at the rate measured over the newest
 * sample interval it drains before replicas added now could start and take over, so adding them would
 * only pause the group for a rebalance once the work is done.
 */
function drainsFirst(signals: ConsumerGroupSignals, tuning: PolicyTuning): string | undefined {
  const drain = signals.drainSeconds;
  const takeover = takeoverMs(tuning);
  if (drain.kind === "unknown" || drain.value * 1000 > takeover) return undefined;
  if (drain.value === 0) {
    return "every partition's lag is 0: the window's input rate counts a burst the current replicas have already absorbed";
  }
  return `at the rate measured over the newest sample interval the backlog drains in ${formatDuration(drain.value * 1000)}, before replicas added now could take over (${formatDuration(takeover)}: pod start ${formatDuration(tuning.podStartMs)}, rebalance ${formatDuration(tuning.rebalancePauseMs)})`;
}

interface Context {
  readonly signals: ConsumerGroupSignals;
  readonly policy: ScalingPolicy;
  readonly now: number;
  readonly current: number;
  readonly state: AutoscalerState;
}

function hold(
  ctx: Context,
  rule: DecisionRule,
  reason: string,
  state: AutoscalerState,
  raw: number | undefined,
  hot: readonly string[] = [],
): ScaleDecision {
  return {
    replicas: ctx.current,
    action: ScaleAction.hold,
    rule,
    reason,
    recommendation: ctx.current,
    rawRecommendation: raw,
    hotPartitions: hot,
    nextHistory: state,
  };
}

function knownValues(values: readonly Measured[]): number[] | string {
  const out: number[] = [];
  for (const v of values) {
    if (v.kind === "unknown") return v.why;
    out.push(v.value);
  }
  return out;
}

/**
 * Decides the replica count. `history` is the state from the previous decision (or the initial state);
 * the returned `nextHistory` replaces it whether or not the decision acts.
 */
export function decideScale(
  signals: ConsumerGroupSignals,
  history: AutoscalerState,
  policy: ScalingPolicy,
  now: number,
): ScaleDecision {
  const current = signals.currentReplicas;
  const ctx: Context = { signals, policy, now, current, state: history };
  const { tuning } = policy;
  const holding = `holding at ${replicasText(current)}`;

  if (policy.mode === "off") {
    return hold(
      ctx,
      DecisionRule.modeOff,
      `spec.scaling.mode is off: replicas follow spec.replicas (${current})`,
      history,
      undefined,
    );
  }

  // Missing or stale data: hold, never scale (least of all to the minimum).
  if (signals.sampledAt === undefined || signals.freshness.kind === "missing") {
    return hold(
      ctx,
      DecisionRule.missingSignals,
      `no consumer-group offsets sampled yet: ${holding}`,
      history,
      undefined,
    );
  }
  const ageMs = now - signals.sampledAt;
  if (signals.freshness.kind === "stale" || ageMs > tuning.staleAfterMs) {
    return hold(
      ctx,
      DecisionRule.staleSignals,
      `newest offset sample is ${formatDuration(ageMs)} old (stale after ${formatDuration(tuning.staleAfterMs)}): ${holding}; the autoscaler never scales on missing data`,
      history,
      undefined,
    );
  }

  const measuredState = withCapacity(history, signals, signals.sampledAt, now, tuning.capacitySmoothing);
  const capacity = measuredState.capacity;

  if (policy.paused) {
    return hold(
      ctx,
      DecisionRule.paused,
      `paused by annotation ${pausedAnnotation}="true": ${holding}`,
      measuredState,
      undefined,
    );
  }

  if (signals.totalLag.kind === "unknown") {
    return hold(
      ctx,
      DecisionRule.missingSignals,
      `lag unknown (${signals.totalLag.why}): ${holding}`,
      measuredState,
      undefined,
    );
  }
  const lags = knownValues(signals.partitions.map((p) => p.lag));
  const inputs = knownValues(signals.partitions.map((p) => p.inputRate));
  if (typeof lags === "string") {
    return hold(
      ctx,
      DecisionRule.missingSignals,
      `lag unknown (${lags}): ${holding}`,
      measuredState,
      undefined,
    );
  }
  const totalLag = signals.totalLag.value;
  const partitionCount = signals.partitions.length;
  const upper = Math.min(policy.maxReplicas, partitionCount);
  const lower = Math.min(policy.minReplicas, upper);
  const keepMs = Math.max(policy.scaleUpStabilizationMs, policy.scaleDownStabilizationMs);

  // At zero replicas only the lag matters: wake when it reaches the activation threshold.
  if (current === 0 && lower === 0) {
    const activation = policy.activationLag ?? 1;
    if (totalLag < activation) {
      const state = {
        ...measuredState,
        recommendations: recordRecommendation(
          measuredState.recommendations,
          { at: now, replicas: 0 },
          keepMs,
        ),
      };
      return hold(
        ctx,
        DecisionRule.asleep,
        `at zero replicas: lag ${formatCount(totalLag)} msgs is below activationLag ${formatCount(activation)}`,
        state,
        0,
      );
    }
  }

  if (typeof inputs === "string") {
    return hold(
      ctx,
      DecisionRule.missingSignals,
      `input rate unknown (${inputs}): ${holding}`,
      measuredState,
      undefined,
    );
  }
  const totalInput = inputs.reduce((a, b) => a + b, 0);

  const stuck = current > 0 && totalLag > 0 && totalInput > 0 ? stuckGroup(signals, tuning) : undefined;
  if (stuck !== undefined) {
    return hold(
      ctx,
      DecisionRule.noProgress,
      `${stuck} with ${formatCount(totalLag)} msgs waiting: the group looks stuck (crash loop, poison message, broken sink connection), and more replicas cannot help a stuck group; ${holding}`,
      measuredState,
      undefined,
    );
  }
  const sinkPressure = signals.sinkPressure;

  const catchUpS = policy.targetCatchUpMs / 1000;
  const pauseS = tuning.rebalancePauseMs / 1000;
  // After a rebalance the pause is lost time: its input adds to the backlog and the catch-up has less time.
  const moveCatchUpS = Math.max(catchUpS - pauseS, catchUpS / 2);

  // Scale to zero needs no capacity estimate: nothing arrives and nothing waits. The down window then
  // requires that to hold for its whole length before the last replica goes.
  if (policy.minReplicas === 0 && current > 0 && totalLag === 0 && totalInput === 0) {
    return act(ctx, measuredState, 0, keepMs, [], {
      rule: DecisionRule.scaleToZero,
      reason: `no input and no lag: scaling to zero once the last ${formatDuration(policy.scaleDownStabilizationMs)} agree`,
    });
  }

  if (capacity === undefined) {
    if (current === 0) {
      // Waking with no capacity estimate: one replica, then measure.
      return act(ctx, measuredState, Math.max(1, lower), keepMs, [], {
        rule: DecisionRule.wake,
        reason: `lag ${formatCount(totalLag)} msgs reached activationLag ${formatCount(policy.activationLag ?? 1)}: waking to ${replicasText(Math.max(1, lower))}`,
      });
    }
    if (sinkPressure.length > 0) {
      return hold(
        ctx,
        DecisionRule.sinkBackPressure,
        `sink pushing back (${sinkPressure.map(describeSinkPressure).join("; ")}): ${holding}, since more consumers would make it worse (lag ${formatCount(totalLag)} msgs; consumer capacity is not measurable while the sink is the limit)`,
        measuredState,
        undefined,
      );
    }
    return hold(
      ctx,
      DecisionRule.noCapacityEstimate,
      `consumer capacity not measured yet (${signals.capacityPerReplica.kind === "unknown" ? signals.capacityPerReplica.why : "no estimate"}): ${holding} until a backlog or the busy ratio shows what a replica can do`,
      measuredState,
      undefined,
    );
  }

  const c = capacity.perReplica;
  const loads: PartitionLoad[] = signals.partitions.map((p, i) => {
    const inputRate = inputs[i] ?? 0;
    const lag = lags[i] ?? 0;
    const stay = inputRate + lag / catchUpS;
    return {
      key: p,
      inputRate,
      lag,
      stay,
      move: inputRate + (lag + inputRate * pauseS) / moveCatchUpS,
      hot: stay > c * tuning.scaleUpUtilization,
    };
  });
  const hot = loads.filter((l) => l.hot);
  const hotNames = hot.map((l) => partitionLabel(l.key));
  const hotLead = hot
    .slice(0, 3)
    .map(
      (l) =>
        `partition ${partitionLabel(l.key)} alone needs ${formatRate(l.stay)} to catch up within ${formatDuration(policy.targetCatchUpMs)} (lag ${formatCount(l.lag)}, input ${formatRate(l.inputRate)}) but one consumer processes ${formatRate(c)}`,
    )
    .join("; ");
  const hotMore = hot.length > 3 ? ` and ${hot.length - 3} more` : "";
  const hotNote =
    hot.length === 0
      ? ""
      : `; ${hotLead}${hotMore}: more replicas cannot fix ${hot.length === 1 ? "it" : "them"} beyond a consumer to ${hot.length === 1 ? "itself" : "each"}`;

  const demandText = `lag ${formatCount(totalLag)} msgs, input ${formatRate(totalInput)}, ${formatRate(c)} per replica`;
  const capNote = (n: number): string => {
    if (n < upper) return "";
    if (upper === partitionCount && partitionCount <= policy.maxReplicas) {
      return `; the partition count caps at ${partitionCount}`;
    }
    return `; maxReplicas caps at ${policy.maxReplicas}`;
  };

  // The raw recommendation, with the reasons behind it.
  let raw: number;
  let rule: DecisionRule;
  let why: string;
  const inputLoad = (n: number) => busiestLoad(loads, n, c, "inputRate", tuning.targetUtilization);
  const stayLoad = (n: number) => busiestLoad(loads, n, c, "stay", tuning.targetUtilization);
  const moveLoad = (n: number) => busiestLoad(loads, n, c, "move", tuning.targetUtilization);
  // A count fits when its busiest consumer carries the input with headroom (targetUtilization) and,
  // at full speed, also drains the backlog plus what the rebalance pause adds within the catch-up time.
  // Headroom is for the steady state; the catch-up is a transient and may use all of a replica.
  const fitsTarget = (n: number) =>
    inputLoad(n) <= tuning.targetUtilization && moveLoad(n) <= tuning.scaleUpUtilization;
  const drainsInTime = (n: number) => stayLoad(n) <= tuning.scaleUpUtilization;
  const currentBusiest = current > 0 ? stayLoad(current) : Number.POSITIVE_INFINITY;
  const draining = drainsFirst(signals, tuning);
  const anyCount = hot.length > 0;

  if (current === 0) {
    const sized = smallestFitting(fitsTarget, partitionCount, anyCount, 1, upper) ?? upper;
    raw = Math.max(1, sized);
    rule = DecisionRule.wake;
    why = `lag ${formatCount(totalLag)} msgs reached activationLag ${formatCount(policy.activationLag ?? 1)}; ${demandText}: waking to ${replicasText(raw)}${capNote(raw)}${hotNote}`;
  } else if (current > upper || current < lower) {
    raw = Math.min(upper, Math.max(lower, current));
    rule = DecisionRule.bounds;
    why =
      current > upper
        ? `${replicasText(current)} exceed the limit of ${upper} (maxReplicas ${policy.maxReplicas}, ${partitionCount} partitions)`
        : `${replicasText(current)} are below minReplicas ${policy.minReplicas}`;
  } else if (currentBusiest > tuning.scaleUpUtilization && draining !== undefined) {
    raw = current;
    rule = DecisionRule.drainsBeforeTakeover;
    why = `${demandText}: ${draining}; ${holding}`;
  } else if (currentBusiest > tuning.scaleUpUtilization) {
    // The current count cannot absorb the input and drain the backlog in time: size for the target.
    const sized =
      smallestFitting(fitsTarget, partitionCount, anyCount, current + 1, upper) ??
      smallestFitting(drainsInTime, partitionCount, anyCount, current + 1, upper);
    if (sized !== undefined) {
      raw = sized;
      rule = DecisionRule.catchUp;
      why = `${demandText}: absorbing the input and draining the backlog within ${formatDuration(policy.targetCatchUpMs)} needs ${replicasText(sized)} (${partitionsEach(partitionCount, sized)})${capNote(sized)}${hotNote}`;
    } else {
      // Even the most replicas allowed fall short; go there only if it actually lowers the busiest load.
      const atUpper = stayLoad(upper);
      if (upper > current && atUpper < currentBusiest) {
        raw = upper;
        rule = DecisionRule.catchUp;
        why = `${demandText}: draining within ${formatDuration(policy.targetCatchUpMs)} needs more than ${replicasText(upper)}${capNote(upper)}; scaling to the cap, which leaves the busiest consumer ${percent(atUpper)} loaded${hotNote}`;
      } else {
        raw = current;
        rule = hot.length > 0 ? DecisionRule.hotPartition : DecisionRule.bounds;
        why =
          hot.length > 0
            ? `${demandText}${hotNote}; ${holding}`
            : `${demandText}: more replicas would not help (${upper <= current ? `already at the cap of ${upper}` : "the busiest consumer stays as loaded"}); ${holding}`;
      }
    }
  } else {
    // The current count keeps up. Fewer would do if the demand fits them with headroom, and the saving
    // pays for the rebalance.
    const sized = smallestFitting(fitsTarget, partitionCount, anyCount, Math.max(lower, 1), current - 1);
    if (sized !== undefined && sized < current) {
      const paybackMs = (tuning.rebalancePauseMs * current) / (current - sized);
      if (paybackMs <= tuning.rebalancePaybackMs) {
        raw = Math.max(sized, lower);
        rule = DecisionRule.excessCapacity;
        why = `${demandText}: ${replicasText(raw)} ${raw === 1 ? "suffices" : "suffice"} (${partitionsEach(partitionCount, raw)}, busiest ${percent(inputLoad(raw))} loaded)${hotNote}`;
      } else {
        raw = current;
        rule = DecisionRule.rebalanceCost;
        why = `${replicasText(sized)} would suffice, but a rebalance pauses all ${current} for ${formatDuration(tuning.rebalancePauseMs)} and saving ${current - sized} would pay that back only after ${formatDuration(paybackMs)} (more than ${formatDuration(tuning.rebalancePaybackMs)}): ${holding}`;
      }
    } else {
      raw = current;
      if (hot.length > 0) {
        rule = DecisionRule.hotPartition;
        why = `${hotLead}${hotMore}: ${hot.length === 1 ? "it has a consumer to itself" : "each has a consumer to itself"} and more replicas cannot fix ${hot.length === 1 ? "it" : "them"}; ${holding} (${demandText})`;
      } else {
        rule = DecisionRule.steady;
        why = `${replicasText(current)} ${current === 1 ? "keeps" : "keep"} up: ${demandText}, busiest consumer ${percent(currentBusiest)} loaded (scale up above ${percent(tuning.scaleUpUtilization)}, down when fewer fit under ${percent(tuning.targetUtilization)})`;
      }
    }
  }

  return act(ctx, measuredState, raw, keepMs, hotNames, { rule, reason: why });
}

/**
 * Records the raw recommendation, applies the stabilization windows like the HPA (up to the lowest
 * recommendation within the up window, down to the highest within the down window), then the guards
 * (sink back-pressure, cooldown) and the mode.
 */
function act(
  ctx: Context,
  state: AutoscalerState,
  raw: number,
  keepMs: number,
  hotNames: readonly string[],
  why: { readonly rule: DecisionRule; readonly reason: string },
): ScaleDecision {
  const { policy, now, current, signals } = ctx;
  // A fresh state (first decision, or one that could not be read back) starts its windows with the
  // current count, as the HPA does, so the autoscaler's first act is never a scale-down.
  const seeded =
    state.recommendations.length === 0 ? [{ at: now, replicas: current }] : state.recommendations;
  const recommendations = recordRecommendation(seeded, { at: now, replicas: raw }, keepMs);
  const recorded: AutoscalerState = { ...state, recommendations };
  const up = recommendationRange(recommendations, now, policy.scaleUpStabilizationMs);
  const down = recommendationRange(recommendations, now, policy.scaleDownStabilizationMs);
  let target = current;
  if (why.rule === DecisionRule.bounds) {
    // Out of bounds (maxReplicas lowered, partitions removed): correct at once, as the HPA clamps.
    target = raw;
  } else {
    if (up !== undefined && target < up.min) target = up.min;
    if (down !== undefined && target > down.max) target = down.max;
  }

  if (target === current) {
    if (raw > current && up !== undefined) {
      return hold(
        ctx,
        DecisionRule.stabilization,
        `${why.reason}; but the lowest recommendation within the scale-up window (${formatDuration(policy.scaleUpStabilizationMs)}) is ${up.min}: holding at ${replicasText(current)}`,
        recorded,
        raw,
        hotNames,
      );
    }
    if (raw < current && down !== undefined) {
      return hold(
        ctx,
        DecisionRule.stabilization,
        `${why.reason}; but the highest recommendation within the scale-down window (${formatDuration(policy.scaleDownStabilizationMs)}) is ${down.max}: holding at ${replicasText(current)}`,
        recorded,
        raw,
        hotNames,
      );
    }
    return hold(ctx, why.rule, why.reason, recorded, raw, hotNames);
  }

  const scalingUp = target > current;
  let rule = why.rule;
  let reason = why.reason;
  if (!scalingUp && raw !== target) {
    rule = DecisionRule.stabilization;
    reason = `${why.reason}; the highest recommendation within the scale-down window (${formatDuration(policy.scaleDownStabilizationMs)}) is ${target}`;
  }
  if (scalingUp && raw !== target) {
    rule = DecisionRule.stabilization;
    reason = `${why.reason}; the lowest recommendation within the scale-up window (${formatDuration(policy.scaleUpStabilizationMs)}) is ${target}`;
  }

  // More consumers would only push harder on a sink that is already pushing back. Waking from zero is
  // exempt: a pipeline at zero adds no load to hold back.
  if (scalingUp && current > 0 && signals.sinkPressure.length > 0) {
    return hold(
      ctx,
      DecisionRule.sinkBackPressure,
      `sink pushing back (${signals.sinkPressure.map(describeSinkPressure).join("; ")}): holding scale-up ${current} → ${target} at ${replicasText(current)}, since more consumers would make it worse`,
      recorded,
      raw,
      hotNames,
    );
  }

  if (state.lastScaleAt !== undefined && now - state.lastScaleAt < policy.cooldownMs) {
    const since = now - state.lastScaleAt;
    return hold(
      ctx,
      DecisionRule.cooldown,
      `would scale ${current} → ${target} (${reason}), but the last scale was ${formatDuration(since)} ago (cooldown ${formatDuration(policy.cooldownMs)})`,
      recorded,
      raw,
      hotNames,
    );
  }

  const action = scalingUp ? ScaleAction.up : ScaleAction.down;
  if (policy.mode === "recommend") {
    return {
      replicas: current,
      action: ScaleAction.hold,
      rule,
      reason: `recommend mode, not acting: would ${action} ${current} → ${target}: ${reason}`,
      recommendation: target,
      rawRecommendation: raw,
      hotPartitions: hotNames,
      nextHistory: recorded,
    };
  }
  return {
    replicas: target,
    action,
    rule,
    reason: `${current} → ${target}: ${reason}`,
    recommendation: target,
    rawRecommendation: raw,
    hotPartitions: hotNames,
    nextHistory: { ...recorded, lastScaleAt: now },
  };
}
