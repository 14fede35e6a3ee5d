import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import {
  type LoadTrace,
  type ReplayAutoscaler,
  replay,
} from "../../test/sim/autoscaler/consumer-group-simulator.js";
import { tallyReplayAutoscaler } from "../../test/sim/autoscaler/policy-replay.js";
import { type AutoscalerState, initialAutoscalerState } from "./autoscaler-state.js";
import {
  DecisionRule,
  decideScale,
  type PolicyTuning,
  pausedAnnotation,
  ScaleAction,
  type ScaleDecision,
  ScalingSpecError,
  scalingPolicyFromSpec,
  spreadsEvenly,
} from "./scaling-policy.js";
import {
  type ConsumerGroupSignals,
  computeSignals,
  known,
  type Measured,
  type OffsetSample,
  type SinkPressure,
  unknown,
} from "./signals.js";

const now = 1_700_000_000_000;
const second = 1000;
const minute = 60 * second;

type ScalingSpec = PipelineSpec["scaling"];

const defaults: ScalingSpec = {
  mode: "auto",
  minReplicas: 1,
  maxReplicas: 12,
  targetCatchUp: "2m",
  scaleUpStabilization: "0s",
  scaleDownStabilization: "5m",
  cooldown: "30s",
};

interface Shape {
  readonly partitions?: number;
  /** Total lag spread evenly, or per partition. */
  readonly lag?: number | readonly number[];
  /** Total input (msgs/s) spread evenly, or per partition. */
  readonly input?: number | readonly number[];
  readonly current?: number;
  readonly consuming?: number;
  /** Total processing rate; defaults to the input, or what the consumers manage at 3,100/s each if less. */
  readonly processing?: number;
  /** What each consuming replica can process (for the default processing rate). */
  readonly perReplica?: number;
  /** This window's capacity measurement, if any. */
  readonly measuredCapacity?: number;
  readonly sinkPressure?: readonly SinkPressure[];
  readonly sampledAt?: number | "never";
  readonly unknownLagOn?: number;
  readonly unknownInput?: boolean;
  /** Commit records unchanged over these samples (else the group is moving). */
  readonly stalled?: { readonly forMs: number; readonly samples: number; readonly slowestInsertMs?: number };
  /** The backlog drains in this many seconds at the newest interval's rates (else it is not shrinking). */
  readonly drainSeconds?: number;
}

function spread(value: number | readonly number[] | undefined, partitions: number): number[] {
  if (Array.isArray(value)) return [...value];
  const total = typeof value === "number" ? value : 0;
  return Array.from({ length: partitions }, () => total / partitions);
}

function signalsOf(shape: Shape): ConsumerGroupSignals {
  const partitions = shape.partitions ?? 6;
  const lags = spread(shape.lag, partitions);
  const inputs = spread(shape.input, partitions);
  const current = shape.current ?? 2;
  const consuming = shape.consuming ?? current;
  const totalInput = inputs.reduce((a, b) => a + b, 0);
  const totalLag = lags.reduce((a, b) => a + b, 0);
  const processing = shape.processing ?? Math.min(totalInput, consuming * (shape.perReplica ?? 3_100));
  const sampledAt = shape.sampledAt === "never" ? undefined : (shape.sampledAt ?? now);
  const lagOf = (i: number): Measured =>
    shape.unknownLagOn === i ? unknown("end offset not reported") : known(lags[i] ?? 0);
  return {
    sampledAt,
    freshness: sampledAt === undefined ? { kind: "missing" } : { kind: "fresh", ageMs: now - sampledAt },
    windowMs: 15_000,
    partitions: lags.map((_, i) => ({
      topic: "orders",
      partition: i,
      lag: lagOf(i),
      inputRate: shape.unknownInput ? unknown("need two offset samples") : known(inputs[i] ?? 0),
      processingRate: known(processing / partitions),
    })),
    totalLag:
      shape.unknownLagOn === undefined
        ? known(totalLag)
        : unknown(`lag unknown for orders-${shape.unknownLagOn}: end offset not reported`),
    inputRate: shape.unknownInput ? unknown("need two offset samples") : known(totalInput),
    processingRate: known(processing),
    processingRatePerReplica:
      consuming > 0 ? known(processing / consuming) : unknown("no replica was consuming"),
    capacityPerReplica:
      shape.measuredCapacity === undefined
        ? unknown("no consumer had a backlog")
        : known(shape.measuredCapacity),
    lagSeconds: processing > 0 ? known(totalLag / processing) : unknown("nothing processed"),
    drainSeconds:
      shape.drainSeconds === undefined ? unknown("the lag did not shrink") : known(shape.drainSeconds),
    progress:
      shape.stalled === undefined
        ? { kind: "moving" }
        : { kind: "stalled", slowestInsertMs: undefined, ...shape.stalled },
    currentReplicas: current,
    consumingReplicas: consuming,
    rebalancing: false,
    sinkPressure: shape.sinkPressure ?? [],
  };
}

function stateWith(overrides: Omit<Partial<AutoscalerState>, "capacity"> & { readonly capacity?: number }) {
  const { capacity, ...rest } = overrides;
  const state: AutoscalerState = { ...initialAutoscalerState, ...rest };
  return capacity === undefined ? state : { ...state, capacity: { perReplica: capacity, at: now - minute } };
}

interface Case {
  readonly name: string;
  readonly spec?: Partial<ScalingSpec>;
  readonly annotations?: Record<string, string>;
  readonly tuning?: Partial<PolicyTuning>;
  readonly signals: Shape;
  readonly state?: AutoscalerState;
  readonly expect: {
    readonly action: ScaleDecision["action"];
    readonly replicas: number;
    readonly rule: ScaleDecision["rule"];
    readonly recommendation?: number;
    readonly reason?: string | RegExp;
    readonly hot?: readonly string[];
  };
}

const capacity3100 = stateWith({ capacity: 3_100 });
const twoMinutesAgo = (replicas: number) => ({ at: now - 2 * minute, replicas });
const sixMinutesAgo = (replicas: number) => ({ at: now - 6 * minute, replicas });

const cases: readonly Case[] = [
  {
    name: "missing metrics: nothing sampled yet → hold",
    signals: { sampledAt: "never", current: 3 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 3,
      rule: DecisionRule.missingSignals,
      reason: "no consumer-group offsets sampled yet: holding at 3 replicas",
    },
  },
  {
    name: "stale metrics → hold, never scale to the minimum",
    signals: { sampledAt: now - 90 * second, current: 4, lag: 0, input: 0 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 4,
      rule: DecisionRule.staleSignals,
      reason:
        "newest offset sample is 1m30s old (stale after 1m): holding at 4 replicas; the autoscaler never scales on missing data",
    },
  },
  {
    name: "lag missing on one partition → hold, naming it",
    signals: { unknownLagOn: 2, lag: 10_000, input: 6_000 },
    state: capacity3100,
    expect: { action: "hold", replicas: 2, rule: DecisionRule.missingSignals, reason: /orders-2/ },
  },
  {
    name: "input rate unknown (one sample after a restart) → hold",
    signals: { unknownInput: true, lag: 480_000 },
    state: capacity3100,
    expect: { action: "hold", replicas: 2, rule: DecisionRule.missingSignals, reason: /^input rate unknown/ },
  },
  {
    name: "capacity never measured → hold until a backlog or busy time shows it",
    signals: { lag: 0, input: 1_000 },
    expect: { action: "hold", replicas: 2, rule: DecisionRule.noCapacityEstimate },
  },
  {
    name: "stuck on evidence: no commit record moved for 45s over 10 samples, inserts take 800ms → hold",
    signals: {
      lag: 50_000,
      input: 1_000,
      processing: 0,
      stalled: { forMs: 45_000, samples: 10, slowestInsertMs: 800 },
    },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.noProgress,
      reason:
        "no partition committed or started a batch for 45s over 10 samples, while their batch inserts took at most 800ms, with 50,000 msgs waiting: the group looks stuck (crash loop, poison message, broken sink connection), and more replicas cannot help a stuck group; holding at 2 replicas",
    },
  },
  {
    name: "not stuck yet: a stall shorter than 3 of the reported 12s inserts is a slow batch → sized as usual",
    signals: {
      lag: 480_000,
      input: 6_000,
      processing: 0,
      stalled: { forMs: 30_000, samples: 7, slowestInsertMs: 12_000 },
    },
    state: capacity3100,
    expect: { action: "scale-up", replicas: 6, rule: DecisionRule.catchUp },
  },
  {
    name: "not stuck yet: 40s of nothing over 2 samples is too few samples",
    signals: { lag: 50_000, input: 1_000, processing: 0, stalled: { forMs: 40_000, samples: 2 } },
    expect: { action: "hold", replicas: 2, rule: DecisionRule.noCapacityEstimate },
  },
  {
    name: "not stuck yet: the first batches in flight for 45s, none reported (first-batch allowance 1m)",
    signals: { lag: 50_000, input: 1_000, processing: 0, stalled: { forMs: 45_000, samples: 10 } },
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.noCapacityEstimate,
      reason: /^consumer capacity not measured yet/,
    },
  },
  {
    name: "stuck: the first batches in flight for 65s, none reported → hold, saying so",
    signals: { lag: 50_000, input: 1_000, processing: 0, stalled: { forMs: 65_000, samples: 14 } },
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.noProgress,
      reason:
        /^no partition committed or started a batch for 1m5s over 14 samples, and none has finished a batch since it was assigned \(allowed 1m for the first\), with 50,000 msgs waiting/,
    },
  },
  {
    name: "a backlog that drains before added replicas could take over → hold, no scale-up",
    signals: { lag: 480_000, input: 6_000, drainSeconds: 2 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.drainsBeforeTakeover,
      reason:
        "lag 480,000 msgs, input 6,000/s, 3,100/s per replica: at the rate measured over the newest sample interval the backlog drains in 2s, before replicas added now could take over (20s: pod start 15s, rebalance 5s); holding at 2 replicas",
    },
  },
  {
    name: "no lag left though the window's input rate is above capacity (a burst absorbed) → hold",
    signals: { lag: 0, input: 7_000, drainSeconds: 0 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.drainsBeforeTakeover,
      reason:
        "lag 0 msgs, input 7,000/s, 3,100/s per replica: every partition's lag is 0: the window's input rate counts a burst the current replicas have already absorbed; holding at 2 replicas",
    },
  },
  {
    name: "a backlog that drains only after added replicas would take over → scale up",
    signals: { lag: 480_000, input: 6_000, drainSeconds: 25 },
    state: capacity3100,
    expect: { action: "scale-up", replicas: 6, rule: DecisionRule.catchUp },
  },
  {
    name: "takeover time is pod start plus rebalance: slow pod starts leave a 25s drain to the current replicas",
    tuning: { podStartMs: 40_000 },
    signals: { lag: 480_000, input: 6_000, drainSeconds: 25 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.drainsBeforeTakeover,
      reason: /\(45s: pod start 40s/,
    },
  },
  {
    name: "catch-up: input plus backlog over 2m, capped at the partition count",
    signals: { lag: 480_000, input: 6_000 },
    state: capacity3100,
    expect: {
      action: "scale-up",
      replicas: 6,
      rule: DecisionRule.catchUp,
      reason:
        "2 → 6: lag 480,000 msgs, input 6,000/s, 3,100/s per replica: absorbing the input and draining the backlog within 2m needs 6 replicas (1 partition of 6 each); the partition count caps at 6",
    },
  },
  {
    name: "catch-up beyond maxReplicas → scale to the cap and say so",
    spec: { maxReplicas: 4 },
    signals: { lag: 480_000, input: 6_000 },
    state: capacity3100,
    expect: {
      action: "scale-up",
      replicas: 4,
      rule: DecisionRule.catchUp,
      reason: /needs more than 4 replicas; maxReplicas caps at 4/,
    },
  },
  {
    name: "max clamp: above maxReplicas → down at once, windows notwithstanding",
    spec: { maxReplicas: 4 },
    signals: { current: 8, lag: 0, input: 1_000 },
    state: stateWith({ capacity: 3_100, recommendations: [twoMinutesAgo(8)] }),
    expect: { action: "scale-down", replicas: 4, rule: DecisionRule.bounds },
  },
  {
    name: "min clamp: below minReplicas → up at once",
    spec: { minReplicas: 2 },
    signals: { current: 1, lag: 0, input: 100 },
    state: capacity3100,
    expect: { action: "scale-up", replicas: 2, rule: DecisionRule.bounds, reason: /below minReplicas 2/ },
  },
  {
    name: "partition cap: more replicas than partitions → down to the partition count",
    signals: { partitions: 6, current: 10, lag: 0, input: 15_000 },
    state: capacity3100,
    expect: { action: "scale-down", replicas: 6, rule: DecisionRule.bounds },
  },
  {
    name: "steady inside the hysteresis band → hold",
    signals: { partitions: 12, current: 4, lag: 0, input: 12_000 },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(4)] }),
    expect: { action: "hold", replicas: 4, rule: DecisionRule.steady, reason: /busiest consumer 97% loaded/ },
  },
  {
    name: "even spread: 12 partitions worth 4.5 replicas get 6, not 5 (5 leave a consumer with 3, like 4 do)",
    signals: { partitions: 12, current: 2, lag: 0, input: 12_000 },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(2)] }),
    expect: {
      action: "scale-up",
      replicas: 6,
      rule: DecisionRule.catchUp,
      reason: /needs 6 replicas \(at most 2 partitions of 12 each\)$/,
    },
  },
  {
    name: "even spread: 12 partitions worth 3.4 replicas get 4 (3 each)",
    signals: { partitions: 12, current: 2, lag: 0, input: 9_600 },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(2)] }),
    expect: {
      action: "scale-up",
      replicas: 4,
      rule: DecisionRule.catchUp,
      reason: /needs 4 replicas \(at most 3 partitions of 12 each\)$/,
    },
  },
  {
    name: "scale-down stabilization: a higher recommendation within 5m holds",
    signals: { current: 6, lag: 0, input: 1_200 },
    state: stateWith({ capacity: 3_100, recommendations: [twoMinutesAgo(6)] }),
    expect: {
      action: "hold",
      replicas: 6,
      rule: DecisionRule.stabilization,
      reason: /highest recommendation within the scale-down window \(5m\) is 6: holding at 6 replicas$/,
    },
  },
  {
    name: "scale-down after the window: down to what suffices",
    signals: { current: 6, lag: 0, input: 1_200 },
    state: stateWith({
      capacity: 3_100,
      recommendations: [
        { at: now - 7 * minute, replicas: 6 },
        { at: now - 5.5 * minute, replicas: 1 },
      ],
    }),
    expect: { action: "scale-down", replicas: 1, rule: DecisionRule.excessCapacity },
  },
  {
    name: "a fresh state never starts with a scale-down",
    signals: { current: 6, lag: 0, input: 1_200 },
    state: capacity3100,
    expect: { action: "hold", replicas: 6, rule: DecisionRule.stabilization },
  },
  {
    name: "scale-up stabilization: up only to the lowest recommendation within the window",
    spec: { scaleUpStabilization: "1m" },
    signals: { lag: 480_000, input: 6_000 },
    state: stateWith({
      capacity: 3_100,
      recommendations: [
        { at: now - 90 * second, replicas: 4 },
        { at: now - 40 * second, replicas: 5 },
      ],
    }),
    expect: {
      action: "scale-up",
      replicas: 4,
      rule: DecisionRule.stabilization,
      reason: /lowest recommendation within the scale-up window \(1m\) is 4$/,
    },
  },
  {
    name: "scale-up stabilization: hold while the window still remembers the current count",
    spec: { scaleUpStabilization: "1m" },
    signals: { lag: 480_000, input: 6_000 },
    state: stateWith({
      capacity: 3_100,
      recommendations: [
        { at: now - 90 * second, replicas: 2 },
        { at: now - 40 * second, replicas: 6 },
      ],
    }),
    expect: { action: "hold", replicas: 2, rule: DecisionRule.stabilization },
  },
  {
    name: "cooldown after an action",
    signals: { lag: 480_000, input: 6_000 },
    state: stateWith({ capacity: 3_100, lastScaleAt: now - 10 * second }),
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.cooldown,
      reason: /last scale was 10s ago \(cooldown 30s\)$/,
    },
  },
  {
    name: "sink back-pressure holds scale-up and says why",
    signals: {
      lag: 480_000,
      input: 6_000,
      sinkPressure: [{ kind: "too-many-parts", table: "analytics.events" }],
    },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.sinkBackPressure,
      reason:
        "sink pushing back (ClickHouse reports too many parts on analytics.events): holding scale-up 2 → 6 at 2 replicas, since more consumers would make it worse",
    },
  },
  {
    name: "sink back-pressure before any capacity was measured: the sink is the reason given",
    signals: {
      lag: 480_000,
      input: 6_000,
      sinkPressure: [{ kind: "insert-errors", sink: "clickhouse", count: 12 }],
    },
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.sinkBackPressure,
      reason:
        /^sink pushing back \(12 ClickHouse insert errors\): holding at 2 replicas, since more consumers would make it worse/,
    },
  },
  {
    name: "sink back-pressure does not hold scale-down",
    signals: {
      current: 6,
      lag: 0,
      input: 1_200,
      sinkPressure: [{ kind: "slow", sink: "redis", p99Ms: 250, limitMs: 100 }],
    },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(1)] }),
    expect: { action: "scale-down", replicas: 1, rule: DecisionRule.excessCapacity },
  },
  {
    name: "rebalance cost: a saving that does not pay back the pause is not worth a rebalance",
    tuning: { rebalancePauseMs: 60_000 },
    signals: { partitions: 12, current: 4, lag: 0, input: 3_600 },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(4)] }),
    expect: {
      action: "hold",
      replicas: 4,
      rule: DecisionRule.rebalanceCost,
      reason:
        /3 replicas would suffice, but a rebalance pauses all 4 for 1m and saving 1 would pay that back only after 4m/,
    },
  },
  {
    name: "the same load with a short pause: scale down once the window agrees",
    signals: { partitions: 12, current: 4, lag: 0, input: 3_600 },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(2)] }),
    expect: { action: "scale-down", replicas: 2, rule: DecisionRule.excessCapacity },
  },
  {
    name: "skew: a hot partition gets a consumer to itself, no more, and the reason says replicas cannot fix it",
    signals: {
      partitions: 12,
      current: 3,
      lag: [0, 0, 0, 240_000, 0, 0, 0, 0, 0, 0, 0, 0],
      input: [4_000, 4_000, 4_000, 26_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000],
      perReplica: 20_000,
    },
    state: stateWith({ capacity: 20_000 }),
    expect: {
      action: "scale-up",
      replicas: 9,
      rule: DecisionRule.catchUp,
      hot: ["orders-3"],
      reason:
        /partition orders-3 alone needs 28,000\/s to catch up within 2m \(lag 240,000, input 26,000\/s\) but one consumer processes 20,000\/s: more replicas cannot fix it beyond a consumer to itself$/,
    },
  },
  {
    name: "skew: once the hot partition has its own consumer, hold",
    signals: {
      partitions: 12,
      current: 9,
      lag: [0, 0, 0, 2_400_000, 0, 0, 0, 0, 0, 0, 0, 0],
      input: [4_000, 4_000, 4_000, 26_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000, 4_000],
      perReplica: 20_000,
    },
    state: stateWith({ capacity: 20_000, recommendations: [sixMinutesAgo(9)] }),
    expect: { action: "hold", replicas: 9, rule: DecisionRule.hotPartition, hot: ["orders-3"] },
  },
  {
    name: "scale to zero: after the down window of zero input and zero lag",
    spec: { minReplicas: 0, activationLag: 100 },
    signals: { current: 1, lag: 0, input: 0 },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(0)] }),
    expect: { action: "scale-down", replicas: 0, rule: DecisionRule.scaleToZero },
  },
  {
    name: "scale to zero needs no capacity estimate",
    spec: { minReplicas: 0, activationLag: 100 },
    signals: { current: 2, lag: 0, input: 0 },
    state: stateWith({ recommendations: [sixMinutesAgo(0)] }),
    expect: {
      action: "scale-down",
      replicas: 0,
      rule: DecisionRule.scaleToZero,
      reason: /^2 → 0: no input and no lag/,
    },
  },
  {
    name: "scale to zero waits for the window",
    spec: { minReplicas: 0, activationLag: 100 },
    signals: { current: 1, lag: 0, input: 0 },
    state: stateWith({ capacity: 3_100, recommendations: [sixMinutesAgo(1), twoMinutesAgo(0)] }),
    expect: { action: "hold", replicas: 1, rule: DecisionRule.stabilization },
  },
  {
    name: "at zero, lag below activationLag → stay asleep",
    spec: { minReplicas: 0, activationLag: 100 },
    signals: { current: 0, lag: 50, input: 1 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 0,
      rule: DecisionRule.asleep,
      reason: "at zero replicas: lag 50 msgs is below activationLag 100",
    },
  },
  {
    name: "wake-up: lag reaches activationLag → one replica when capacity is unknown",
    spec: { minReplicas: 0, activationLag: 100 },
    signals: { current: 0, lag: 150, input: 10 },
    expect: { action: "scale-up", replicas: 1, rule: DecisionRule.wake },
  },
  {
    name: "wake-up: sized from the remembered capacity, even while the sink pushes back",
    spec: { minReplicas: 0, activationLag: 100 },
    signals: {
      current: 0,
      lag: 480_000,
      input: 6_000,
      sinkPressure: [{ kind: "insert-errors", sink: "clickhouse", count: 3 }],
    },
    state: capacity3100,
    expect: { action: "scale-up", replicas: 6, rule: DecisionRule.wake, reason: /waking to 6 replicas/ },
  },
  {
    name: "recommend mode: decide and report, do not act",
    spec: { mode: "recommend" },
    signals: { lag: 480_000, input: 6_000 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.catchUp,
      recommendation: 6,
      reason: /^recommend mode, not acting: would scale-up 2 → 6: lag 480,000 msgs/,
    },
  },
  {
    name: "off mode: replicas follow spec.replicas",
    spec: { mode: "off" },
    signals: { lag: 480_000, input: 6_000 },
    state: capacity3100,
    expect: { action: "hold", replicas: 2, rule: DecisionRule.modeOff },
  },
  {
    name: "paused annotation → hold",
    annotations: { [pausedAnnotation]: "true" },
    signals: { lag: 480_000, input: 6_000 },
    state: capacity3100,
    expect: {
      action: "hold",
      replicas: 2,
      rule: DecisionRule.paused,
      reason: 'paused by annotation tally.dev/autoscaler-paused="true": holding at 2 replicas',
    },
  },
];

describe("decideScale", () => {
  it.each(cases)("$name", (c) => {
    const policy = scalingPolicyFromSpec({ ...defaults, ...c.spec }, c.annotations, c.tuning);
    const decision = decideScale(signalsOf(c.signals), c.state ?? initialAutoscalerState, policy, now);
    expect({ action: decision.action, replicas: decision.replicas, rule: decision.rule }).toEqual({
      action: c.expect.action,
      replicas: c.expect.replicas,
      rule: c.expect.rule,
    });
    expect(decision.recommendation).toBe(c.expect.recommendation ?? c.expect.replicas);
    if (typeof c.expect.reason === "string") expect(decision.reason).toBe(c.expect.reason);
    else if (c.expect.reason !== undefined) expect(decision.reason).toMatch(c.expect.reason);
    if (c.expect.hot !== undefined) expect(decision.hotPartitions).toEqual(c.expect.hot);
    if (decision.action === ScaleAction.hold)
      expect(decision.nextHistory.lastScaleAt).toBe(c.state?.lastScaleAt);
    else expect(decision.nextHistory.lastScaleAt).toBe(now);
  });

  it("leaves the state untouched when holding on missing data or with scaling off", () => {
    const policy = scalingPolicyFromSpec(defaults, undefined);
    const state = stateWith({ capacity: 3_100, recommendations: [twoMinutesAgo(4)] });
    expect(decideScale(signalsOf({ sampledAt: "never" }), state, policy, now).nextHistory).toBe(state);
    const off = scalingPolicyFromSpec({ ...defaults, mode: "off" }, undefined);
    expect(decideScale(signalsOf({ lag: 1 }), state, off, now).nextHistory).toBe(state);
  });

  it("folds capacity measurements into the remembered estimate, except right after sink back-pressure", () => {
    const policy = scalingPolicyFromSpec(defaults, undefined);
    const measured = decideScale(
      signalsOf({ lag: 0, input: 1_000, measuredCapacity: 4_000 }),
      capacity3100,
      policy,
      now,
    );
    expect(measured.nextHistory.capacity).toEqual({ perReplica: 3_550, at: now });
    // Deciding again on the same sample does not fold the same measurement in twice.
    const again = decideScale(
      signalsOf({ lag: 0, input: 1_000, measuredCapacity: 4_000 }),
      measured.nextHistory,
      policy,
      now + 5 * second,
    );
    expect(again.nextHistory.capacity).toEqual({ perReplica: 3_550, at: now });

    const afterSink = stateWith({ capacity: 3_100, sinkPressureAt: now - 15 * second });
    const skipped = decideScale(
      signalsOf({ lag: 0, input: 1_000, measuredCapacity: 1_000 }),
      afterSink,
      policy,
      now,
    );
    expect(skipped.nextHistory.capacity?.perReplica).toBe(3_100);
    expect(skipped.nextHistory.sinkPressureAt).toBe(now - 15 * second);
  });
});

describe("scaling spec", () => {
  it("parses Go durations", () => {
    expect(parseDuration("2m", "f")).toBe(120_000);
    expect(parseDuration("1h30m", "f")).toBe(5_400_000);
    expect(parseDuration("500ms", "f")).toBe(500);
    expect(parseDuration("0s", "f")).toBe(0);
    expect(() => parseDuration("2 minutes", "spec.scaling.cooldown")).toThrow(
      'spec.scaling.cooldown: "2 minutes" is not a duration like 30s, 2m or 1h30m (bad at offset 0)',
    );
  });

  it("refuses inconsistent specs with the field named", () => {
    expect(() => scalingPolicyFromSpec({ ...defaults, minReplicas: 5, maxReplicas: 4 }, undefined)).toThrow(
      ScalingSpecError,
    );
    expect(() => scalingPolicyFromSpec({ ...defaults, minReplicas: 0 }, undefined)).toThrow(/activationLag/);
    expect(() => scalingPolicyFromSpec({ ...defaults, targetCatchUp: "0s" }, undefined)).toThrow(
      /targetCatchUp/,
    );
  });

  it("is paused only by the annotation value true", () => {
    expect(scalingPolicyFromSpec(defaults, { [pausedAnnotation]: "true" }).paused).toBe(true);
    expect(scalingPolicyFromSpec(defaults, { [pausedAnnotation]: "yes" }).paused).toBe(false);
    expect(scalingPolicyFromSpec(defaults, undefined).paused).toBe(false);
  });

  it("knows which counts spread partitions evenly", () => {
    const even = (partitions: number) =>
      Array.from({ length: partitions }, (_, i) => i + 1).filter((n) => spreadsEvenly(partitions, n));
    expect(even(12)).toEqual([1, 2, 3, 4, 6, 12]);
    expect(even(10)).toEqual([1, 2, 3, 4, 5, 10]);
    expect(even(7)).toEqual([1, 2, 3, 4, 7]);
  });
});

/** A constant load with per-second noise, as the simulator replays it. */
function noisyConstantLoad(
  partitions: number,
  perPartition: number,
  noise: number,
  seed: number,
  initialReplicas: number,
  durationMs: number,
): LoadTrace {
  return {
    name: "noisy-constant",
    description: "constant rate with uniform per-second noise",
    durationMs,
    partitions,
    initialReplicas,
    at(ms) {
      const s = Math.floor(ms / 1000);
      return {
        inputRates: Array.from({ length: partitions }, (_, p) => {
          let h = (seed ^ Math.imul(s, 0x9e3779b1) ^ Math.imul(p + 1, 0x85ebca6b)) >>> 0;
          h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
          h = (h ^ (h >>> 13)) >>> 0;
          return perPartition * (1 + noise * ((h / 2 ** 32) * 2 - 1));
        }),
        sinkPressure: [],
      };
    },
  };
}

describe("no flapping", () => {
  it("a constant-rate noisy input settles within 20 minutes and never acts again in the hour", () => {
    fc.assert(
      fc.property(
        fc.record({
          partitions: fc.integer({ min: 1, max: 24 }),
          capacity: fc.integer({ min: 5_000, max: 40_000 }),
          // Total input as a fraction of what all partitions' consumers could do (below 1: no hot partition).
          load: fc.double({ min: 0.02, max: 0.85, noNaN: true }),
          noise: fc.double({ min: 0, max: 0.15, noNaN: true }),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          initialFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        ({ partitions, capacity, load, noise, seed, initialFraction }) => {
          const initialReplicas = 1 + Math.floor(initialFraction * (partitions - 1));
          const perPartition = load * capacity;
          const trace = noisyConstantLoad(
            partitions,
            perPartition,
            noise,
            seed,
            initialReplicas,
            60 * minute,
          );
          const policy = scalingPolicyFromSpec({ ...defaults, maxReplicas: partitions }, undefined);
          const result = replay(
            trace,
            { topic: "orders", partitions, capacityPerReplica: capacity, rebalancePauseMs: 5_000 },
            tallyReplayAutoscaler(policy),
          );
          expect(result.actions.length).toBeLessThanOrEqual(4);
          expect(result.actions.filter((a) => a.at > 20 * minute)).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe("restart continuity", () => {
  it("a replay whose state goes through the status JSON at every step acts exactly like one that keeps it in memory", () => {
    const trace: LoadTrace = {
      ...noisyConstantLoad(12, 3_000, 0.05, 7, 2, 40 * minute),
      at(ms) {
        const base = noisyConstantLoad(
          12,
          ms > 5 * minute && ms < 20 * minute ? 9_000 : 3_000,
          0.05,
          7,
          2,
          0,
        );
        return base.at(ms);
      },
    };
    const policy = scalingPolicyFromSpec(defaults, undefined);
    const model = { topic: "orders", partitions: 12, capacityPerReplica: 20_000, rebalancePauseMs: 5_000 };
    const throughStatus = replay(trace, model, tallyReplayAutoscaler(policy));
    // The same decisions with the state passed along as an object, never serialised.
    const inMemory: ReplayAutoscaler<AutoscalerState> = {
      name: "in-memory",
      initialState: initialAutoscalerState,
      decide(state, observation) {
        const signals = computeSignals({
          samples: observation.samples,
          currentReplicas: observation.currentReplicas,
          sinkPressure: observation.sinkPressure,
          now: observation.now,
        });
        const decision = decideScale(signals, state, policy, observation.now);
        return { replicas: decision.replicas, state: decision.nextHistory, reason: decision.reason };
      },
    };
    expect(replay(trace, model, inMemory).actions).toEqual(throughStatus.actions);
    expect(throughStatus.actions.length).toBeGreaterThanOrEqual(2);
  });
});

/**
 * Issue 11, item 7, through the controller's path: admin-API samples every 5 s (with the commit records
 * the runtime writes) → signals → decision, the state carried from one decision to the next.
 */
describe("issue 11: stuck judged on evidence, no scale-up for a backlog about to drain", () => {
  interface PartitionAt {
    readonly end: number;
    readonly committed: number | "none";
    readonly inflight?: readonly [number, number];
    readonly insertMs?: number;
  }

  function sampleAt(at: number, consuming: number, partitions: readonly PartitionAt[]): OffsetSample {
    return {
      at,
      consumingReplicas: consuming,
      partitions: partitions.map((p, partition) => ({
        topic: "orders",
        partition,
        endOffset: p.end,
        committed:
          p.committed === "none" ? { kind: "none", startsAt: 0 } : { kind: "committed", offset: p.committed },
        inflight: p.inflight === undefined ? undefined : { first: p.inflight[0], last: p.inflight[1] },
        sinkReport:
          p.insertMs === undefined
            ? undefined
            : { insertMs: p.insertMs, failedInserts: 0, tooManyParts: false },
      })),
    };
  }

  /** Decides after each sample from `from` on, as the controller does every round; returns those decisions. */
  function decideAlong(samples: readonly OffsetSample[], state: AutoscalerState, from = 0): ScaleDecision[] {
    const policy = scalingPolicyFromSpec({ ...defaults, maxReplicas: 6 }, undefined);
    const decisions: ScaleDecision[] = [];
    let history = state;
    for (let i = from; i < samples.length; i++) {
      const at = samples[i]?.at ?? 0;
      const signals = computeSignals({
        samples: samples.slice(0, i + 1),
        currentReplicas: 1,
        sinkPressure: [],
        now: at,
      });
      const decision = decideScale(signals, history, policy, at);
      decisions.push(decision);
      history = decision.nextHistory;
    }
    return decisions;
  }

  const six = (p: PartitionAt): PartitionAt[] => Array.from({ length: 6 }, () => p);
  const every5s = (count: number, start: number) =>
    Array.from({ length: count }, (_, i) => start + i * 5 * second);

  // 20,350 msgs waiting over 6 partitions, more arriving; one replica took the first batch of each
  // partition (in-flight record at offset 0) and ClickHouse takes long over the first inserts.
  const firstBatch = (at: number, i: number) =>
    sampleAt(
      at,
      1,
      six({
        end: 2_400 + i * 100,
        committed: i === 0 ? "none" : 0,
        inflight: i === 0 ? undefined : [0, 1_999],
      }),
    );

  it("a slow first batch is not a stuck group: measuring capacity, not 'stuck', after 10 s", () => {
    const samples = every5s(3, now - 10 * second).map(firstBatch);
    const last = decideAlong(samples, initialAutoscalerState).at(-1);
    expect(last?.rule).toBe(DecisionRule.noCapacityEstimate);
    expect(last?.reason).not.toMatch(/stuck/);
    expect(last?.reason).toMatch(/the consumers with a backlog committed nothing within the window/);
  });

  it("the same first batch standing past the first-batch allowance is judged stuck", () => {
    const samples = every5s(15, now - 70 * second).map(firstBatch);
    const decisions = decideAlong(samples, initialAutoscalerState);
    const stuckAt = decisions.findIndex((d) => d.rule === DecisionRule.noProgress);
    // The in-flight record appears with the second sample; 1m later (the 14th) the group is stuck.
    expect(stuckAt).toBe(13);
    expect(decisions[stuckAt]?.reason).toMatch(
      /^no partition committed or started a batch for 1m over 13 samples, and none has finished a batch since it was assigned/,
    );
  });

  it("a batch slower than usual is not a stuck group until it outlasts 3 of the reported inserts", () => {
    // Batches have been taking 9 s to insert; this one stands for 20 s, then 30 s.
    const slow = (at: number, i: number) =>
      sampleAt(
        at,
        1,
        six({
          end: 12_000 + i * 100,
          committed: i === 0 ? 8_000 : 10_000,
          inflight: i === 0 ? undefined : [10_000, 11_999],
          insertMs: 9_000,
        }),
      );
    const decisions = decideAlong(every5s(8, now - 35 * second).map(slow), stateWith({ capacity: 3_000 }));
    expect(decisions.slice(0, 6).map((d) => d.rule)).not.toContain(DecisionRule.noProgress);
    expect(decisions.at(-1)?.rule).toBe(DecisionRule.noProgress);
    expect(decisions.at(-1)?.reason).toMatch(
      /for 30s over 7 samples, while their batch inserts took at most 9s/,
    );
  });

  // A pipeline that measured 12,000/s a replica earlier; a producer dumps 40,000 msgs on each of 6
  // partitions at once, just after the first sample. The rounds from the third sample on see the window's
  // input rate still counting the burst (4,000/s a partition, then 2,667/s) while one replica drains what
  // is left at 3,200/s a partition, nothing more arriving: 18,000 a partition, then 2,000, then none.
  const burst = [
    sampleAt(now - 15 * second, 1, six({ end: 0, committed: 0 })),
    sampleAt(now - 10 * second, 1, six({ end: 40_000, committed: 6_000 })),
    sampleAt(now - 5 * second, 1, six({ end: 40_000, committed: 22_000 })),
    sampleAt(now, 1, six({ end: 40_000, committed: 38_000 })),
    sampleAt(now + 5 * second, 1, six({ end: 40_000, committed: 40_000 })),
  ];

  it("does not scale up for a backlog the measured rate drains before new pods could take over", () => {
    const decisions = decideAlong(burst, stateWith({ capacity: 12_000 }), 2);
    expect(decisions.map((d) => d.action)).toEqual([ScaleAction.hold, ScaleAction.hold, ScaleAction.hold]);
    expect(decisions.slice(0, 2).map((d) => d.rule)).toEqual([
      DecisionRule.drainsBeforeTakeover,
      DecisionRule.drainsBeforeTakeover,
    ]);
    expect(decisions[0]?.reason).toMatch(
      /the backlog drains in 6s, before replicas added now could take over \(20s/,
    );
    expect(decisions[1]?.reason).toMatch(/the backlog drains in 625ms/);
  });

  it("still scales up when the input keeps the backlog from shrinking", () => {
    const sustained = burst.map((s, i) =>
      i === 0 ? s : { ...s, partitions: s.partitions.map((p) => ({ ...p, endOffset: 40_000 * i })) },
    );
    const decisions = decideAlong(sustained, stateWith({ capacity: 12_000 }), 2);
    expect(decisions[0]).toMatchObject({ action: ScaleAction.up, rule: DecisionRule.catchUp });
  });
});
