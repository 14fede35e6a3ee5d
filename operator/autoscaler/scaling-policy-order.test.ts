/**
 * The order of decideScale's guards: where two of them hold at once, the earlier one decides. The
 * table in scaling-policy.test.ts gives each rule a situation of its own; these pairs pin which rule
 * wins when situations overlap, and show for each pair that the later rule holds once the earlier
 * condition is taken away (so both conditions were really present).
 */
import { describe, expect, it } from "vitest";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { type AutoscalerState, initialAutoscalerState } from "./autoscaler-state.js";
import { DecisionRule, decideScale, pausedAnnotation, scalingPolicyFromSpec } from "./scaling-policy.js";
import { type ConsumerGroupSignals, known, type Progress, type SinkPressure, unknown } from "./signals.js";

const now = Date.now();
const second = 1000;

const spec: PipelineSpec["scaling"] = {
  mode: "auto",
  minReplicas: 1,
  maxReplicas: 12,
  targetCatchUp: "2m",
  scaleUpStabilization: "0s",
  scaleDownStabilization: "5m",
  cooldown: "30s",
};

interface Situation {
  readonly spec?: Partial<PipelineSpec["scaling"]>;
  readonly paused?: boolean;
  readonly current?: number;
  /** Total lag over six partitions, spread evenly; "unknown" when one partition reports none. */
  readonly lag?: number | "unknown";
  /** Total input rate over six partitions; "unknown" before a second sample. */
  readonly input?: number | "unknown";
  readonly sampledAt?: number | "never";
  readonly progress?: Progress;
  readonly sinkPressure?: readonly SinkPressure[];
  /** Remembered capacity per replica. */
  readonly capacity?: number;
  readonly lastScaleAt?: number;
}

function signalsOf(s: Situation): ConsumerGroupSignals {
  const partitions = 6;
  const current = s.current ?? 2;
  const lag = s.lag ?? 0;
  const input = s.input ?? 0;
  const sampledAt = s.sampledAt === "never" ? undefined : (s.sampledAt ?? now);
  const processing = input === "unknown" ? 0 : input;
  return {
    sampledAt,
    freshness: sampledAt === undefined ? { kind: "missing" } : { kind: "fresh", ageMs: now - sampledAt },
    windowMs: 15_000,
    partitions: Array.from({ length: partitions }, (_, i) => ({
      topic: "orders",
      partition: i,
      lag:
        lag === "unknown" && i === 0
          ? unknown("end offset not reported")
          : known(lag === "unknown" ? 0 : lag / partitions),
      inputRate: input === "unknown" ? unknown("need two offset samples") : known(input / partitions),
      processingRate: known(processing / partitions),
    })),
    totalLag: lag === "unknown" ? unknown("lag unknown for orders-0: end offset not reported") : known(lag),
    inputRate: input === "unknown" ? unknown("need two offset samples") : known(input),
    processingRate: known(processing),
    processingRatePerReplica: current > 0 ? known(processing / current) : unknown("no replica was consuming"),
    capacityPerReplica: unknown("no consumer had a backlog"),
    lagSeconds: unknown("not needed here"),
    drainSeconds: unknown("the lag did not shrink"),
    progress: s.progress ?? { kind: "moving" },
    currentReplicas: current,
    consumingReplicas: current,
    rebalancing: false,
    sinkPressure: s.sinkPressure ?? [],
  };
}

function decide(s: Situation) {
  const policy = scalingPolicyFromSpec(
    { ...spec, ...s.spec },
    s.paused ? { [pausedAnnotation]: "true" } : undefined,
  );
  let state: AutoscalerState = initialAutoscalerState;
  if (s.capacity !== undefined)
    state = { ...state, capacity: { perReplica: s.capacity, at: now - 60 * second } };
  if (s.lastScaleAt !== undefined) state = { ...state, lastScaleAt: s.lastScaleAt };
  return decideScale(signalsOf(s), state, policy, now);
}

interface Pair {
  readonly name: string;
  /** Both conditions hold: the earlier rule decides. */
  readonly both: Situation;
  readonly first: DecisionRule;
  /** The earlier condition taken away: the later rule decides. */
  readonly withoutFirst: Situation;
  readonly second: DecisionRule;
}

const stalled: Progress = { kind: "stalled", forMs: 45_000, samples: 10, slowestInsertMs: 800 };
const tooManyParts: readonly SinkPressure[] = [{ kind: "too-many-parts", table: "analytics.events" }];
/** With 3,100/s per replica, 2 replicas are behind and 6 would catch up. */
const behind: Situation = { capacity: 3_100, lag: 480_000, input: 6_000 };
const recently = now - 10 * second;

const pairs: readonly Pair[] = [
  {
    name: "mode off before missing offsets",
    both: { spec: { mode: "off" }, sampledAt: "never" },
    first: DecisionRule.modeOff,
    withoutFirst: { sampledAt: "never" },
    second: DecisionRule.missingSignals,
  },
  {
    name: "stale offsets before the pause annotation",
    both: { paused: true, sampledAt: now - 90 * second },
    first: DecisionRule.staleSignals,
    withoutFirst: { paused: true },
    second: DecisionRule.paused,
  },
  {
    name: "the pause annotation before an unknown lag",
    both: { paused: true, lag: "unknown" },
    first: DecisionRule.paused,
    withoutFirst: { lag: "unknown" },
    second: DecisionRule.missingSignals,
  },
  {
    name: "asleep below the activation lag before an unknown input rate",
    both: { spec: { minReplicas: 0, activationLag: 1_000 }, current: 0, lag: 500, input: "unknown" },
    first: DecisionRule.asleep,
    withoutFirst: {
      spec: { minReplicas: 0, activationLag: 1_000 },
      current: 0,
      lag: 5_000,
      input: "unknown",
    },
    second: DecisionRule.missingSignals,
  },
  {
    name: "a stuck group before sink back-pressure with no capacity estimate",
    both: { lag: 50_000, input: 1_000, progress: stalled, sinkPressure: tooManyParts },
    first: DecisionRule.noProgress,
    withoutFirst: { lag: 50_000, input: 1_000, sinkPressure: tooManyParts },
    second: DecisionRule.sinkBackPressure,
  },
  {
    name: "sink back-pressure before the missing capacity estimate",
    both: { lag: 50_000, input: 1_000, sinkPressure: tooManyParts },
    first: DecisionRule.sinkBackPressure,
    withoutFirst: { lag: 50_000, input: 1_000 },
    second: DecisionRule.noCapacityEstimate,
  },
  {
    name: "scaling an idle pipeline to zero before the missing capacity estimate",
    both: { spec: { minReplicas: 0, activationLag: 100, scaleDownStabilization: "0s" } },
    first: DecisionRule.scaleToZero,
    withoutFirst: { spec: { minReplicas: 0, activationLag: 100, scaleDownStabilization: "0s" }, input: 10 },
    second: DecisionRule.noCapacityEstimate,
  },
  {
    name: "sink back-pressure before the cooldown",
    both: { ...behind, sinkPressure: tooManyParts, lastScaleAt: recently },
    first: DecisionRule.sinkBackPressure,
    withoutFirst: { ...behind, lastScaleAt: recently },
    second: DecisionRule.cooldown,
  },
  {
    name: "the cooldown before a recommendation",
    both: { ...behind, spec: { mode: "recommend" }, lastScaleAt: recently },
    first: DecisionRule.cooldown,
    withoutFirst: { ...behind, spec: { mode: "recommend" } },
    second: DecisionRule.catchUp,
  },
];

describe("decideScale's guard order", () => {
  it.each(pairs)("$name", (pair) => {
    expect(decide(pair.both).rule).toBe(pair.first);
    expect(decide(pair.withoutFirst).rule).toBe(pair.second);
  });
});
