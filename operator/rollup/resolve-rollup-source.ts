/**
 * Gathers what a Rollup is built on: the root Pipeline (whose raw table every backfill reads) and,
 * for a cascade, the parent rollup's serving table and the filters of every rollup above it.
 */
import type { FilterCondition } from "../../api/v1alpha1/aggregation.js";
import type { PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import type { RollupSpec } from "../../api/v1alpha1/rollup.js";
import { validatePipelineSpec, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import type { RawSource, RollupSource } from "../../contracts/clickhouse/rollup-ddl.js";
import { type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import { findCondition } from "../core/conditions.js";

/**
 * The source cannot be built on now: waiting, not refusing, since it may appear or be fixed. `pending`:
 * it exists and is valid but has not finished its own reconcile (a new Pipeline's raw table), which
 * needs no one's attention; `missing` and `invalid` do.
 */
export class SourceNotReadyError extends Error {
  override readonly name = "SourceNotReadyError";
  constructor(
    message: string,
    readonly state: "missing" | "invalid" | "pending",
  ) {
    super(message);
  }
}

export interface ResolvedRollupSource {
  readonly pipelineName: string;
  readonly pipeline: PipelineSpec;
  readonly raw: RawSource;
  readonly parent?: RollupSource;
}

const maxCascadeDepth = 5;

export async function resolveRollupSource(
  client: KubeClient,
  namespace: string,
  spec: RollupSpec,
  depth = 0,
): Promise<ResolvedRollupSource> {
  if (depth > maxCascadeDepth) {
    throw new SourceNotReadyError(
      `spec.source: cascade deeper than ${maxCascadeDepth} rollups (is there a cycle?)`,
      "invalid",
    );
  }
  const { kind, name } = spec.source;
  if (kind === "Pipeline") {
    const pipeline = await client.find<PipelineObject>(resourceTypes.pipeline, namespace, name);
    if (pipeline === undefined)
      throw new SourceNotReadyError(`spec.source: Pipeline ${namespace}/${name} does not exist`, "missing");
    const validated = validatePipelineSpec(pipeline.spec);
    if (!validated.ok)
      throw new SourceNotReadyError(
        `spec.source: Pipeline ${namespace}/${name} has an invalid spec`,
        "invalid",
      );
    if (pipeline.status?.clickhouse?.table === undefined) {
      throw new SourceNotReadyError(
        `spec.source: Pipeline ${namespace}/${name} has not created its raw table yet`,
        "pending",
      );
    }
    const p = validated.value;
    return {
      pipelineName: name,
      pipeline: p,
      raw: {
        database: p.sink.clickhouse.database,
        table: p.sink.clickhouse.table,
        eventTimeField: p.eventTime.field,
        fields: new Map(p.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }])),
      },
    };
  }
  const parent = await client.find<RollupObject>(resourceTypes.rollup, namespace, name);
  if (parent === undefined)
    throw new SourceNotReadyError(`spec.source: Rollup ${namespace}/${name} does not exist`, "missing");
  const parentSpec = validateRollupSpec(parent.spec);
  if (!parentSpec.ok)
    throw new SourceNotReadyError(`spec.source: Rollup ${namespace}/${name} has an invalid spec`, "invalid");
  const table = parent.status?.table;
  if (table === undefined || findCondition(parent.status?.conditions, "Ready")?.status !== "True") {
    throw new SourceNotReadyError(`spec.source: Rollup ${namespace}/${name} is not ready yet`, "pending");
  }
  const above = await resolveRollupSource(client, namespace, parentSpec.value, depth + 1);
  const inheritedFilters: FilterCondition[] = [
    ...(above.parent?.inheritedFilters ?? []),
    ...(parentSpec.value.filter ?? []),
  ];
  return { ...above, parent: { spec: parentSpec.value, table, inheritedFilters } };
}
