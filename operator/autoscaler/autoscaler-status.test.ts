import { describe, expect, it } from "vitest";
import type { PipelineStatus } from "../../api/v1alpha1/pipeline.js";
import { type AutoscalerState, initialAutoscalerState } from "./autoscaler-state.js";
import { type AutoscalerRound, autoscalerEvent, computeAutoscalerStatus } from "./autoscaler-status.js";
import { DecisionRule, ScaleAction, type ScaleDecision } from "./scaling-policy.js";
import { type ConsumerGroupSignals, computeSignals, type OffsetSample } from "./signals.js";

const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Two samples 10 s apart on 4 partitions: 1,000 msgs/s in, 800/s committed, lag growing. */
function flowingSignals(): ConsumerGroupSignals {
  const sample = (at: number, end: number, committed: number): OffsetSample => ({
    at,
    consumingReplicas: 2,
    partitions: [0, 1, 2, 3].map((partition) => ({
      topic: "clicks",
      partition,
      endOffset: end,
      committed: { kind: "committed", offset: committed },
    })),
  });
  return computeSignals({
    samples: [sample(t0 - 10_000, 10_000, 9_000), sample(t0, 12_500, 11_000)],
    currentReplicas: 2,
    sinkPressure: [],
    now: t0,
  });
}

function noSignals(): ConsumerGroupSignals {
  return computeSignals({ samples: [], currentReplicas: 2, sinkPressure: [], now: t0 });
}

function decision(partial: Partial<ScaleDecision>): ScaleDecision {
  return {
    replicas: 2,
    action: ScaleAction.hold,
    rule: DecisionRule.steady,
    reason: "steady: 2 replicas keep up",
    recommendation: 2,
    rawRecommendation: 2,
    hotPartitions: [],
    nextHistory: initialAutoscalerState,
    ...partial,
  };
}

function decided(
  d: Partial<ScaleDecision>,
  signals = flowingSignals(),
  sampleError?: string,
): AutoscalerRound {
  return { kind: "decided", signals, decision: decision(d), sampleError };
}

function statusAfter(
  round: AutoscalerRound,
  previous?: PipelineStatus,
  state: AutoscalerState = initialAutoscalerState,
  at = t0,
) {
  return computeAutoscalerStatus(previous, 3, round, state, new Date(at));
}

function scaling(status: PipelineStatus) {
  return (status.conditions ?? []).find((c) => c.type === "Scaling");
}

describe("computeAutoscalerStatus", () => {
  it("reports lag, lag seconds and processing rate from known signals", () => {
    const status = statusAfter(decided({}));
    // 4 partitions × 1,500 lag; 4 × 200/s committed.
    expect(status.lag).toBe(6_000);
    expect(status.processingRate).toBe(800);
    expect(status.lagSeconds).toBe(7.5);
    expect(status.desiredReplicas).toBe(2);
    expect(scaling(status)).toMatchObject({ status: "True", reason: "Steady", observedGeneration: 3 });
    expect(status.scaleReason).toBe("steady: 2 replicas keep up");
    expect(status.lastScaleTime).toBeUndefined();
  });

  it("leaves unknown signals out instead of writing 0", () => {
    const status = statusAfter(
      decided({ rule: DecisionRule.missingSignals, reason: "no offsets" }, noSignals()),
    );
    expect(status).not.toHaveProperty("lag");
    expect(status).not.toHaveProperty("lagSeconds");
    expect(status).not.toHaveProperty("processingRate");
  });

  it("says why sampling failed when it holds on missing signals", () => {
    const status = statusAfter(
      decided(
        {
          rule: DecisionRule.missingSignals,
          reason: "no consumer-group offsets sampled yet: holding at 2 replicas",
        },
        noSignals(),
        "topic clicks: This server does not host this topic-partition",
      ),
    );
    expect(scaling(status)).toMatchObject({ status: "False", reason: "SignalsMissing" });
    expect(status.scaleReason).toBe(
      "offsets could not be sampled (topic clicks: This server does not host this topic-partition); no consumer-group offsets sampled yet: holding at 2 replicas",
    );
  });

  it.each([
    [{ action: ScaleAction.up, rule: DecisionRule.catchUp, replicas: 4 }, "True", "ScaledUp"],
    [{ action: ScaleAction.down, rule: DecisionRule.excessCapacity, replicas: 1 }, "True", "ScaledDown"],
    [{ rule: DecisionRule.modeOff }, "False", "AutoscalingOff"],
    [{ rule: DecisionRule.paused }, "False", "AutoscalerPaused"],
    [{ rule: DecisionRule.staleSignals }, "False", "SignalsMissing"],
    [{ rule: DecisionRule.noCapacityEstimate }, "True", "MeasuringCapacity"],
    [{ rule: DecisionRule.noProgress }, "True", "NoProgress"],
    [{ rule: DecisionRule.sinkBackPressure }, "True", "SinkBackPressure"],
    [{ rule: DecisionRule.hotPartition }, "True", "HotPartition"],
    [{ rule: DecisionRule.stabilization }, "True", "Stabilizing"],
    [{ rule: DecisionRule.cooldown }, "True", "CoolingDown"],
    [{ rule: DecisionRule.rebalanceCost }, "True", "RebalanceNotWorthIt"],
    [{ rule: DecisionRule.drainsBeforeTakeover }, "True", "BacklogDraining"],
    [{ rule: DecisionRule.asleep, replicas: 0, recommendation: 0 }, "True", "Asleep"],
    [{ rule: DecisionRule.catchUp, recommendation: 4 }, "True", "Recommending"],
    [{ rule: DecisionRule.steady }, "True", "Steady"],
  ] as const)("maps %o to Scaling=%s/%s", (d, status, reason) => {
    expect(scaling(statusAfter(decided(d)))).toMatchObject({ status, reason });
  });

  it("stands down for an HPA and for an inconsistent spec", () => {
    const hpa = statusAfter({ kind: "standDown", hpa: "clicks-hpa", signals: flowingSignals() });
    expect(scaling(hpa)).toMatchObject({ status: "False", reason: "HPAInControl" });
    expect(hpa.scaleReason).toContain("HorizontalPodAutoscaler clicks-hpa");
    expect(hpa.lag).toBe(6_000); // still reported
    expect(hpa).not.toHaveProperty("desiredReplicas");
    const invalid = statusAfter({
      kind: "invalid",
      message: "spec.scaling.targetCatchUp must be longer than 0s",
    });
    expect(scaling(invalid)).toMatchObject({ status: "False", reason: "InvalidSpec" });
  });

  it("records the last scale time from the state and keeps only the Scaling condition", () => {
    const previous: PipelineStatus = {
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Reconciled",
          message: "",
          lastTransitionTime: "2026-11-23T11:00:00Z",
        },
      ],
    };
    const status = statusAfter(decided({}), previous, {
      ...initialAutoscalerState,
      lastScaleAt: t0 - 61_500,
    });
    expect(status.lastScaleTime).toBe("2026-11-23T11:58:58Z");
    expect(status.conditions?.map((c) => c.type)).toEqual(["Scaling"]);
    expect(status.autoscaler).toEqual({ version: 1, recommendations: [], lastScaleAt: t0 - 61_500 });
  });

  it("keeps lastTransitionTime while the condition's status stays", () => {
    const first = statusAfter(decided({ rule: DecisionRule.steady }));
    const later = statusAfter(
      decided({ rule: DecisionRule.cooldown }),
      first,
      initialAutoscalerState,
      t0 + 60_000,
    );
    expect(scaling(later)?.lastTransitionTime).toBe(scaling(first)?.lastTransitionTime);
    const lost = statusAfter(
      decided({ rule: DecisionRule.missingSignals }, noSignals()),
      later,
      initialAutoscalerState,
      t0 + 120_000,
    );
    expect(scaling(lost)?.lastTransitionTime).toBe("2026-11-23T12:02:00Z");
  });
});

describe("autoscalerEvent", () => {
  function eventFor(round: AutoscalerRound, previous?: PipelineStatus) {
    return autoscalerEvent(previous, statusAfter(round, previous), round);
  }

  it("records every scale action", () => {
    const steady = statusAfter(decided({}));
    const up = decided({
      action: ScaleAction.up,
      rule: DecisionRule.catchUp,
      replicas: 4,
      reason: "2 → 4: backlog",
    });
    expect(eventFor(up, steady)).toEqual({ type: "Normal", reason: "ScaledUp", note: "2 → 4: backlog" });
    const scaledUp = statusAfter(up, steady);
    // A second action with the same reason is still an Event.
    expect(eventFor(up, scaledUp)).toMatchObject({ reason: "ScaledUp" });
  });

  it("records nothing while the situation stays the same", () => {
    const steady = statusAfter(decided({}));
    expect(eventFor(decided({}), steady)).toBeUndefined();
    const hpa: AutoscalerRound = { kind: "standDown", hpa: "h", signals: flowingSignals() };
    expect(eventFor(hpa, statusAfter(hpa))).toBeUndefined();
  });

  it("warns on entering a notable state", () => {
    const steady = statusAfter(decided({}));
    expect(eventFor({ kind: "standDown", hpa: "h", signals: flowingSignals() }, steady)).toMatchObject({
      type: "Warning",
      reason: "HPAInControl",
    });
    expect(eventFor(decided({ rule: DecisionRule.sinkBackPressure }), steady)).toMatchObject({
      type: "Warning",
      reason: "SinkBackPressure",
    });
    expect(eventFor(decided({ rule: DecisionRule.noProgress }), steady)).toMatchObject({
      type: "Warning",
      reason: "NoProgress",
    });
    expect(eventFor(decided({ rule: DecisionRule.paused }), steady)).toMatchObject({
      type: "Normal",
      reason: "AutoscalerPaused",
    });
  });

  it("warns when signals are lost, not when they were never there", () => {
    const missing = decided({ rule: DecisionRule.missingSignals }, noSignals(), "broker down");
    expect(eventFor(missing)).toBeUndefined();
    expect(eventFor(missing, statusAfter(decided({})))).toMatchObject({
      type: "Warning",
      reason: "SignalsMissing",
    });
  });

  it("records a new recommendation in recommend mode", () => {
    const recommend = (n: number) =>
      decided({ rule: DecisionRule.catchUp, recommendation: n, reason: `would ${n}` });
    const first = statusAfter(recommend(3));
    expect(eventFor(recommend(3), first)).toBeUndefined();
    expect(eventFor(recommend(4), first)).toEqual({
      type: "Normal",
      reason: "Recommending",
      note: "would 4",
    });
  });
});
