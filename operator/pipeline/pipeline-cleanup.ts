/**
 * What deleting a Pipeline drops (pure): its raw table and its window table, as its status recorded
 * them. Retain keeps both; Delete drops both. Rollups reading the raw table are not touched: each has
 * its own deletionPolicy and finalizer.
 */
import type { PipelineStatus } from "../../api/v1alpha1/pipeline.js";
import { windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import {
  type CleanupObject,
  type CleanupPlan,
  type DeletionPolicy,
  deletionPolicyOf,
} from "../core/cleanup.js";

/** What a deletion needs from the spec, read field by field: a spec that no longer validates is still deleted as its policy says. */
export interface PipelineDeletionFacts {
  readonly policy: DeletionPolicy;
  /** The connection Secret of spec.sink.clickhouse. */
  readonly secret: string | undefined;
  readonly hasWindows: boolean;
}

export function pipelineDeletionFacts(spec: unknown): PipelineDeletionFacts {
  const s = spec as
    | { sink?: { clickhouse?: { connectionSecretRef?: { name?: unknown } } }; windows?: unknown }
    | undefined;
  const secret = s?.sink?.clickhouse?.connectionSecretRef?.name;
  return {
    policy: deletionPolicyOf(spec),
    secret: typeof secret === "string" ? secret : undefined,
    hasWindows: Array.isArray(s?.windows) && s.windows.length > 0,
  };
}

export function planPipelineCleanup(
  facts: PipelineDeletionFacts,
  status: PipelineStatus | undefined,
): CleanupPlan {
  const recorded = status?.clickhouse;
  if (recorded === undefined) return { policy: facts.policy, objects: [] };
  const action = facts.policy === "Delete" ? "drop" : "keep";
  const raw: CleanupObject = {
    kind: "table",
    database: recorded.database,
    name: recorded.table,
    role: "raw table",
    action,
  };
  const windows: CleanupObject = {
    kind: "table",
    database: recorded.database,
    name: windowTableName(recorded.table),
    role: "window table",
    action,
  };
  // A drop checks that the table exists; a kept window table is named only if the spec has windows
  // (the operator creates it only then), since keeping needs no connection to look.
  return { policy: facts.policy, objects: action === "drop" || facts.hasWindows ? [raw, windows] : [raw] };
}
