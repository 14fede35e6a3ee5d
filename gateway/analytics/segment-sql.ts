/**
 * Segments as SQL (pure): "entities who did `event` at least `atLeast` times in the range" (has_done)
 * or not (has_not_done), as `entity IN (subquery)` over the pipeline's raw table. The query API, the
 * funnel and retention/sessions all add this one condition where they build their WHERE clause.
 */
import type { TimeRange } from "../../api/v1alpha1/query.js";
import type { Segment } from "../../api/v1alpha1/segment.js";
import type { RawSourceEntry } from "../../contracts/catalogue/source-catalogue.js";
import { checkFilter } from "../query/query-fields.js";
import { QueryRefusal, refuse } from "../query/query-refusal.js";
import { type Params, renderFilter } from "../query/render-query-sql.js";
import { type ResolvedRange, resolveTimeRange } from "../query/time-range.js";
import { rawColumns } from "./analytics-source.js";

export interface ResolvedSegment {
  readonly op: Segment["op"];
  readonly event: Segment["event"];
  readonly atLeast: number;
  readonly range: ResolvedRange;
}

/** The segment's own range (a preset in the request's timezone); a refusal names it under `field`. */
function segmentTimeRange(range: TimeRange, timezone: string, nowMs: number, field: string): ResolvedRange {
  try {
    return resolveTimeRange(range, "none", timezone, nowMs);
  } catch (error) {
    if (error instanceof QueryRefusal && error.body.field !== undefined)
      refuse(400, error.body.error, error.body.message, { field: `${field}.${error.body.field}` });
    throw error;
  }
}

/**
 * Checks the segment's filter against the pipeline and resolves its range (default: the request's).
 * `field` is the request field it came from (segment, compare.segments[1]) for refusals.
 */
export function resolveSegment(
  segment: Segment,
  raw: RawSourceEntry,
  requestRange: ResolvedRange,
  timezone: string,
  nowMs: number,
  rawMaxRangeMs: number,
  field = "segment",
): ResolvedSegment {
  checkFilter(segment.event, raw.fields, `pipeline ${raw.name}`, `${field}.event`);
  const range =
    segment.timeRange === undefined
      ? requestRange
      : segmentTimeRange(segment.timeRange, timezone, nowMs, field);
  if (range.toMs - range.fromMs > rawMaxRangeMs)
    refuse(
      422,
      "RawRangeTooLong",
      `the segment reads ${Math.ceil((range.toMs - range.fromMs) / 3_600_000)} h of raw events; the limit is ${rawMaxRangeMs / 3_600_000} h`,
      { field: `${field}.timeRange` },
    );
  return { op: segment.op, event: segment.event, atLeast: segment.atLeast ?? 1, range };
}

/** `entity [NOT] IN (SELECT entity … GROUP BY entity HAVING count() >= atLeast)`, every value a parameter. */
export function renderSegmentCondition(
  segment: ResolvedSegment,
  raw: RawSourceEntry,
  entityField: string,
  params: Params,
): string {
  const { table, time, entity } = rawColumns(raw, entityField);
  const subquery = [
    `SELECT ${entity} FROM ${table}`,
    `WHERE ${time} >= fromUnixTimestamp64Milli(${params.add("Int64", segment.range.fromMs)})`,
    `AND ${time} < fromUnixTimestamp64Milli(${params.add("Int64", segment.range.toMs)})`,
    `AND ${entity} IS NOT NULL`,
    `AND ${renderFilter(segment.event, raw.fields, params)}`,
    `GROUP BY ${entity} HAVING count() >= ${params.add("UInt64", segment.atLeast)}`,
  ].join(" ");
  return `${entity} ${segment.op === "has_done" ? "IN" : "NOT IN"} (${subquery})`;
}

export interface SegmentContext {
  readonly raw: RawSourceEntry;
  readonly entityField: string;
  /** The request's resolved range: the segment's default. */
  readonly range: ResolvedRange;
  readonly timezone: string;
  readonly nowMs: number;
  readonly rawMaxRangeMs: number;
}

/**
 * The one call an analytics endpoint (retention, sessions) makes where it builds its WHERE clause:
 * the segment's condition, or undefined without one. Refusals name `field` (default "segment").
 */
export function segmentCondition(
  segment: Segment | undefined,
  context: SegmentContext,
  params: Params,
  field = "segment",
): string | undefined {
  if (segment === undefined) return undefined;
  const { raw, entityField, range, timezone, nowMs, rawMaxRangeMs } = context;
  const resolved = resolveSegment(segment, raw, range, timezone, nowMs, rawMaxRangeMs, field);
  return renderSegmentCondition(resolved, raw, entityField, params);
}
