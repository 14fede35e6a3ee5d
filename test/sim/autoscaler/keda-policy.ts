/**
 * KEDA's Kafka scaler formula fed through the Kubernetes HPA algorithm: the baseline our policy is
 * measured against on replayed traces. Pure, with time injected, so it replays on the same simulated
 * consumer group as ours.
 *
 * Sources (read for this module; behaviour re-implemented, no code copied):
 * - KEDA Kafka scaler docs, https://keda.sh/docs/2.10/scalers/apache-kafka/ : `lagThreshold` is the
 *   target average lag per replica; by default (`allowIdleConsumers: false`) replicas never exceed the
 *   partition count; `activationLagThreshold` (default 0) decides 0 ↔ 1.
 * - kedacore/keda pkg/scalers/kafka_scaler.go, GetMetrics: totalLag = Σ (latest offset − committed
 *   offset) over partitions; without allowIdleConsumers, if totalLag / lagThreshold > partitions then
 *   totalLag = partitions × lagThreshold. The metric goes to the HPA as an External metric with an
 *   AverageValue target of lagThreshold.
 * - kubernetes pkg/controller/podautoscaler/replica_calculator.go, GetExternalPerPodMetricReplicas:
 *   usageRatio = metric / (target × currentReplicas); if |1 − usageRatio| ≤ tolerance (0.1, the
 *   controller-manager default) keep currentReplicas, else desired = ceil(metric / target).
 * - kubernetes pkg/controller/podautoscaler/horizontal.go, stabilizeRecommendationWithBehaviors and
 *   convertDesiredReplicasWithBehaviorRate: up to the lowest recommendation within the scale-up window,
 *   down to the highest within the scale-down window; then the rate limits of the scaling policies,
 *   counting replicas added/removed within each policy's period.
 * - kubernetes pkg/apis/autoscaling/v2/defaults.go: default scale-up = no stabilization, max of
 *   (4 pods, 100 %) per 15 s; default scale-down = 300 s stabilization, 100 % per 15 s. The HPA syncs
 *   every 15 s (--horizontal-pod-autoscaler-sync-period).
 */

import type { OffsetSample } from "../../../operator/autoscaler/signals.js";
import type { ReplayAutoscaler } from "./consumer-group-simulator.js";

interface HpaScalingPolicy {
  readonly type: "Pods" | "Percent";
  readonly value: number;
  readonly periodSeconds: number;
}

interface HpaScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: "Max" | "Min" | "Disabled";
  readonly policies: readonly HpaScalingPolicy[];
}

interface HpaBehavior {
  readonly scaleUp: HpaScalingRules;
  readonly scaleDown: HpaScalingRules;
}

/** The HPA's defaults when a ScaledObject sets no `advanced.horizontalPodAutoscalerConfig.behavior`. */
const defaultHpaBehavior: HpaBehavior = {
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ],
  },
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: "Max",
    policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
  },
};

const hpaDefaults = { tolerance: 0.1, syncPeriodMs: 15_000 } as const;

interface KedaKafkaScaler {
  readonly lagThreshold: number;
  readonly activationLagThreshold: number;
  readonly allowIdleConsumers: boolean;
  readonly minReplicaCount: number;
  readonly maxReplicaCount: number;
  /** Seconds after the last active check before KEDA scales to zero (only with minReplicaCount 0). */
  readonly cooldownPeriodSeconds: number;
  readonly behavior: HpaBehavior;
  readonly tolerance: number;
}

export function kedaKafkaScaler(
  overrides: Partial<KedaKafkaScaler> & Pick<KedaKafkaScaler, "lagThreshold">,
): KedaKafkaScaler {
  const scaler: KedaKafkaScaler = {
    activationLagThreshold: 0,
    allowIdleConsumers: false,
    minReplicaCount: 0,
    maxReplicaCount: 100,
    cooldownPeriodSeconds: 300,
    behavior: defaultHpaBehavior,
    tolerance: hpaDefaults.tolerance,
    ...overrides,
  };
  if (!(scaler.lagThreshold > 0))
    throw new RangeError(`kedaKafkaScaler: lagThreshold must be > 0, got ${scaler.lagThreshold}`);
  if (scaler.minReplicaCount > scaler.maxReplicaCount) {
    throw new RangeError(
      `kedaKafkaScaler: minReplicaCount ${scaler.minReplicaCount} exceeds maxReplicaCount ${scaler.maxReplicaCount}`,
    );
  }
  return scaler;
}

interface TimedValue {
  readonly at: number;
  readonly value: number;
}

/** The HPA controller's in-memory state for one target, plus KEDA's last-active time. */
export interface KedaState {
  readonly recommendations: readonly TimedValue[];
  readonly scaleUpEvents: readonly TimedValue[];
  readonly scaleDownEvents: readonly TimedValue[];
  readonly lastActiveAt: number | undefined;
}

export const initialKedaState: KedaState = {
  recommendations: [],
  scaleUpEvents: [],
  scaleDownEvents: [],
  lastActiveAt: undefined,
};

/** The metric KEDA's Kafka scaler reports: total lag, capped at partitions × lagThreshold without idle consumers. */
export function kedaKafkaMetric(totalLag: number, partitionCount: number, scaler: KedaKafkaScaler): number {
  const lag = Math.floor(totalLag);
  // Go integer division, as in kafka_scaler.go.
  if (!scaler.allowIdleConsumers && Math.floor(lag / scaler.lagThreshold) > partitionCount) {
    return partitionCount * scaler.lagThreshold;
  }
  return lag;
}

/** The HPA's replica count for an External metric with an AverageValue target. */
export function hpaReplicasForAverageValue(
  metric: number,
  targetAverage: number,
  currentReplicas: number,
  tolerance: number,
): number {
  const usageRatio = metric / (targetAverage * currentReplicas);
  if (Math.abs(1 - usageRatio) <= tolerance) return currentReplicas;
  return Math.ceil(metric / targetAverage);
}

function changeWithin(events: readonly TimedValue[], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.at > cutoff).reduce((sum, e) => sum + e.value, 0);
}

function scaleUpLimit(current: number, state: KedaState, rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rules.selectPolicy === "Min" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const policy of rules.policies) {
    const start =
      current -
      changeWithin(state.scaleUpEvents, policy.periodSeconds, now) +
      changeWithin(state.scaleDownEvents, policy.periodSeconds, now);
    const proposed =
      policy.type === "Pods" ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

function scaleDownLimit(current: number, state: KedaState, rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  // For scale-down the "Max" policy allows the biggest change, i.e. the lowest count.
  const pick = rules.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rules.selectPolicy === "Min" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const policy of rules.policies) {
    const start =
      current -
      changeWithin(state.scaleUpEvents, policy.periodSeconds, now) +
      changeWithin(state.scaleDownEvents, policy.periodSeconds, now);
    const proposed =
      policy.type === "Pods" ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/**
 * The HPA's normalisation with behaviors: stabilize over the windows, record the raw recommendation,
 * then apply the scaling-policy rate limits and min/max.
 */
export function hpaNormalize(
  current: number,
  desired: number,
  state: KedaState,
  scaler: KedaKafkaScaler,
  now: number,
): { readonly replicas: number; readonly state: KedaState } {
  const { scaleUp, scaleDown } = scaler.behavior;
  // maybeInitScaleDownStabilizationWindow: an HPA seen for the first time starts its window with the
  // current count, so it does not scale down the moment it is created.
  // (Seeded a millisecond back: in the controller the seed is taken just before "now" is read.)
  const seen = state.recommendations.length > 0 ? state.recommendations : [{ at: now - 1, value: current }];
  const upCutoff = now - scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - scaleDown.stabilizationWindowSeconds * 1000;
  let upRecommendation = desired;
  let downRecommendation = desired;
  for (const rec of seen) {
    if (rec.at > upCutoff) upRecommendation = Math.min(upRecommendation, rec.value);
    if (rec.at > downCutoff) downRecommendation = Math.max(downRecommendation, rec.value);
  }
  let stabilized = current;
  if (stabilized < upRecommendation) stabilized = upRecommendation;
  if (stabilized > downRecommendation) stabilized = downRecommendation;
  const recommendations = [
    ...seen.filter((r) => r.at > upCutoff || r.at > downCutoff),
    { at: now, value: desired },
  ];

  let replicas = stabilized;
  if (stabilized > current) {
    const limit = Math.max(scaleUpLimit(current, state, scaleUp, now), current);
    replicas = Math.min(stabilized, Math.min(scaler.maxReplicaCount, limit));
  } else if (stabilized < current) {
    const limit = Math.min(scaleDownLimit(current, state, scaleDown, now), current);
    replicas = Math.max(stabilized, Math.max(scaler.minReplicaCount, limit));
  }
  replicas = Math.min(scaler.maxReplicaCount, Math.max(Math.max(scaler.minReplicaCount, 1), replicas));

  const longest = (rules: HpaScalingRules) =>
    Math.max(0, ...rules.policies.map((p) => p.periodSeconds)) * 1000;
  let { scaleUpEvents, scaleDownEvents } = state;
  if (replicas > current) {
    scaleUpEvents = [
      ...scaleUpEvents.filter((e) => e.at > now - longest(scaleUp)),
      { at: now, value: replicas - current },
    ];
  } else if (replicas < current) {
    scaleDownEvents = [
      ...scaleDownEvents.filter((e) => e.at > now - longest(scaleDown)),
      { at: now, value: current - replicas },
    ];
  }
  return { replicas, state: { ...state, recommendations, scaleUpEvents, scaleDownEvents } };
}

interface KedaDecision {
  readonly replicas: number;
  readonly reason: string;
  readonly state: KedaState;
}

/**
 * One sync of KEDA + HPA for a Kafka trigger. KEDA itself handles 0 ↔ 1 (activation and the cooldown to
 * zero); between 1 and max the HPA decides from the capped lag metric.
 */
export function kedaDecide(
  totalLag: number,
  partitionCount: number,
  current: number,
  state: KedaState,
  scaler: KedaKafkaScaler,
  now: number,
): KedaDecision {
  const metric = kedaKafkaMetric(totalLag, partitionCount, scaler);
  const active = totalLag > scaler.activationLagThreshold;
  const withActivity: KedaState = active ? { ...state, lastActiveAt: now } : state;
  const ceiling = scaler.allowIdleConsumers
    ? scaler.maxReplicaCount
    : Math.min(scaler.maxReplicaCount, partitionCount);
  const bounded: KedaKafkaScaler = { ...scaler, maxReplicaCount: ceiling };

  if (current === 0) {
    if (active) {
      const replicas = Math.max(1, scaler.minReplicaCount);
      return {
        replicas,
        reason: `KEDA activation: lag ${totalLag} > ${scaler.activationLagThreshold}`,
        state: withActivity,
      };
    }
    if (scaler.minReplicaCount === 0)
      return { replicas: 0, reason: "KEDA: inactive at zero", state: withActivity };
  }
  if (
    !active &&
    scaler.minReplicaCount === 0 &&
    current > 0 &&
    (withActivity.lastActiveAt === undefined ||
      now - withActivity.lastActiveAt >= scaler.cooldownPeriodSeconds * 1000)
  ) {
    return {
      replicas: 0,
      reason: "KEDA: inactive for the cooldown period, scaling to zero",
      state: withActivity,
    };
  }
  if (current === 0) {
    // minReplicaCount > 0 but the target sits at zero: the HPA refuses to act ("ScalingDisabled"); KEDA
    // restores the minimum.
    return {
      replicas: Math.max(1, scaler.minReplicaCount),
      reason: "KEDA: restoring minReplicaCount",
      state: withActivity,
    };
  }
  if (current > bounded.maxReplicaCount) {
    return { replicas: bounded.maxReplicaCount, reason: "HPA: above maxReplicas", state: withActivity };
  }
  const desired = hpaReplicasForAverageValue(metric, scaler.lagThreshold, current, scaler.tolerance);
  const normalized = hpaNormalize(current, desired, withActivity, bounded, now);
  return {
    replicas: normalized.replicas,
    reason: `HPA: lag metric ${metric} / lagThreshold ${scaler.lagThreshold} → ${desired}, normalized ${normalized.replicas}`,
    state: normalized.state,
  };
}

function lagOf(sample: OffsetSample): number {
  let lag = 0;
  for (const p of sample.partitions) {
    if (p.endOffset === undefined) continue;
    const committed =
      p.committed.kind === "committed"
        ? p.committed.offset
        : p.committed.kind === "none"
          ? p.committed.startsAt
          : p.endOffset;
    lag += Math.max(0, p.endOffset - committed);
  }
  return lag;
}

/** KEDA + HPA as a replayable autoscaler: one decision per HPA sync from the newest admin-API sample. */
export function kedaReplayAutoscaler(scaler: KedaKafkaScaler): ReplayAutoscaler<KedaState> {
  return {
    name: "keda",
    initialState: initialKedaState,
    decide(state, observation) {
      const latest = observation.samples.at(-1);
      if (latest === undefined) return { replicas: observation.currentReplicas, state };
      const decision = kedaDecide(
        lagOf(latest),
        observation.partitionCount,
        observation.currentReplicas,
        state,
        scaler,
        observation.now,
      );
      return { replicas: decision.replicas, state: decision.state, reason: decision.reason };
    },
  };
}
