/**
 * Where an analytics request (funnel, retention, sessions, segments) reads (pure): the pipeline's raw
 * table, the entity field (who converts or returns: the pipeline's `user_id` by default, any field on
 * request), the event-time field, and the resolved time range under the raw table's span limit. Rollups
 * hold no entity, so analytics always reads the raw table; `reason` says so in every explain.
 */
import type { TimeRange } from "../../api/v1alpha1/query.js";
import type {
  FieldInfo,
  NamespaceCatalogue,
  RawSourceEntry,
} from "../../contracts/catalogue/source-catalogue.js";
import { qualifiedName, quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { userIdField } from "../collect/event-key.js";
import { defaultPlanLimits, selectPipeline } from "../query/plan-query.js";
import { refuse, useOneOf } from "../query/query-refusal.js";
import { checkTimezone, type ResolvedRange, resolveTimeRange } from "../query/time-range.js";

export interface AnalyticsSource {
  readonly pipeline: string;
  readonly raw: RawSourceEntry;
  readonly entityField: string;
  readonly range: ResolvedRange;
  readonly timezone: string;
  /** For explain: why the raw table. */
  readonly reason: string;
}

export const rawTableReason =
  "the raw table: rollups aggregate away the entity (who did what, in which order), so only raw events answer this";

/** The entity field: the requested one, else the pipeline's user_id; refused (naming `field`) when absent. */
export function resolveEntityField(
  fields: ReadonlyMap<string, FieldInfo>,
  requested: string | undefined,
  field = "entity",
): string {
  const name = requested ?? userIdField;
  if (!fields.has(name))
    refuse(
      400,
      "UnknownEntity",
      requested === undefined
        ? `the pipeline has no ${userIdField} field to count entities by; name one in "${field}": ${useOneOf([...fields.keys()])}`
        : `"${name}" is not a field of the pipeline; ${useOneOf([...fields.keys()])}`,
      { field, allowed: [...fields.keys()] },
    );
  return name;
}

/** Refuses a name (from request field `field`, e.g. `dimension`) that is not a field of the pipeline. */
export function checkField(raw: RawSourceEntry, name: string, field: string): void {
  const fields = [...raw.fields.keys()];
  if (!raw.fields.has(name))
    refuse(400, "UnknownField", `"${name}" is not a field of pipeline ${raw.name}; ${useOneOf(fields)}`, {
      field,
      allowed: fields,
    });
}

/** The raw table and its columns as SQL: `db`.`table`, the quoted event-time and entity columns. */
export interface RawColumns {
  readonly table: string;
  readonly time: string;
  readonly entity: string;
}

export function rawColumns(raw: RawSourceEntry, entityField: string): RawColumns {
  return {
    table: qualifiedName(raw.table.database, raw.table.table, `pipeline ${raw.name}`),
    time: quoteIdentifier(raw.eventTimeField, "eventTime.field"),
    entity: quoteIdentifier(entityField, "entity"),
  };
}

export interface AnalyticsSourceRequest {
  readonly pipeline?: string | undefined;
  readonly entity?: string | undefined;
  readonly timeRange: TimeRange;
  readonly timezone: string;
}

export function resolveAnalyticsSource(
  catalogue: NamespaceCatalogue,
  request: AnalyticsSourceRequest,
  nowMs: number,
  rawMaxRangeMs = defaultPlanLimits.rawMaxRangeMs,
): AnalyticsSource {
  const pipeline = selectPipeline(catalogue, request.pipeline);
  if (!pipeline.availability.ready) refuse(503, "SourceNotReady", pipeline.availability.reason);
  checkTimezone(request.timezone);
  const range = resolveTimeRange(request.timeRange, "none", request.timezone, nowMs);
  if (range.toMs - range.fromMs > rawMaxRangeMs)
    refuse(
      422,
      "RawRangeTooLong",
      `this request reads ${Math.ceil((range.toMs - range.fromMs) / 3_600_000)} h of pipeline ${pipeline.name}'s raw events; the limit is ${rawMaxRangeMs / 3_600_000} h: narrow the time range`,
      { field: "timeRange" },
    );
  return {
    pipeline: pipeline.name,
    raw: pipeline.raw,
    entityField: resolveEntityField(pipeline.raw.fields, request.entity),
    range,
    timezone: request.timezone,
    reason: rawTableReason,
  };
}
