/**
 * An events plan as one parameterized ClickHouse query (pure). Every value is a `{name:Type}` parameter;
 * identifiers come from the validated catalogue through quoteIdentifier. Each segment yields aggregate
 * states per (bucket, dimensions): a rollup's stored states as they are, the raw table's computed with
 * the same state expression a rollup's view uses. The outer query merges them with -Merge, so a bucket
 * that spans two segments, and uniq and quantiles, come out as one pass over the events would give them.
 */
import { columnTypeTraits } from "../../api/v1alpha1/column-types.js";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import type { FieldInfo } from "../../contracts/catalogue/source-catalogue.js";
import { granularityIntervals, renderMetricColumn } from "../../contracts/clickhouse/rollup-ddl.js";
import { qualifiedName, quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { renderSegmentCondition } from "../analytics/segment-sql.js";
import type { EventsPlan, Segment } from "./plan-query.js";

export interface RenderedQuery {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

/** Collects `{pN:Type}` query parameters; every value of every rendered query goes through one. */
export class Params {
  readonly values: Record<string, unknown> = {};
  private next = 0;

  add(type: string, value: unknown): string {
    const name = `p${this.next++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

/** A filter value as a parameter of the column's type (times as epoch ms). */
function valueParam(params: Params, field: FieldInfo, value: string | number | boolean): string {
  const traits = columnTypeTraits[field.type];
  if (traits.temporal) return `fromUnixTimestamp64Milli(${params.add("Int64", Date.parse(String(value)))})`;
  return params.add(traits.base, value);
}

export function renderFilter(
  filter: QueryFilter,
  fields: ReadonlyMap<string, FieldInfo>,
  params: Params,
): string {
  switch (filter.op) {
    case "and":
    case "or":
      return `(${filter.filters.map((f) => renderFilter(f, fields, params)).join(` ${filter.op.toUpperCase()} `)})`;
    case "not":
      return `NOT (${renderFilter(filter.filter, fields, params)})`;
    default:
      break;
  }
  const field = fields.get(filter.field);
  if (field === undefined)
    throw new Error(`filter field ${filter.field} was not checked against the pipeline`);
  const column = quoteIdentifier(filter.field, "filter.field");
  switch (filter.op) {
    case "eq":
      return `${column} = ${valueParam(params, field, filter.value)}`;
    case "in": {
      const traits = columnTypeTraits[field.type];
      if (traits.temporal)
        return `${column} IN (${filter.values.map((v) => valueParam(params, field, v)).join(", ")})`;
      return `${column} IN ${params.add(`Array(${traits.base})`, filter.values)}`;
    }
    case "contains":
      return `position(${column}, ${params.add("String", filter.value)}) > 0`;
    case "range": {
      const bounds = (
        [
          ["gt", ">"],
          ["gte", ">="],
          ["lt", "<"],
          ["lte", "<="],
        ] as const
      ).flatMap(([key, op]) => {
        const value = filter[key];
        return value === undefined ? [] : [`${column} ${op} ${valueParam(params, field, value)}`];
      });
      return `(${bounds.join(" AND ")})`;
    }
  }
}

/** `_t`: the segment's time column as epoch seconds of its bucket (raw: already in the query's bucket). */
function segmentSelect(plan: EventsPlan, segment: Segment, params: Params): string {
  const dims = plan.dimensions.map((d) => quoteIdentifier(d, "dimensions"));
  const fields = plan.pipeline.raw.fields;
  const bucketed = plan.granularity !== "none";
  if (segment.source.kind === "Rollup") {
    const { use } = segment.source;
    const table = use.rollup.table;
    if (table === undefined) throw new Error(`rollup ${use.rollup.name} has no table`);
    const where = [
      `bucket >= toDateTime(${params.add("Int64", segment.fromMs / 1000)})`,
      `bucket < toDateTime(${params.add("Int64", segment.toMs / 1000)})`,
      ...(use.residualFilter === undefined ? [] : [renderFilter(use.residualFilter, fields, params)]),
    ];
    return [
      "SELECT",
      [
        ...(bucketed ? ["toUnixTimestamp(bucket) AS _t"] : []),
        ...dims,
        ...use.columns.map((c, i) => `${quoteIdentifier(c, "rollup metric")} AS _m${i}`),
      ].join(", "),
      `FROM ${qualifiedName(table.database, table.table, `rollup ${use.rollup.name}`)}`,
      `WHERE ${where.join(" AND ")}`,
    ].join(" ");
  }
  const { raw } = segment.source;
  const tz = bucketed ? params.add("String", plan.timezone) : "";
  const time = quoteIdentifier(raw.eventTimeField, "eventTime.field");
  const where = [
    `${time} >= fromUnixTimestamp64Milli(${params.add("Int64", segment.fromMs)})`,
    `${time} < fromUnixTimestamp64Milli(${params.add("Int64", segment.toMs)})`,
    ...(plan.filter === undefined ? [] : [renderFilter(plan.filter, fields, params)]),
    ...(plan.entitySegment === undefined
      ? []
      : [renderSegmentCondition(plan.entitySegment.resolved, raw, plan.entitySegment.entityField, params)]),
  ];
  const interval = bucketed ? granularityIntervals[plan.granularity] : "";
  const groupBy = [...(bucketed ? ["_t"] : []), ...dims];
  return [
    "SELECT",
    [
      ...(bucketed
        ? [`toUnixTimestamp(toStartOfInterval(toDateTime(${time}), ${interval}, ${tz})) AS _t`]
        : []),
      ...dims,
      ...plan.metrics.map(
        (m, i) => `${renderMetricColumn(m.definition, fields, `metrics[${i}]`).stateExpression} AS _m${i}`,
      ),
    ].join(", "),
    `FROM ${qualifiedName(raw.table.database, raw.table.table, `pipeline ${raw.name}`)}`,
    `WHERE ${where.join(" AND ")}`,
    ...(groupBy.length > 0 ? [`GROUP BY ${groupBy.join(", ")}`] : []),
  ].join(" ");
}

/** The merge expressions of one metric, one per result column. */
function mergeColumns(plan: EventsPlan, index: number): string[] {
  const metric = plan.metrics[index];
  if (metric === undefined) return [];
  const { mergeFunction } = renderMetricColumn(
    metric.definition,
    plan.pipeline.raw.fields,
    `metrics[${index}]`,
  );
  const merged = `${mergeFunction}(_m${index})`;
  return metric.columns.map((column, q) => {
    const name = quoteIdentifier(column, `metrics[${index}]`);
    return metric.definition.fn === "quantiles" ? `${merged}[${q + 1}] AS ${name}` : `${merged} AS ${name}`;
  });
}

export function renderEventsQuery(plan: EventsPlan): RenderedQuery {
  const params = new Params();
  const segments = plan.segments.map((s) => segmentSelect(plan, s, params));
  const dims = plan.dimensions.map((d) => quoteIdentifier(d, "dimensions"));
  const bucketed = plan.granularity !== "none";
  const timeColumn = bucketed
    ? `toUnixTimestamp(toStartOfInterval(toDateTime(_t), ${granularityIntervals[plan.granularity]}, ${params.add("String", plan.timezone)})) * 1000 AS time`
    : undefined;
  const groupBy = [...(bucketed ? ["time"] : []), ...dims];
  const order =
    plan.orderBy.length > 0
      ? plan.orderBy.map(
          (o) => `${quoteIdentifier(o.field, "orderBy")} ${o.direction === "desc" ? "DESC" : "ASC"}`,
        )
      : groupBy;
  const sql = [
    "SELECT",
    [
      ...(timeColumn === undefined ? [] : [timeColumn]),
      ...dims,
      ...plan.metrics.flatMap((_, i) => mergeColumns(plan, i)),
    ].join(",\n  "),
    `FROM (\n${segments.join("\nUNION ALL\n")}\n)`,
    ...(groupBy.length > 0 ? [`GROUP BY ${groupBy.join(", ")}`] : []),
    ...(order.length > 0 ? [`ORDER BY ${order.join(", ")}`] : []),
    `LIMIT ${params.add("UInt32", plan.limit)} OFFSET ${params.add("UInt32", plan.offset)}`,
  ].join("\n");
  return { sql, params: params.values };
}
