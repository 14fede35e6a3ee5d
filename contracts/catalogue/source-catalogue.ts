/**
 * The catalogue of what a namespace's sources offer a query (pure): for each Pipeline, its raw table,
 * every Rollup whose chain reaches it, and its live windows, each with the metrics (name, definition,
 * exact or estimated), dimensions, granularity and retention it can answer. The gateway's discovery
 * endpoint and router read it; the operator's AlertRule and Dashboard checks resolve names against it.
 *
 * A metric name means one definition per pipeline. Rollups define metrics; the first Rollup (by name)
 * to define a name fixes its meaning, and a Rollup that defines the same name differently answers it
 * only under its own definition (it is listed as a conflict, never used for the shared name).
 */
import type { Aggregation, FilterCondition } from "../../api/v1alpha1/aggregation.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import type { ColumnType, PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { granularityMs, type RollupSpec } from "../../api/v1alpha1/rollup.js";
import { formatProblems, validatePipelineSpec, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import { windowTableName } from "../clickhouse/window-table-ddl.js";
import { windowSpecsOf } from "../windows/pipeline-window-specs.js";
import { quantileLabel, type WindowSpec } from "../windows/window-spec.js";

export interface FieldInfo {
  readonly type: ColumnType;
  readonly nullable: boolean;
}

/** A metric as a source offers it: its definition and the result columns it produces. */
export interface MetricOffer {
  readonly definition: Aggregation;
  /** false for estimates: uniq (HyperLogLog-like) and quantiles (sampled or sketched). */
  readonly exact: boolean;
  readonly columns: readonly string[];
}

interface TableRef {
  readonly database: string;
  readonly table: string;
}

type Availability = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export interface RawSourceEntry {
  readonly kind: "Pipeline";
  readonly name: string;
  readonly table: TableRef;
  readonly eventTimeField: string;
  readonly fields: ReadonlyMap<string, FieldInfo>;
  readonly retentionDays: number | undefined;
  readonly allowedLatenessMs: number;
}

export interface RollupEntry {
  readonly kind: "Rollup";
  readonly name: string;
  readonly spec: RollupSpec;
  readonly granularityMs: number;
  /** Filters of this rollup and of every rollup it cascades from: only events matching all are in it. */
  readonly filters: readonly FilterCondition[];
  /** The serving table from the Rollup's status; undefined until the operator has created it. */
  readonly table: TableRef | undefined;
  readonly availability: Availability;
  /** Metric names this rollup defines differently from the pipeline's meaning of the name. */
  readonly conflicts: readonly string[];
}

export interface WindowEntry {
  readonly kind: "Window";
  readonly name: string;
  readonly spec: WindowSpec;
  readonly table: TableRef;
}

export interface PipelineCatalogue {
  readonly name: string;
  readonly spec: PipelineSpec;
  readonly availability: Availability;
  readonly raw: RawSourceEntry;
  /** The pipeline's metric names: its rollups' metrics plus the built-in `count`. */
  readonly metrics: ReadonlyMap<string, MetricOffer>;
  readonly rollups: readonly RollupEntry[];
  readonly windows: readonly WindowEntry[];
}

export interface NamespaceCatalogue {
  readonly namespace: string;
  readonly pipelines: ReadonlyMap<string, PipelineCatalogue>;
  /** Objects that could not be placed (invalid spec, broken cascade), with why: shown by discovery. */
  readonly unusable: readonly { readonly kind: string; readonly name: string; readonly reason: string }[];
}

const builtinCount: Aggregation = { fn: "count", name: "count" };

export function isExact(definition: Aggregation): boolean {
  return definition.fn !== "uniq" && definition.fn !== "quantiles";
}

export function metricColumns(definition: Aggregation): string[] {
  return definition.fn === "quantiles"
    ? definition.quantiles.map((q) => `${definition.name}_${quantileLabel(q)}`)
    : [definition.name];
}

export function metricOffer(definition: Aggregation): MetricOffer {
  return { definition, exact: isExact(definition), columns: metricColumns(definition) };
}

/** What a definition computes, independent of its output name and of the order its keys were written in. */
function computation(definition: Aggregation): string {
  const { name: _name, ...rest } = definition;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Two definitions compute the same thing (the output name aside). */
export function sameComputation(a: Aggregation, b: Aggregation): boolean {
  return computation(a) === computation(b);
}

function conditionStatus(object: {
  status?: { conditions?: readonly { type: string; status: string; message?: string }[] };
}) {
  return object.status?.conditions?.find((c) => c.type === "Ready");
}

function availabilityOf(object: RollupObject | PipelineObject, kind: string, name: string): Availability {
  const ready = conditionStatus(object);
  if (ready?.status === "True") return { ready: true };
  return {
    ready: false,
    reason: `${kind} ${name} is not Ready${ready?.message ? `: ${ready.message}` : ""}`,
  };
}

function rawEntry(name: string, spec: PipelineSpec): RawSourceEntry {
  return {
    kind: "Pipeline",
    name,
    table: { database: spec.sink.clickhouse.database, table: spec.sink.clickhouse.table },
    eventTimeField: spec.eventTime.field,
    fields: new Map(spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }])),
    retentionDays: spec.sink.clickhouse.retentionDays,
    allowedLatenessMs: parseDuration(spec.eventTime.allowedLateness, "spec.eventTime.allowedLateness"),
  };
}

interface ValidRollup {
  readonly object: RollupObject;
  readonly name: string;
  readonly spec: RollupSpec;
}

/** Follows a rollup's cascade to its pipeline, collecting the filters on the way; a string says why not. */
function resolveChain(
  rollup: ValidRollup,
  byName: ReadonlyMap<string, ValidRollup>,
): { pipeline: string; filters: FilterCondition[] } | string {
  const filters: FilterCondition[] = [];
  const seen = new Set<string>();
  let current: ValidRollup | undefined = rollup;
  while (current !== undefined) {
    if (seen.has(current.name)) return `Rollup ${rollup.name}: its cascade loops through ${current.name}`;
    seen.add(current.name);
    filters.push(...(current.spec.filter ?? []));
    const source: RollupSpec["source"] = current.spec.source;
    if (source.kind === "Pipeline") return { pipeline: source.name, filters };
    const parent = byName.get(source.name);
    if (parent === undefined)
      return `Rollup ${current.name}: its source Rollup ${source.name} does not exist or is invalid`;
    current = parent;
  }
  return `Rollup ${rollup.name}: no source`;
}

function tableOf(status: RollupObject["status"]): TableRef | undefined {
  return status?.table !== undefined && status.database !== undefined
    ? { database: status.database, table: status.table }
    : undefined;
}

function sortedByName<T extends { metadata?: { name?: string } }>(objects: readonly T[]): T[] {
  return [...objects].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

export function buildCatalogue(
  namespace: string,
  pipelineObjects: readonly PipelineObject[],
  rollupObjects: readonly RollupObject[],
): NamespaceCatalogue {
  const unusable: { kind: string; name: string; reason: string }[] = [];
  const validRollups = new Map<string, ValidRollup>();
  for (const object of sortedByName(rollupObjects)) {
    const name = object.metadata?.name ?? "";
    const checked = validateRollupSpec(object.spec);
    if (checked.ok) validRollups.set(name, { object, name, spec: checked.value });
    else unusable.push({ kind: "Rollup", name, reason: `invalid spec: ${formatProblems(checked.problems)}` });
  }
  const rollupsByPipeline = new Map<string, RollupEntry[]>();
  for (const rollup of validRollups.values()) {
    const chain = resolveChain(rollup, validRollups);
    if (typeof chain === "string") {
      unusable.push({ kind: "Rollup", name: rollup.name, reason: chain });
      continue;
    }
    const list = rollupsByPipeline.get(chain.pipeline) ?? [];
    const table = tableOf(rollup.object.status);
    const availability = availabilityOf(rollup.object, "Rollup", rollup.name);
    list.push({
      kind: "Rollup",
      name: rollup.name,
      spec: rollup.spec,
      granularityMs: granularityMs[rollup.spec.granularity],
      filters: chain.filters,
      table,
      availability:
        availability.ready && table === undefined
          ? { ready: false, reason: `Rollup ${rollup.name} has no serving table yet` }
          : availability,
      conflicts: [],
    });
    rollupsByPipeline.set(chain.pipeline, list);
  }

  const pipelines = new Map<string, PipelineCatalogue>();
  for (const object of sortedByName(pipelineObjects)) {
    const name = object.metadata?.name ?? "";
    const checked = validatePipelineSpec(object.spec);
    if (!checked.ok) {
      unusable.push({ kind: "Pipeline", name, reason: `invalid spec: ${formatProblems(checked.problems)}` });
      continue;
    }
    const spec = checked.value;
    const raw = rawEntry(name, spec);
    const metrics = new Map<string, MetricOffer>([[builtinCount.name, metricOffer(builtinCount)]]);
    const rollups = (rollupsByPipeline.get(name) ?? []).map((rollup) => {
      const conflicts: string[] = [];
      for (const m of rollup.spec.metrics) {
        const known = metrics.get(m.name);
        if (known === undefined) metrics.set(m.name, metricOffer(m));
        else if (!sameComputation(known.definition, m)) conflicts.push(m.name);
      }
      return { ...rollup, conflicts };
    });
    const windowTable = { database: raw.table.database, table: windowTableName(raw.table.table) };
    pipelines.set(name, {
      name,
      spec,
      availability: availabilityOf(object, "Pipeline", name),
      raw,
      metrics,
      rollups,
      windows: windowSpecsOf(spec).map((w) => ({
        kind: "Window",
        name: w.name,
        spec: w,
        table: windowTable,
      })),
    });
  }
  for (const [pipeline, rollups] of rollupsByPipeline) {
    if (!pipelines.has(pipeline))
      for (const r of rollups)
        unusable.push({
          kind: "Rollup",
          name: r.name,
          reason: `its pipeline ${pipeline} does not exist or is invalid`,
        });
  }
  return { namespace, pipelines, unusable };
}
