/**
 * What the retention and sessions endpoints read (pure, but for the cached catalogue lookup): the
 * pipeline's raw table, its event-time column and the entity field (the pipeline's user_id field by
 * default), event filters checked against the pipeline's fields under the request field's name, and the
 * segment condition. The funnel's analytics-source.ts plays the same part; the two are merged later.
 */
import type { PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import type { Segment } from "../../api/v1alpha1/segment.js";
import {
  buildCatalogue,
  type NamespaceCatalogue,
  type PipelineCatalogue,
} from "../../contracts/catalogue/source-catalogue.js";
import { qualifiedName, quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { userIdField } from "../collect/event-key.js";
import { selectPipeline } from "../query/plan-query.js";
import { checkFilter } from "../query/query-fields.js";
import { QueryRefusal, refuse, useOneOf } from "../query/query-refusal.js";
import { type Params, renderFilter } from "../query/render-query-sql.js";
import { type ResolvedRange, resolveTimeRange } from "../query/time-range.js";

export interface AnalyticsSource {
  readonly pipeline: PipelineCatalogue;
  /** `db`.`table` of the raw events. */
  readonly table: string;
  /** The quoted event-time column. */
  readonly time: string;
  readonly entityField: string;
  /** The quoted entity column. */
  readonly entity: string;
}

export interface SourceSnapshot {
  readonly pipelines: readonly PipelineObject[];
  readonly rollups: readonly RollupObject[];
}

/** The namespace's catalogue, rebuilt only when one of its objects changed. */
export function catalogueLookup(
  snapshot: (namespace: string) => SourceSnapshot,
): (namespace: string) => NamespaceCatalogue {
  const cached = new Map<string, { version: string; catalogue: NamespaceCatalogue }>();
  return (namespace) => {
    const current = snapshot(namespace);
    const version = [...current.pipelines, "|", ...current.rollups]
      .map((o) => (typeof o === "string" ? o : `${o.metadata?.name}@${o.metadata?.resourceVersion}`))
      .join(",");
    const hit = cached.get(namespace);
    if (hit?.version === version) return hit.catalogue;
    const catalogue = buildCatalogue(namespace, current.pipelines, current.rollups);
    cached.set(namespace, { version, catalogue });
    return catalogue;
  };
}

export function resolveAnalyticsSource(
  catalogue: NamespaceCatalogue,
  pipelineName: string | undefined,
  entityField: string | undefined,
): AnalyticsSource {
  const pipeline = selectPipeline(catalogue, pipelineName);
  const fields = [...pipeline.raw.fields.keys()];
  const entity = entityField ?? userIdField;
  if (!pipeline.raw.fields.has(entity))
    refuse(
      400,
      "UnknownField",
      entityField === undefined
        ? `pipeline ${pipeline.name} has no ${userIdField} field: name the entity field in "entity"; ${useOneOf(fields)}`
        : `"${entity}" is not a field of pipeline ${pipeline.name}; ${useOneOf(fields)}`,
      { field: "entity", allowed: fields },
    );
  const { raw } = pipeline;
  return {
    pipeline,
    table: qualifiedName(raw.table.database, raw.table.table, `pipeline ${raw.name}`),
    time: quoteIdentifier(raw.eventTimeField, "eventTime.field"),
    entityField: entity,
    entity: quoteIdentifier(entity, "entity"),
  };
}

/** Refuses an unknown field (naming `field`, e.g. `dimension`) of the pipeline. */
export function checkField(source: AnalyticsSource, name: string, field: string): void {
  const fields = [...source.pipeline.raw.fields.keys()];
  if (!source.pipeline.raw.fields.has(name))
    refuse(
      400,
      "UnknownField",
      `"${name}" is not a field of pipeline ${source.pipeline.name}; ${useOneOf(fields)}`,
      {
        field,
        allowed: fields,
      },
    );
}

/** Checks an event filter under its request field's name (`startEvent.filters[1].field`). */
export function checkEventFilter(source: AnalyticsSource, filter: QueryFilter | undefined, at: string): void {
  checkFilter(filter, source.pipeline.raw.fields, `pipeline ${source.pipeline.name}`, at);
}

/** The filter as a SQL condition, or `1` for none (every event). */
export function eventCondition(
  source: AnalyticsSource,
  filter: QueryFilter | undefined,
  params: Params,
): string {
  return filter === undefined ? "1" : renderFilter(filter, source.pipeline.raw.fields, params);
}

/** The entity is set: not null (a Nullable field) and not written as an empty string. */
export function entityPresent(source: AnalyticsSource): string {
  return `isNotNull(${source.entity}) AND NOT empty(toString(${source.entity}))`;
}

/**
 * THE SEGMENT HOOK: the condition keeping only the segment's entities, or undefined without a segment.
 * The funnel branch's segment renderer (gateway/analytics/segment-*.ts) replaces this body at merge; it
 * takes the same arguments. `segmentRange` is the segment's own range resolved, else the request's.
 */
export function segmentCondition(
  source: AnalyticsSource,
  segment: Segment | undefined,
  segmentRange: ResolvedRange,
  params: Params,
): string | undefined {
  if (segment === undefined) return undefined;
  const members = [
    `SELECT ${source.entity} FROM ${source.table}`,
    `WHERE ${source.time} >= fromUnixTimestamp64Milli(${params.add("Int64", segmentRange.fromMs)})`,
    `AND ${source.time} < fromUnixTimestamp64Milli(${params.add("Int64", segmentRange.toMs)})`,
    `AND (${eventCondition(source, segment.event, params)})`,
    `GROUP BY ${source.entity} HAVING count() >= ${params.add("UInt64", segment.atLeast ?? 1)}`,
  ].join(" ");
  return `${source.entity} ${segment.op === "has_done" ? "IN" : "NOT IN"} (${members})`;
}

/** The segment's own range (a preset resolved in the request's timezone), else the request's range. */
export function segmentRangeOf(
  segment: Segment | undefined,
  requestRange: ResolvedRange,
  timezone: string,
  nowMs: number,
): ResolvedRange {
  if (segment?.timeRange === undefined) return requestRange;
  try {
    return resolveTimeRange(segment.timeRange, "none", timezone, nowMs);
  } catch (error) {
    if (error instanceof QueryRefusal && error.body.field !== undefined)
      refuse(400, error.body.error, error.body.message, { field: `segment.${error.body.field}` });
    throw error;
  }
}

export function checkSegment(source: AnalyticsSource, segment: Segment | undefined): void {
  if (segment !== undefined) checkEventFilter(source, segment.event, "segment.event");
}
