/**
 * Status conditions per Kubernetes API conventions (pure): `Ready` summarises, `Progressing` and
 * `Degraded` explain. lastTransitionTime changes only when the status does, so an unchanged
 * reconcile computes an identical status and writes nothing.
 */
import type { Condition } from "../../api/v1alpha1/schema-kit.js";

const conditionTypes = ["Ready", "Progressing", "Degraded", "Scaling"] as const;
type ConditionType = (typeof conditionTypes)[number];

/** The schema's metav1.Condition, so what these helpers build is what the status holds. */
export type { Condition };

/** Reasons, PascalCase, from one const list so a typo is a compile error. */
export const reasons = {
  Reconciled: "Reconciled",
  InvalidSpec: "InvalidSpec",
  // A Dashboard with panels its sources cannot answer (the others are still served).
  InvalidPanels: "InvalidPanels",
  ColumnTypeChangeRefused: "ColumnTypeChangeRefused",
  SourceNotFound: "SourceNotFound",
  SourceNotReady: "SourceNotReady",
  SecretNotFound: "SecretNotFound",
  ClickHouseUnavailable: "ClickHouseUnavailable",
  ClickHouseVersionUnsupported: "ClickHouseVersionUnsupported",
  RolloutInProgress: "RolloutInProgress",
  PodsNotReady: "PodsNotReady",
  Migrating: "Migrating",
  Deleting: "Deleting",
  ApplyFailed: "ApplyFailed",
  // The autoscaler's Scaling condition.
  ScaledUp: "ScaledUp",
  ScaledDown: "ScaledDown",
  Steady: "Steady",
  Recommending: "Recommending",
  HPAInControl: "HPAInControl",
  AutoscalingOff: "AutoscalingOff",
  AutoscalerPaused: "AutoscalerPaused",
  SignalsMissing: "SignalsMissing",
  MeasuringCapacity: "MeasuringCapacity",
  NoProgress: "NoProgress",
  SinkBackPressure: "SinkBackPressure",
  HotPartition: "HotPartition",
  Stabilizing: "Stabilizing",
  CoolingDown: "CoolingDown",
  RebalanceNotWorthIt: "RebalanceNotWorthIt",
  BacklogDraining: "BacklogDraining",
  Asleep: "Asleep",
} as const;
export type Reason = (typeof reasons)[keyof typeof reasons];

export interface DesiredCondition {
  readonly type: ConditionType;
  readonly status: Condition["status"];
  readonly reason: Reason;
  readonly message: string;
}

export function setConditions(
  existing: readonly Condition[] | undefined,
  desired: readonly DesiredCondition[],
  generation: number,
  now: Date,
): Condition[] {
  const byType = new Map((existing ?? []).map((c) => [c.type, c]));
  for (const d of desired) {
    const previous = byType.get(d.type);
    byType.set(d.type, {
      type: d.type,
      status: d.status,
      observedGeneration: generation,
      lastTransitionTime:
        previous !== undefined && previous.status === d.status
          ? previous.lastTransitionTime
          : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
      reason: d.reason,
      message: d.message,
    });
  }
  return conditionTypes.flatMap((t) => {
    const c = byType.get(t);
    return c === undefined ? [] : [c];
  });
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
