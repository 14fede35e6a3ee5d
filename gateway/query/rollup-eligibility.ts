/**
 * Whether a Rollup can answer a query exactly (pure), and if not, why: Cube's missing "why was this
 * pre-aggregation not used" as a sentence per candidate. A rollup answers when it is ready, holds every
 * requested metric under the same definition, has every dimension the query groups or filters by, its own
 * filters are implied by the query's, and its retention reaches the start of the range. Granularity and
 * alignment are the segment assignment's (a rollup may answer only the aligned middle of a range).
 */
import type { FilterCondition } from "../../api/v1alpha1/aggregation.js";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import type { ScalarValue } from "../../contracts/catalogue/query-filter-values.js";
import {
  type MetricOffer,
  type RollupEntry,
  sameComputation,
} from "../../contracts/catalogue/source-catalogue.js";
import { conjuncts, filterFields } from "./query-fields.js";

const byText = (a: ScalarValue, b: ScalarValue) =>
  String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;

export interface RollupUse {
  readonly rollup: RollupEntry;
  /** The rollup's column for each requested metric, in request order. */
  readonly columns: readonly string[];
  /** The query's filter without the conjuncts the rollup's own filters already applied. */
  readonly residualFilter: QueryFilter | undefined;
}

export type Eligibility =
  | { readonly ok: true; readonly use: RollupUse }
  | { readonly ok: false; readonly reason: string };

/**
 * A filter condition (a Rollup's or an AlertRule's, values written as strings) as the query language
 * writes it; `typed` turns each value into its field's type when the filter is to be run.
 */
export function asQueryFilter(
  condition: FilterCondition,
  typed: (value: string) => ScalarValue = (value) => value,
): QueryFilter[] {
  const { field } = condition;
  const values = condition.values.map(typed);
  const one = values[0] ?? "";
  switch (condition.operator) {
    case "eq":
      return [{ op: "eq", field, value: one }];
    case "ne":
      return [{ op: "not", filter: { op: "eq", field, value: one } }];
    case "in":
      return [{ op: "in", field, values: [...values].sort(byText) }];
    case "notIn":
      return [{ op: "not", filter: { op: "in", field, values: [...values].sort(byText) } }];
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return [{ op: "range", field, [condition.operator]: one }];
  }
}

/** Canonical text of a filter with values as strings (a rollup's filter values are strings). */
function canonical(filter: QueryFilter): string {
  return JSON.stringify(filter, (_key, value: unknown) => {
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (Array.isArray(value) && value.every((v) => typeof v !== "object")) return value.map(String).sort();
    if (value !== null && typeof value === "object" && !Array.isArray(value))
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
    return value;
  });
}

function describeCondition(c: FilterCondition): string {
  return `${c.field} ${c.operator} ${c.values.join(",")}`;
}

/** The query's filter minus the conjuncts equal to the rollup's filters, or why they are not implied. */
function residualAfterRollupFilters(
  rollup: RollupEntry,
  filter: QueryFilter | undefined,
): { ok: true; residual: QueryFilter | undefined } | { ok: false; reason: string } {
  const remaining = conjuncts(filter);
  for (const condition of rollup.filters) {
    const wanted = asQueryFilter(condition).map(canonical);
    const index = remaining.findIndex((c) => wanted.includes(canonical(c)));
    if (index < 0)
      return {
        ok: false,
        reason: `holds only events where ${describeCondition(condition)}; the query's filter does not require that`,
      };
    remaining.splice(index, 1);
  }
  const residual: QueryFilter | undefined =
    remaining.length === 0
      ? undefined
      : remaining.length === 1
        ? remaining[0]
        : { op: "and", filters: remaining };
  return { ok: true, residual };
}

export function judgeRollup(
  rollup: RollupEntry,
  metrics: readonly MetricOffer[],
  dimensions: readonly string[],
  filter: QueryFilter | undefined,
  rangeFromMs: number,
  nowMs: number,
): Eligibility {
  if (!rollup.availability.ready) return { ok: false, reason: rollup.availability.reason };
  const columns: string[] = [];
  for (const metric of metrics) {
    // Matched by what it computes, not by name: a same-named metric defined otherwise never answers.
    const match = rollup.spec.metrics.find((m) => sameComputation(m, metric.definition));
    if (match === undefined)
      return {
        ok: false,
        reason: `has no metric computing ${metric.definition.name} (${describeMetric(metric)})`,
      };
    columns.push(match.name);
  }
  const residual = residualAfterRollupFilters(rollup, filter);
  if (!residual.ok) return { ok: false, reason: residual.reason };
  const needed = [...new Set([...dimensions, ...filterFields(residual.residual)])];
  const missing = needed.filter((d) => !rollup.spec.dimensions.includes(d));
  if (missing.length > 0)
    return {
      ok: false,
      reason: `lacks dimension${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (has ${rollup.spec.dimensions.join(", ") || "none"})`,
    };
  const retentionDays = rollup.spec.retentionDays;
  if (retentionDays !== undefined && rangeFromMs < nowMs - retentionDays * 86_400_000)
    return { ok: false, reason: `keeps ${retentionDays} days; the range starts earlier` };
  return { ok: true, use: { rollup, columns, residualFilter: residual.residual } };
}

function describeMetric(metric: MetricOffer): string {
  const d = metric.definition;
  if (d.fn === "count") return "count";
  if (d.fn === "quantiles") return `quantiles(${d.quantiles.join(", ")}) of ${d.field}`;
  return `${d.fn} of ${d.field}`;
}
