/**
 * What the retention and sessions endpoints read (pure): the pipeline (its raw table, fields, session
 * windows and rollups, for the explain), the entity field as the funnel resolves it, the raw table's
 * columns as SQL, and their event filters checked and rendered under the request field's name. Unlike
 * the funnel they put no span limit on the raw table: cohorts and buckets bound what they read.
 */
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import type { Segment } from "../../api/v1alpha1/segment.js";
import type { NamespaceCatalogue, PipelineCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { selectPipeline } from "../query/plan-query.js";
import { checkFilter } from "../query/query-fields.js";
import type { Params } from "../query/render-query-sql.js";
import { renderFilter } from "../query/render-query-sql.js";
import type { ResolvedRange } from "../query/time-range.js";
import { type RawColumns, rawColumns, resolveEntityField } from "./analytics-source.js";
import { segmentCondition } from "./segment-sql.js";

export interface EntitySource extends RawColumns {
  readonly pipeline: PipelineCatalogue;
  readonly entityField: string;
}

export function resolveEntitySource(
  catalogue: NamespaceCatalogue,
  pipelineName: string | undefined,
  entityField: string | undefined,
): EntitySource {
  const pipeline = selectPipeline(catalogue, pipelineName);
  const entity = resolveEntityField(pipeline.raw.fields, entityField);
  return { pipeline, entityField: entity, ...rawColumns(pipeline.raw, entity) };
}

/** Checks an event filter under its request field's name (`startEvent.filters[1].field`). */
export function checkEventFilter(source: EntitySource, filter: QueryFilter | undefined, at: string): void {
  checkFilter(filter, source.pipeline.raw.fields, `pipeline ${source.pipeline.name}`, at);
}

/** The filter as a SQL condition, or `1` for none (every event). */
export function eventCondition(
  source: EntitySource,
  filter: QueryFilter | undefined,
  params: Params,
): string {
  return filter === undefined ? "1" : renderFilter(filter, source.pipeline.raw.fields, params);
}

/** The entity is set: not null (a Nullable field) and not written as an empty string. */
export function entityPresent(source: EntitySource): string {
  return `isNotNull(${source.entity}) AND NOT empty(toString(${source.entity}))`;
}

/**
 * The segment's condition (segment-sql.ts, as for the funnel and the query API), or undefined without
 * one. `range` is the request's resolved range, the segment's default; no span limit, as above.
 */
export function entitySegmentCondition(
  source: EntitySource,
  segment: Segment | undefined,
  range: ResolvedRange,
  timezone: string,
  nowMs: number,
  params: Params,
): string | undefined {
  const { pipeline, entityField } = source;
  const context = {
    raw: pipeline.raw,
    entityField,
    range,
    timezone,
    nowMs,
    rawMaxRangeMs: Number.POSITIVE_INFINITY,
  };
  return segmentCondition(segment, context, params);
}
