/**
 * The Pipeline's status from what was observed (pure). Ready summarises: the spec is accepted, the
 * raw table exists, and every wanted runtime pod is ready with the current configuration.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import type { PipelineStatus } from "../../api/v1alpha1/pipeline.js";
import { type DesiredCondition, reasons, setConditions } from "../core/conditions.js";

export type PipelineObservation =
  | { readonly kind: "refused"; readonly reason: DesiredCondition["reason"]; readonly message: string }
  | { readonly kind: "blocked"; readonly reason: DesiredCondition["reason"]; readonly message: string }
  | {
      readonly kind: "applied";
      readonly deployment: V1Deployment | undefined;
      readonly desiredReplicas: number;
      readonly selector: string;
      readonly configHash: string;
      readonly table: { readonly database: string; readonly table: string };
      readonly retainedColumns: readonly string[];
    };

/** The status fields this controller writes; the autoscaler writes the others (see autoscaler-status.ts). */
export const pipelineStatusFields = [
  "observedGeneration",
  "conditions",
  "replicas",
  "readyReplicas",
  "selector",
  "configHash",
  "clickhouse",
] as const satisfies readonly (keyof PipelineStatus)[];

export function computePipelineStatus(
  previous: PipelineStatus | undefined,
  generation: number,
  observation: PipelineObservation,
  now: Date,
): PipelineStatus {
  // The autoscaler owns the scaling fields and the Scaling condition (its own field manager).
  const conditions = (desired: DesiredCondition[]) =>
    setConditions(previous?.conditions, desired, generation, now).filter((c) => c.type !== "Scaling");
  if (observation.kind !== "applied") {
    const ready: DesiredCondition = {
      type: "Ready",
      status: "False",
      reason: observation.reason,
      message: observation.message,
    };
    return {
      observedGeneration: generation,
      conditions: conditions([
        ready,
        {
          type: "Degraded",
          status: observation.kind === "refused" ? "True" : "False",
          reason: observation.reason,
          message: observation.kind === "refused" ? observation.message : "",
        },
      ]),
    };
  }
  const d = observation.deployment;
  const replicas = d?.status?.replicas ?? 0;
  const ready = d?.status?.readyReplicas ?? 0;
  const updated = d?.status?.updatedReplicas ?? 0;
  const current = (d?.status?.observedGeneration ?? 0) >= (d?.metadata?.generation ?? 1);
  const rolledOut =
    current && updated === observation.desiredReplicas && replicas === observation.desiredReplicas;
  const allReady = ready === observation.desiredReplicas && rolledOut;
  const retained =
    observation.retainedColumns.length > 0
      ? ` Columns kept from removed fields: ${observation.retainedColumns.join(", ")}.`
      : "";
  return {
    observedGeneration: generation,
    replicas,
    readyReplicas: ready,
    selector: observation.selector,
    configHash: observation.configHash,
    clickhouse: { ...observation.table },
    conditions: conditions([
      allReady
        ? {
            type: "Ready",
            status: "True",
            reason: reasons.Reconciled,
            message: `${ready}/${observation.desiredReplicas} runtime pods ready; raw table ${observation.table.database}.${observation.table.table}.${retained}`,
          }
        : {
            type: "Ready",
            status: "False",
            reason: rolledOut ? reasons.PodsNotReady : reasons.RolloutInProgress,
            message: `${ready}/${observation.desiredReplicas} runtime pods ready, ${updated} on the current configuration`,
          },
      {
        type: "Progressing",
        status: rolledOut ? "False" : "True",
        reason: rolledOut ? reasons.Reconciled : reasons.RolloutInProgress,
        message: rolledOut
          ? "configuration rolled out"
          : `rolling out configuration ${observation.configHash}`,
      },
      { type: "Degraded", status: "False", reason: reasons.Reconciled, message: "" },
    ]),
  };
}
