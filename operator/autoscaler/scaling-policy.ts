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
 *
 * `decideScale` reads as the policy: `signalGuards`, an ordered list of named guards over the signals
 * (the first that holds decides), then `size`, then the stabilization windows (`stabilize`), then
 * `moveGuards` over the resulting move. Each step returns data (a hold, a sizing, a move); the `explain*`
 * functions alone turn it into the reason text.
 */

import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
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

type DemandKind = "inputRate" | "stay" | "move";

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
  kind: DemandKind,
  hotShare: number,
): number {
  let worst = 0;
  for (const member of roundRobinAssignment(loads.length, replicas)) {
    let sum = 0;
    for (const i of member) {
      const load = loads[i];
      if (load !== undefined) sum += load.hot ? hotShare * capacity : load[kind];
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

/* ------------------------------------------------------------------------------------------------------
 * What a decision looks at
 * ---------------------------------------------------------------------------------------------------- */

/** Every partition's value of one signal and their total, or why one is missing. */
type Reading =
  | { readonly kind: "known"; readonly values: readonly number[]; readonly total: number }
  | { readonly kind: "unknown"; readonly why: string };

/** Lags and input rates, once both are known. */
interface Load {
  readonly lags: readonly number[];
  readonly inputs: readonly number[];
  readonly totalLag: number;
  readonly totalInput: number;
}

interface Context {
  readonly signals: ConsumerGroupSignals;
  readonly policy: ScalingPolicy;
  readonly tuning: PolicyTuning;
  readonly now: number;
  /** The replica count the decision starts from. */
  readonly current: number;
  /** The state the previous decision left. */
  readonly history: AutoscalerState;
  /** The history with this sample's capacity measurement folded in (the history itself without a sample). */
  readonly measured: AutoscalerState;
  readonly lag: Reading;
  readonly input: Reading;
  readonly load: Load | undefined;
  readonly partitionCount: number;
  /** The most replicas that can help: maxReplicas, and at most one per partition. */
  readonly upper: number;
  readonly lower: number;
  /** How long recommendations are remembered: the longer stabilization window. */
  readonly keepMs: number;
}

function reading(values: readonly Measured[]): Reading {
  const out: number[] = [];
  for (const v of values) {
    if (v.kind === "unknown") return { kind: "unknown", why: v.why };
    out.push(v.value);
  }
  return { kind: "known", values: out, total: out.reduce((a, b) => a + b, 0) };
}

function contextOf(
  signals: ConsumerGroupSignals,
  history: AutoscalerState,
  policy: ScalingPolicy,
  now: number,
): Context {
  const { tuning } = policy;
  const partitionLags = reading(signals.partitions.map((p) => p.lag));
  // The total is the signals' own (an unknown total names the partition); the per-partition values size.
  const lag: Reading =
    signals.totalLag.kind === "unknown"
      ? signals.totalLag
      : partitionLags.kind === "unknown"
        ? partitionLags
        : { ...partitionLags, total: signals.totalLag.value };
  const input = reading(signals.partitions.map((p) => p.inputRate));
  const partitionCount = signals.partitions.length;
  const upper = Math.min(policy.maxReplicas, partitionCount);
  return {
    signals,
    policy,
    tuning,
    now,
    current: signals.currentReplicas,
    history,
    measured:
      signals.sampledAt === undefined
        ? history
        : withCapacity(history, signals, signals.sampledAt, now, tuning.capacitySmoothing),
    lag,
    input,
    load:
      lag.kind === "known" && input.kind === "known"
        ? { lags: lag.values, inputs: input.values, totalLag: lag.total, totalInput: input.total }
        : undefined,
    partitionCount,
    upper,
    lower: Math.min(policy.minReplicas, upper),
    keepMs: Math.max(policy.scaleUpStabilizationMs, policy.scaleDownStabilizationMs),
  };
}

/* ------------------------------------------------------------------------------------------------------
 * Guards: each looks at the context and either holds, saying what it found, or lets the decision go on
 * ---------------------------------------------------------------------------------------------------- */

/** Evidence that the group is stuck: commit records unchanged for longer than they are allowed to be. */
interface Stall {
  readonly forMs: number;
  readonly samples: number;
  readonly slowestInsertMs: number | undefined;
  readonly allowedMs: number;
}

/** Why the count stays before sizing: what the guard that held found. */
type SignalHold =
  | { readonly kind: "mode-off" }
  | { readonly kind: "no-offsets" }
  | { readonly kind: "stale-offsets"; readonly ageMs: number }
  | { readonly kind: "paused" }
  | { readonly kind: "unknown"; readonly what: "lag" | "input rate"; readonly why: string }
  | { readonly kind: "asleep"; readonly lag: number; readonly activationLag: number }
  | { readonly kind: "stuck"; readonly stall: Stall; readonly lag: number }
  | { readonly kind: "sink-unmeasured"; readonly lag: number }
  | { readonly kind: "capacity-unmeasured" };

/** Why the count stays after sizing. */
type MoveHold =
  | { readonly kind: "window"; readonly move: Move; readonly window: Window; readonly bound: number }
  | { readonly kind: "unchanged"; readonly move: Move }
  | { readonly kind: "sink-pushing-back"; readonly move: Move }
  | { readonly kind: "cooldown"; readonly move: Move; readonly sinceMs: number };

type Hold = SignalHold | MoveHold;

type Guard<C, H extends Hold> = (ctx: C) => H | undefined;

function firstHold<C, H extends Hold>(guards: readonly Guard<C, H>[], ctx: C): H | undefined {
  for (const guard of guards) {
    const hold = guard(ctx);
    if (hold !== undefined) return hold;
  }
  return undefined;
}

/** The policy before sizing, in order; the first guard that holds decides. */
const signalGuards: readonly Guard<Context, SignalHold>[] = [
  modeOff,
  // Missing or stale data: hold, never scale (least of all to the minimum).
  noOffsets,
  staleOffsets,
  paused,
  lagUnknown,
  asleep,
  inputUnknown,
  stuck,
  sinkPushingBackUnmeasured,
  capacityUnmeasured,
];

function modeOff({ policy }: Context): SignalHold | undefined {
  return policy.mode === "off" ? { kind: "mode-off" } : undefined;
}

function noOffsets({ signals }: Context): SignalHold | undefined {
  return signals.sampledAt === undefined || signals.freshness.kind === "missing"
    ? { kind: "no-offsets" }
    : undefined;
}

function staleOffsets({ signals, now, tuning }: Context): SignalHold | undefined {
  if (signals.sampledAt === undefined) return undefined;
  const ageMs = now - signals.sampledAt;
  return signals.freshness.kind === "stale" || ageMs > tuning.staleAfterMs
    ? { kind: "stale-offsets", ageMs }
    : undefined;
}

function paused({ policy }: Context): SignalHold | undefined {
  return policy.paused ? { kind: "paused" } : undefined;
}

function lagUnknown({ lag }: Context): SignalHold | undefined {
  return lag.kind === "unknown" ? { kind: "unknown", what: "lag", why: lag.why } : undefined;
}

/** At zero replicas only the lag matters: stay asleep until it reaches the activation threshold. */
function asleep({ current, lower, lag, policy }: Context): SignalHold | undefined {
  const activationLag = policy.activationLag ?? 1;
  return current === 0 && lower === 0 && lag.kind === "known" && lag.total < activationLag
    ? { kind: "asleep", lag: lag.total, activationLag }
    : undefined;
}

function inputUnknown({ input }: Context): SignalHold | undefined {
  return input.kind === "unknown" ? { kind: "unknown", what: "input rate", why: input.why } : undefined;
}

/** More replicas cannot help a stuck group; judged only while there is work to do. */
function stuck({ current, load, signals, tuning }: Context): SignalHold | undefined {
  if (load === undefined || !(current > 0 && load.totalLag > 0 && load.totalInput > 0)) return undefined;
  const stall = stuckGroup(signals, tuning);
  return stall === undefined ? undefined : { kind: "stuck", stall, lag: load.totalLag };
}

function sinkPushingBackUnmeasured(ctx: Context): SignalHold | undefined {
  return ctx.load !== undefined && needsUnmeasuredCapacity(ctx) && ctx.signals.sinkPressure.length > 0
    ? { kind: "sink-unmeasured", lag: ctx.load.totalLag }
    : undefined;
}

function capacityUnmeasured(ctx: Context): SignalHold | undefined {
  return ctx.load !== undefined && needsUnmeasuredCapacity(ctx) ? { kind: "capacity-unmeasured" } : undefined;
}

/**
 * Sizing a running group needs a capacity estimate. Scaling to zero does not (nothing arrives and nothing
 * waits), nor does waking from zero (one replica, then measure).
 */
function needsUnmeasuredCapacity(ctx: Context): boolean {
  return ctx.measured.capacity === undefined && ctx.current !== 0 && !idle(ctx);
}

/** Nothing arrives and nothing waits on a pipeline that may scale to zero. */
function idle({ policy, current, load }: Context): boolean {
  return (
    policy.minReplicas === 0 &&
    current > 0 &&
    load !== undefined &&
    load.totalLag === 0 &&
    load.totalInput === 0
  );
}

/**
 * Evidence that the group is stuck, or undefined: no partition committed or started a batch across
 * several samples, for longer than several of the slowest batch inserts the partitions report take (a
 * slow batch is not a stuck group), or longer than the first-batch allowance while none has reported one.
 */
function stuckGroup(signals: ConsumerGroupSignals, tuning: PolicyTuning): Stall | undefined {
  const progress = signals.progress;
  if (progress.kind !== "stalled" || signals.consumingReplicas === 0) return undefined;
  const slowest = progress.slowestInsertMs;
  const allowedMs =
    slowest === undefined
      ? tuning.firstBatchStuckAfterMs
      : Math.max(tuning.stuckAfterMs, tuning.stuckAfterInserts * slowest);
  if (progress.samples < tuning.stuckAfterSamples || progress.forMs < allowedMs) return undefined;
  return { forMs: progress.forMs, samples: progress.samples, slowestInsertMs: slowest, allowedMs };
}

/* ------------------------------------------------------------------------------------------------------
 * Sizing: the count the signals ask for when no guard holds
 * ---------------------------------------------------------------------------------------------------- */

/** The demand against one replica's capacity: what sizing weighs and what the explanation cites. */
interface Demand {
  readonly loads: readonly PartitionLoad[];
  readonly hot: readonly PartitionLoad[];
  readonly totalLag: number;
  readonly totalInput: number;
  readonly perReplica: number;
}

/** A count sized on the measured capacity, with the demand behind it and what else its reason cites. */
type OnDemand<K extends string, Cites = unknown> = {
  readonly kind: K;
  readonly replicas: number;
  readonly demand: Demand;
} & Readonly<Cites>;

/** The count the signals ask for (the raw recommendation) and why, as data. */
type Sizing =
  | { readonly kind: "scale-to-zero"; readonly replicas: 0 }
  | { readonly kind: "wake-unmeasured"; readonly replicas: number; readonly lag: number }
  | OnDemand<"wake" | "out-of-bounds" | "catch-up" | "no-help">
  | OnDemand<"drains-first", { drainSeconds: number }>
  | OnDemand<"catch-up-to-cap" | "excess-capacity" | "steady", { busiest: number }>
  | OnDemand<"hot-partitions", { behind: boolean }>
  | OnDemand<"rebalance-cost", { wouldSuffice: number; paybackMs: number }>;

function sizingRule(sizing: Sizing): DecisionRule {
  switch (sizing.kind) {
    case "scale-to-zero":
      return DecisionRule.scaleToZero;
    case "wake-unmeasured":
    case "wake":
      return DecisionRule.wake;
    case "out-of-bounds":
    case "no-help":
      return DecisionRule.bounds;
    case "drains-first":
      return DecisionRule.drainsBeforeTakeover;
    case "catch-up":
    case "catch-up-to-cap":
      return DecisionRule.catchUp;
    case "hot-partitions":
      return DecisionRule.hotPartition;
    case "excess-capacity":
      return DecisionRule.excessCapacity;
    case "rebalance-cost":
      return DecisionRule.rebalanceCost;
    case "steady":
      return DecisionRule.steady;
  }
}

function hotNames(sizing: Sizing): readonly string[] {
  return sizing.kind === "scale-to-zero" || sizing.kind === "wake-unmeasured"
    ? []
    : sizing.demand.hot.map((l) => partitionLabel(l.key));
}

function size(ctx: Context, load: Load): Sizing {
  if (idle(ctx)) return { kind: "scale-to-zero", replicas: 0 };
  const capacity = ctx.measured.capacity;
  // Only a pipeline at zero gets here without an estimate (capacityUnmeasured holds the others).
  if (capacity === undefined) {
    return { kind: "wake-unmeasured", replicas: Math.max(1, ctx.lower), lag: load.totalLag };
  }
  const demand = demandOf(ctx, load, capacity.perReplica);
  const fit = fitting(ctx, demand);
  const { current, upper, lower, tuning } = ctx;
  if (current === 0) {
    return { kind: "wake", replicas: Math.max(1, fit.smallest(fit.target, 1, upper) ?? upper), demand };
  }
  if (current > upper || current < lower) {
    return { kind: "out-of-bounds", replicas: Math.min(upper, Math.max(lower, current)), demand };
  }
  const busiest = fit.busiest(current, "stay");
  return busiest > tuning.scaleUpUtilization
    ? sizeBehind(ctx, demand, fit, busiest)
    : sizeKeepingUp(ctx, demand, fit, busiest);
}

function demandOf(ctx: Context, load: Load, perReplica: number): Demand {
  const { policy, tuning } = ctx;
  const catchUpS = policy.targetCatchUpMs / 1000;
  const pauseS = tuning.rebalancePauseMs / 1000;
  // After a rebalance the pause is lost time: its input adds to the backlog and the catch-up has less time.
  const moveCatchUpS = Math.max(catchUpS - pauseS, catchUpS / 2);
  const loads: PartitionLoad[] = ctx.signals.partitions.map((p, i) => {
    const inputRate = load.inputs[i] ?? 0;
    const lag = load.lags[i] ?? 0;
    const stay = inputRate + lag / catchUpS;
    return {
      key: p,
      inputRate,
      lag,
      stay,
      move: inputRate + (lag + inputRate * pauseS) / moveCatchUpS,
      hot: stay > perReplica * tuning.scaleUpUtilization,
    };
  });
  const hot = loads.filter((l) => l.hot);
  return { loads, hot, totalLag: load.totalLag, totalInput: load.totalInput, perReplica };
}

interface Fitting {
  /** The busiest consumer's load at `replicas` as a fraction of one replica. */
  readonly busiest: (replicas: number, kind: DemandKind) => number;
  /**
   * Whether the busiest consumer carries the input with headroom (targetUtilization) and, at full
   * speed, also drains the backlog plus what the rebalance pause adds within the catch-up time. Headroom
   * is for the steady state; the catch-up is a transient and may use all of a replica.
   */
  readonly target: (replicas: number) => boolean;
  /** Whether the busiest consumer drains its backlog within the catch-up time, without headroom. */
  readonly drainsInTime: (replicas: number) => boolean;
  readonly smallest: (fits: (replicas: number) => boolean, from: number, to: number) => number | undefined;
}

function fitting(ctx: Context, demand: Demand): Fitting {
  const { tuning, partitionCount } = ctx;
  const busiest = (replicas: number, kind: DemandKind): number =>
    busiestLoad(demand.loads, replicas, demand.perReplica, kind, tuning.targetUtilization);
  return {
    busiest,
    target: (n) =>
      busiest(n, "inputRate") <= tuning.targetUtilization && busiest(n, "move") <= tuning.scaleUpUtilization,
    drainsInTime: (n) => busiest(n, "stay") <= tuning.scaleUpUtilization,
    smallest: (fits, from, to) => smallestFitting(fits, partitionCount, demand.hot.length > 0, from, to),
  };
}

/** The current count cannot absorb the input and drain the backlog in time. */
function sizeBehind(ctx: Context, demand: Demand, fit: Fitting, busiest: number): Sizing {
  const { current, upper } = ctx;
  const drainSeconds = drainsFirst(ctx.signals, ctx.tuning);
  if (drainSeconds !== undefined) return { kind: "drains-first", replicas: current, drainSeconds, demand };
  const sized =
    fit.smallest(fit.target, current + 1, upper) ?? fit.smallest(fit.drainsInTime, current + 1, upper);
  if (sized !== undefined) return { kind: "catch-up", replicas: sized, demand };
  // Even the most replicas allowed fall short; go there only if it actually lowers the busiest load.
  const atUpper = fit.busiest(upper, "stay");
  if (upper > current && atUpper < busiest) {
    return { kind: "catch-up-to-cap", replicas: upper, busiest: atUpper, demand };
  }
  return demand.hot.length > 0
    ? { kind: "hot-partitions", replicas: current, behind: true, demand }
    : { kind: "no-help", replicas: current, demand };
}

/** The current count keeps up. Fewer would do if the demand fits them with headroom and the saving pays for the rebalance. */
function sizeKeepingUp(ctx: Context, demand: Demand, fit: Fitting, busiest: number): Sizing {
  const { current, lower, tuning } = ctx;
  const sized = fit.smallest(fit.target, Math.max(lower, 1), current - 1);
  if (sized !== undefined && sized < current) {
    const paybackMs = (tuning.rebalancePauseMs * current) / (current - sized);
    if (paybackMs > tuning.rebalancePaybackMs) {
      return { kind: "rebalance-cost", replicas: current, wouldSuffice: sized, paybackMs, demand };
    }
    const replicas = Math.max(sized, lower);
    return { kind: "excess-capacity", replicas, busiest: fit.busiest(replicas, "inputRate"), demand };
  }
  return demand.hot.length > 0
    ? { kind: "hot-partitions", replicas: current, behind: false, demand }
    : { kind: "steady", replicas: current, busiest, demand };
}

/**
 * How long the backlog takes to drain if it is left to the current replicas, or undefined: at the rate
 * measured over the newest sample interval it drains before replicas added now could start and take
 * over, so adding them would only pause the group for a rebalance once the work is done.
 */
function drainsFirst(signals: ConsumerGroupSignals, tuning: PolicyTuning): number | undefined {
  const drain = signals.drainSeconds;
  return drain.kind === "unknown" || drain.value * 1000 > takeoverMs(tuning) ? undefined : drain.value;
}

/* ------------------------------------------------------------------------------------------------------
 * After sizing: the stabilization windows like the HPA's, then the guards that keep the count
 * ---------------------------------------------------------------------------------------------------- */

type Window = "up" | "down";

/** A sizing through the stabilization windows. */
interface Move {
  readonly sizing: Sizing;
  /** The count the windows allow now. */
  readonly target: number;
  /** The window that moved the target off the sizing's count, when the target is not the current count. */
  readonly window: Window | undefined;
  readonly up: RecommendationRange | undefined;
  readonly down: RecommendationRange | undefined;
  /** The state with the sizing's count recorded. */
  readonly recorded: AutoscalerState;
}

type RecommendationRange = ReturnType<typeof recommendationRange>;

/**
 * Records the sizing's count and applies the windows: up to the lowest recommendation within the up
 * window, down to the highest within the down window.
 */
function stabilize(ctx: Context, sizing: Sizing): Move {
  const { policy, now, current, measured } = ctx;
  // A fresh state (first decision, or one that could not be read back) starts its windows with the
  // current count, as the HPA does, so the autoscaler's first act is never a scale-down.
  const seeded =
    measured.recommendations.length === 0 ? [{ at: now, replicas: current }] : measured.recommendations;
  const recommendations = recordRecommendation(seeded, { at: now, replicas: sizing.replicas }, ctx.keepMs);
  const up = recommendationRange(recommendations, now, policy.scaleUpStabilizationMs);
  const down = recommendationRange(recommendations, now, policy.scaleDownStabilizationMs);
  let target = current;
  if (sizingRule(sizing) === DecisionRule.bounds) {
    // Out of bounds (maxReplicas lowered, partitions removed): correct at once, as the HPA clamps.
    target = sizing.replicas;
  } else {
    if (up !== undefined && target < up.min) target = up.min;
    if (down !== undefined && target > down.max) target = down.max;
  }
  const moved = target !== current && target !== sizing.replicas;
  const window = moved ? (target > current ? "up" : "down") : undefined;
  return { sizing, target, window, up, down, recorded: { ...measured, recommendations } };
}

interface MoveContext extends Context {
  readonly move: Move;
}

/** The policy after sizing, in order; the first guard that holds keeps the current count. */
const moveGuards: readonly Guard<MoveContext, MoveHold>[] = [
  heldByWindow,
  unchanged,
  sinkPushingBack,
  coolingDown,
];

/** The sizing asks for another count, but a window keeps the current one. */
function heldByWindow({ move, current }: MoveContext): MoveHold | undefined {
  if (move.target !== current) return undefined;
  const raw = move.sizing.replicas;
  if (raw > current && move.up !== undefined)
    return { kind: "window", move, window: "up", bound: move.up.min };
  if (raw < current && move.down !== undefined) {
    return { kind: "window", move, window: "down", bound: move.down.max };
  }
  return undefined;
}

function unchanged({ move, current }: MoveContext): MoveHold | undefined {
  return move.target === current ? { kind: "unchanged", move } : undefined;
}

/**
 * More consumers would only push harder on a sink that is already pushing back. Waking from zero is
 * exempt: a pipeline at zero adds no load to hold back.
 */
function sinkPushingBack({ move, current, signals }: MoveContext): MoveHold | undefined {
  return move.target > current && current > 0 && signals.sinkPressure.length > 0
    ? { kind: "sink-pushing-back", move }
    : undefined;
}

function coolingDown({ move, measured, now, policy }: MoveContext): MoveHold | undefined {
  if (measured.lastScaleAt === undefined) return undefined;
  const sinceMs = now - measured.lastScaleAt;
  return sinceMs < policy.cooldownMs ? { kind: "cooldown", move, sinceMs } : undefined;
}

/* ------------------------------------------------------------------------------------------------------
 * The decision
 * ---------------------------------------------------------------------------------------------------- */

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
  const ctx = contextOf(signals, history, policy, now);
  const signalHold = firstHold(signalGuards, ctx);
  if (signalHold !== undefined) return holdDecision(ctx, signalHold, remembered(ctx, signalHold));
  // lagUnknown and inputUnknown hold on any missing reading, so the load is known here; this tells the types.
  if (ctx.load === undefined) {
    throw new Error(
      `decideScale: no guard held although lag is ${ctx.lag.kind} and input is ${ctx.input.kind}`,
    );
  }
  const move = stabilize(ctx, size(ctx, ctx.load));
  const moveHold = firstHold(moveGuards, { ...ctx, move });
  if (moveHold !== undefined) {
    return holdDecision(ctx, moveHold, {
      state: move.recorded,
      raw: move.sizing.replicas,
      hot: hotNames(move.sizing),
    });
  }
  return moveDecision(ctx, move);
}

/** What a hold carries into the decision besides its reason: the next state, the raw recommendation, hot partitions. */
interface Memory {
  readonly state: AutoscalerState;
  readonly raw: number | undefined;
  readonly hot: readonly string[];
}

/**
 * What a hold before sizing leaves for the next decision: nothing from a sample it does not use, the
 * capacity measured otherwise, and asleep, the recommendation to stay at zero (for the down window).
 */
function remembered(ctx: Context, hold: SignalHold): Memory {
  switch (hold.kind) {
    case "mode-off":
    case "no-offsets":
    case "stale-offsets":
      return { state: ctx.history, raw: undefined, hot: [] };
    case "asleep": {
      const step = { at: ctx.now, replicas: 0 };
      const recommendations = recordRecommendation(ctx.measured.recommendations, step, ctx.keepMs);
      return { state: { ...ctx.measured, recommendations }, raw: 0, hot: [] };
    }
    default:
      return { state: ctx.measured, raw: undefined, hot: [] };
  }
}

function holdRule(hold: Hold): DecisionRule {
  switch (hold.kind) {
    case "mode-off":
      return DecisionRule.modeOff;
    case "no-offsets":
    case "unknown":
      return DecisionRule.missingSignals;
    case "stale-offsets":
      return DecisionRule.staleSignals;
    case "paused":
      return DecisionRule.paused;
    case "asleep":
      return DecisionRule.asleep;
    case "stuck":
      return DecisionRule.noProgress;
    case "sink-unmeasured":
    case "sink-pushing-back":
      return DecisionRule.sinkBackPressure;
    case "capacity-unmeasured":
      return DecisionRule.noCapacityEstimate;
    case "window":
      return DecisionRule.stabilization;
    case "unchanged":
      return sizingRule(hold.move.sizing);
    case "cooldown":
      return DecisionRule.cooldown;
  }
}

function moveRule(move: Move): DecisionRule {
  return move.window === undefined ? sizingRule(move.sizing) : DecisionRule.stabilization;
}

function holdDecision(ctx: Context, hold: Hold, memory: Memory): ScaleDecision {
  return {
    replicas: ctx.current,
    action: ScaleAction.hold,
    rule: holdRule(hold),
    reason: explainHold(ctx, hold),
    recommendation: ctx.current,
    rawRecommendation: memory.raw,
    hotPartitions: memory.hot,
    nextHistory: memory.state,
  };
}

/** Scales to the move's target, or in recommend mode only recommends it. */
function moveDecision(ctx: Context, move: Move): ScaleDecision {
  const decided = {
    rule: moveRule(move),
    recommendation: move.target,
    rawRecommendation: move.sizing.replicas,
    hotPartitions: hotNames(move.sizing),
  };
  if (ctx.policy.mode === "recommend") {
    return {
      ...decided,
      replicas: ctx.current,
      action: ScaleAction.hold,
      reason: explainRecommendation(ctx, move),
      nextHistory: move.recorded,
    };
  }
  return {
    ...decided,
    replicas: move.target,
    action: scaleAction(ctx, move),
    reason: explainScale(ctx, move),
    nextHistory: { ...move.recorded, lastScaleAt: ctx.now },
  };
}

function scaleAction(ctx: Context, move: Move): ScaleAction {
  return move.target > ctx.current ? ScaleAction.up : ScaleAction.down;
}

/* ------------------------------------------------------------------------------------------------------
 * The explanation: the human text of a decision (`status.scaleReason`, the Event), written apart from it
 * ---------------------------------------------------------------------------------------------------- */

function explainHold(ctx: Context, hold: Hold): string {
  const { current, policy, tuning, signals } = ctx;
  const holding = holdingText(ctx);
  switch (hold.kind) {
    case "mode-off":
      return `spec.scaling.mode is off: replicas follow spec.replicas (${current})`;
    case "no-offsets":
      return `no consumer-group offsets sampled yet: ${holding}`;
    case "stale-offsets":
      return `newest offset sample is ${formatDuration(hold.ageMs)} old (stale after ${formatDuration(tuning.staleAfterMs)}): ${holding}; the autoscaler never scales on missing data`;
    case "paused":
      return `paused by annotation ${pausedAnnotation}="true": ${holding}`;
    case "unknown":
      return `${hold.what} unknown (${hold.why}): ${holding}`;
    case "asleep":
      return `at zero replicas: lag ${formatCount(hold.lag)} msgs is below activationLag ${formatCount(hold.activationLag)}`;
    case "stuck":
      return `${stallText(hold.stall)} with ${formatCount(hold.lag)} msgs waiting: the group looks stuck (crash loop, poison message, broken sink connection), and more replicas cannot help a stuck group; ${holding}`;
    case "sink-unmeasured":
      return `sink pushing back (${sinkText(ctx)}): ${holding}, since more consumers would make it worse (lag ${formatCount(hold.lag)} msgs; consumer capacity is not measurable while the sink is the limit)`;
    case "capacity-unmeasured": {
      const measured = signals.capacityPerReplica;
      return `consumer capacity not measured yet (${measured.kind === "unknown" ? measured.why : "no estimate"}): ${holding} until a backlog or the busy ratio shows what a replica can do`;
    }
    case "window":
      return hold.window === "up"
        ? `${explainSizing(ctx, hold.move.sizing)}; but the lowest recommendation within the scale-up window (${formatDuration(policy.scaleUpStabilizationMs)}) is ${hold.bound}: ${holding}`
        : `${explainSizing(ctx, hold.move.sizing)}; but the highest recommendation within the scale-down window (${formatDuration(policy.scaleDownStabilizationMs)}) is ${hold.bound}: ${holding}`;
    case "unchanged":
      return explainSizing(ctx, hold.move.sizing);
    case "sink-pushing-back":
      return `sink pushing back (${sinkText(ctx)}): holding scale-up ${current} → ${hold.move.target} at ${replicasText(current)}, since more consumers would make it worse`;
    case "cooldown":
      return `would scale ${current} → ${hold.move.target} (${explainMove(ctx, hold.move)}), but the last scale was ${formatDuration(hold.sinceMs)} ago (cooldown ${formatDuration(policy.cooldownMs)})`;
  }
}

function explainRecommendation(ctx: Context, move: Move): string {
  return `recommend mode, not acting: would ${scaleAction(ctx, move)} ${ctx.current} → ${move.target}: ${explainMove(ctx, move)}`;
}

function explainScale(ctx: Context, move: Move): string {
  return `${ctx.current} → ${move.target}: ${explainMove(ctx, move)}`;
}

/** The sizing's reasons, and the window's when it moved the target off the sizing's count. */
function explainMove(ctx: Context, move: Move): string {
  const sized = explainSizing(ctx, move.sizing);
  const { policy } = ctx;
  switch (move.window) {
    case undefined:
      return sized;
    case "up":
      return `${sized}; the lowest recommendation within the scale-up window (${formatDuration(policy.scaleUpStabilizationMs)}) is ${move.target}`;
    case "down":
      return `${sized}; the highest recommendation within the scale-down window (${formatDuration(policy.scaleDownStabilizationMs)}) is ${move.target}`;
  }
}

function explainSizing(ctx: Context, sizing: Sizing): string {
  const { current, policy, tuning, upper, partitionCount } = ctx;
  const holding = holdingText(ctx);
  const catchUp = formatDuration(policy.targetCatchUpMs);
  switch (sizing.kind) {
    case "scale-to-zero":
      return `no input and no lag: scaling to zero once the last ${formatDuration(policy.scaleDownStabilizationMs)} agree`;
    case "wake-unmeasured":
      return `${wakeText(ctx, sizing.lag)}: waking to ${replicasText(sizing.replicas)}`;
    case "wake":
      return `${wakeText(ctx, sizing.demand.totalLag)}; ${demandText(sizing.demand)}: waking to ${replicasText(sizing.replicas)}${capNote(ctx, sizing.replicas)}${hotNote(ctx, sizing.demand)}`;
    case "out-of-bounds":
      return current > upper
        ? `${replicasText(current)} exceed the limit of ${upper} (maxReplicas ${policy.maxReplicas}, ${partitionCount} partitions)`
        : `${replicasText(current)} are below minReplicas ${policy.minReplicas}`;
    case "drains-first":
      return `${demandText(sizing.demand)}: ${drainText(tuning, sizing.drainSeconds)}; ${holding}`;
    case "catch-up":
      return `${demandText(sizing.demand)}: absorbing the input and draining the backlog within ${catchUp} needs ${replicasText(sizing.replicas)} (${partitionsEach(partitionCount, sizing.replicas)})${capNote(ctx, sizing.replicas)}${hotNote(ctx, sizing.demand)}`;
    case "catch-up-to-cap":
      return `${demandText(sizing.demand)}: draining within ${catchUp} needs more than ${replicasText(upper)}${capNote(ctx, upper)}; scaling to the cap, which leaves the busiest consumer ${percent(sizing.busiest)} loaded${hotNote(ctx, sizing.demand)}`;
    case "no-help":
      return `${demandText(sizing.demand)}: more replicas would not help (${upper <= current ? `already at the cap of ${upper}` : "the busiest consumer stays as loaded"}); ${holding}`;
    case "hot-partitions": {
      const { demand } = sizing;
      const one = demand.hot.length === 1;
      return sizing.behind
        ? `${demandText(demand)}${hotNote(ctx, demand)}; ${holding}`
        : `${hotLead(ctx, demand)}: ${one ? "it has a consumer to itself" : "each has a consumer to itself"} and more replicas cannot fix ${one ? "it" : "them"}; ${holding} (${demandText(demand)})`;
    }
    case "excess-capacity":
      return `${demandText(sizing.demand)}: ${replicasText(sizing.replicas)} ${sizing.replicas === 1 ? "suffices" : "suffice"} (${partitionsEach(partitionCount, sizing.replicas)}, busiest ${percent(sizing.busiest)} loaded)${hotNote(ctx, sizing.demand)}`;
    case "rebalance-cost":
      return `${replicasText(sizing.wouldSuffice)} would suffice, but a rebalance pauses all ${current} for ${formatDuration(tuning.rebalancePauseMs)} and saving ${current - sizing.wouldSuffice} would pay that back only after ${formatDuration(sizing.paybackMs)} (more than ${formatDuration(tuning.rebalancePaybackMs)}): ${holding}`;
    case "steady":
      return `${replicasText(current)} ${current === 1 ? "keeps" : "keep"} up: ${demandText(sizing.demand)}, busiest consumer ${percent(sizing.busiest)} loaded (scale up above ${percent(tuning.scaleUpUtilization)}, down when fewer fit under ${percent(tuning.targetUtilization)})`;
  }
}

function holdingText(ctx: Context): string {
  return `holding at ${replicasText(ctx.current)}`;
}

function wakeText(ctx: Context, lag: number): string {
  return `lag ${formatCount(lag)} msgs reached activationLag ${formatCount(ctx.policy.activationLag ?? 1)}`;
}

function sinkText(ctx: Context): string {
  return ctx.signals.sinkPressure.map(describeSinkPressure).join("; ");
}

function demandText(demand: Demand): string {
  return `lag ${formatCount(demand.totalLag)} msgs, input ${formatRate(demand.totalInput)}, ${formatRate(demand.perReplica)} per replica`;
}

/** The first three hot partitions' demand against one consumer's capacity, and how many more there are. */
function hotLead(ctx: Context, demand: Demand): string {
  const { hot } = demand;
  const lead = hot
    .slice(0, 3)
    .map(
      (l) =>
        `partition ${partitionLabel(l.key)} alone needs ${formatRate(l.stay)} to catch up within ${formatDuration(ctx.policy.targetCatchUpMs)} (lag ${formatCount(l.lag)}, input ${formatRate(l.inputRate)}) but one consumer processes ${formatRate(demand.perReplica)}`,
    )
    .join("; ");
  return hot.length > 3 ? `${lead} and ${hot.length - 3} more` : lead;
}

function hotNote(ctx: Context, demand: Demand): string {
  const count = demand.hot.length;
  if (count === 0) return "";
  return `; ${hotLead(ctx, demand)}: more replicas cannot fix ${count === 1 ? "it" : "them"} beyond a consumer to ${count === 1 ? "itself" : "each"}`;
}

/** Why a count at the upper limit is not higher. */
function capNote(ctx: Context, replicas: number): string {
  const { upper, partitionCount, policy } = ctx;
  if (replicas < upper) return "";
  if (upper === partitionCount && partitionCount <= policy.maxReplicas) {
    return `; the partition count caps at ${partitionCount}`;
  }
  return `; maxReplicas caps at ${policy.maxReplicas}`;
}

function stallText(stall: Stall): string {
  const evidence =
    stall.slowestInsertMs === undefined
      ? `and none has finished a batch since it was assigned (allowed ${formatDuration(stall.allowedMs)} for the first)`
      : `while their batch inserts took at most ${formatDuration(stall.slowestInsertMs)}`;
  return `no partition committed or started a batch for ${formatDuration(stall.forMs)} over ${stall.samples} samples, ${evidence},`;
}

function drainText(tuning: PolicyTuning, drainSeconds: number): string {
  if (drainSeconds === 0) {
    return "every partition's lag is 0: the window's input rate counts a burst the current replicas have already absorbed";
  }
  return `at the rate measured over the newest sample interval the backlog drains in ${formatDuration(drainSeconds * 1000)}, before replicas added now could take over (${formatDuration(takeoverMs(tuning))}: pod start ${formatDuration(tuning.podStartMs)}, rebalance ${formatDuration(tuning.rebalancePauseMs)})`;
}

function partitionsEach(partitionCount: number, replicas: number): string {
  if (replicas <= 1) return `all ${partitionCount} partitions on one`;
  const most = Math.ceil(partitionCount / replicas);
  return `${most === 1 ? "1 partition" : `at most ${most} partitions`} of ${partitionCount} each`;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
