/**
 * A query filter's leaves and whether a value suits a field's type (pure). The gateway's planner
 * refuses a request with them and the operator checks a Dashboard panel's filter with them, so a panel
 * the operator accepts is one the gateway answers.
 */
import { columnTypeTraits } from "../../api/v1alpha1/column-types.js";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import type { LeafFilter, QueryFilter } from "../../api/v1alpha1/query.js";

export type ScalarValue = string | number | boolean;

/** Every leaf of a filter tree with its request path. */
export function filterLeaves(
  filter: QueryFilter | undefined,
  path = "filter",
): { leaf: LeafFilter; path: string }[] {
  if (filter === undefined) return [];
  switch (filter.op) {
    case "and":
    case "or":
      return filter.filters.flatMap((f, i) => filterLeaves(f, `${path}.filters[${i}]`));
    case "not":
      return filterLeaves(filter.filter, `${path}.filter`);
    default:
      return [{ leaf: filter, path }];
  }
}

/** The values a leaf compares with, each with its path under the leaf. */
export function leafValues(leaf: LeafFilter): { value: ScalarValue; at: string }[] {
  switch (leaf.op) {
    case "eq":
    case "contains":
      return [{ value: leaf.value, at: "value" }];
    case "in":
      return leaf.values.map((value, i) => ({ value, at: `values[${i}]` }));
    case "range":
      return (["gt", "gte", "lt", "lte"] as const).flatMap((bound) =>
        leaf[bound] === undefined ? [] : [{ value: leaf[bound], at: bound }],
      );
  }
}

/** Why a leaf's operator does not apply to a field of `type` (`at`: "op", or "" for the leaf itself). */
export function leafOpProblem(
  leaf: LeafFilter,
  type: ColumnType,
): { readonly at: "op" | ""; readonly message: string } | undefined {
  const traits = columnTypeTraits[type];
  if (leaf.op === "contains" && traits.base !== "String")
    return { at: "op", message: `contains applies to string fields; ${leaf.field} is ${type}` };
  if (leaf.op === "range") {
    if (!traits.orderable) return { at: "op", message: `range does not apply to ${leaf.field} (${type})` };
    if (leaf.gt === undefined && leaf.gte === undefined && leaf.lt === undefined && leaf.lte === undefined)
      return { at: "", message: "range needs at least one of gt, gte, lt, lte" };
  }
  return undefined;
}

/** Why a filter value does not suit a field of `type`, or undefined when it does. */
export function valueProblem(value: ScalarValue, type: ColumnType): string | undefined {
  const traits = columnTypeTraits[type];
  if (traits.numeric) {
    if (typeof value !== "number")
      return `expected a number (the field is ${type}), got ${JSON.stringify(value)}`;
    if (type.includes("Int") && !Number.isInteger(value)) return `expected an integer (the field is ${type})`;
    if (type.startsWith("U") && value < 0) return `expected a non-negative integer (the field is ${type})`;
    return undefined;
  }
  if (type === "Bool")
    return typeof value === "boolean" ? undefined : `expected true or false, got ${JSON.stringify(value)}`;
  if (traits.temporal)
    return typeof value === "string" && !Number.isNaN(Date.parse(value))
      ? undefined
      : `expected an RFC 3339 time (the field is ${type}), got ${JSON.stringify(value)}`;
  return typeof value === "string"
    ? undefined
    : `expected a string (the field is ${type}), got ${JSON.stringify(value)}`;
}
