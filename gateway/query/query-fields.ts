/**
 * Resolving a request's names against a pipeline (pure): metric names or inline definitions, dimensions,
 * filter fields and the filter's values against each field's type. Every refusal names the request field
 * and lists what would be accepted.
 */
import type { Aggregation } from "../../api/v1alpha1/aggregation.js";
import { columnTypeTraits } from "../../api/v1alpha1/column-types.js";
import type { LeafFilter, QueryFilter, QueryRequest } from "../../api/v1alpha1/query.js";
import {
  type MetricOffer,
  metricOffer,
  type PipelineCatalogue,
} from "../../contracts/catalogue/source-catalogue.js";
import { refuse, useOneOf } from "./query-refusal.js";

export type ScalarValue = string | number | boolean;

/** Resolves each requested metric to its definition; output names must be distinct. */
export function resolveMetrics(
  pipeline: PipelineCatalogue,
  requested: QueryRequest["metrics"],
): MetricOffer[] {
  const offers = requested.map((metric, i) => {
    if (typeof metric === "string") {
      const offer = pipeline.metrics.get(metric);
      if (offer === undefined) {
        const allowed = [...pipeline.metrics.keys()].sort();
        refuse(
          400,
          "UnknownMetric",
          `pipeline ${pipeline.name} has no metric "${metric}"; ${useOneOf(allowed)}, or define the aggregation inline`,
          { field: `metrics[${i}]`, allowed },
        );
      }
      return offer;
    }
    checkInlineMetric(pipeline, metric, `metrics[${i}]`);
    return metricOffer(metric);
  });
  const seen = new Set<string>();
  offers.forEach((offer, i) => {
    for (const column of offer.columns) {
      if (seen.has(column))
        refuse(
          400,
          "DuplicateColumn",
          `result column "${column}" is produced twice; give one of the metrics another name`,
          {
            field: `metrics[${i}]`,
          },
        );
      seen.add(column);
    }
  });
  return offers;
}

function checkInlineMetric(pipeline: PipelineCatalogue, metric: Aggregation, path: string): void {
  if (metric.fn === "count") return;
  const field = pipeline.raw.fields.get(metric.field);
  if (field === undefined)
    refuse(
      400,
      "UnknownField",
      `"${metric.field}" is not a field of pipeline ${pipeline.name}; ${useOneOf([...pipeline.raw.fields.keys()])}`,
      { field: `${path}.field`, allowed: [...pipeline.raw.fields.keys()] },
    );
  const traits = columnTypeTraits[field.type];
  if ((metric.fn === "sum" || metric.fn === "avg" || metric.fn === "quantiles") && !traits.numeric)
    refuse(400, "InvalidMetric", `${metric.fn} needs a numeric field; ${metric.field} is ${field.type}`, {
      field: `${path}.field`,
    });
  if ((metric.fn === "min" || metric.fn === "max") && !traits.numeric && !traits.temporal)
    refuse(
      400,
      "InvalidMetric",
      `${metric.fn} needs a numeric or time field; ${metric.field} is ${field.type}`,
      {
        field: `${path}.field`,
      },
    );
}

export function checkDimensions(
  available: readonly string[],
  dimensions: readonly string[],
  what: string,
): void {
  dimensions.forEach((d, i) => {
    if (!available.includes(d))
      refuse(400, "UnknownDimension", `"${d}" is not a dimension of ${what}; ${useOneOf(available)}`, {
        field: `dimensions[${i}]`,
        allowed: [...available],
      });
  });
  const duplicate = dimensions.find((d, i) => dimensions.indexOf(d) !== i);
  if (duplicate !== undefined)
    refuse(400, "DuplicateDimension", `dimension "${duplicate}" is listed twice`, { field: "dimensions" });
}

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

/** The top-level conjuncts of a filter: `a AND (b AND c)` → [a, b, c]. */
export function conjuncts(filter: QueryFilter | undefined): QueryFilter[] {
  if (filter === undefined) return [];
  return filter.op === "and" ? filter.filters.flatMap(conjuncts) : [filter];
}

export function filterFields(filter: QueryFilter | undefined): Set<string> {
  return new Set(filterLeaves(filter).map(({ leaf }) => leaf.field));
}

function leafValues(leaf: LeafFilter): { value: ScalarValue; at: string }[] {
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

/** Checks the filter's fields exist in `fieldTypes` and each value fits its field's type. */
export function checkFilter(
  filter: QueryFilter | undefined,
  fieldTypes: ReadonlyMap<string, { readonly type: keyof typeof columnTypeTraits }>,
  what: string,
): void {
  for (const { leaf, path } of filterLeaves(filter)) {
    const field = fieldTypes.get(leaf.field);
    if (field === undefined)
      refuse(
        400,
        "UnknownField",
        `"${leaf.field}" is not a field of ${what}; ${useOneOf([...fieldTypes.keys()])}`,
        { field: `${path}.field`, allowed: [...fieldTypes.keys()] },
      );
    const traits = columnTypeTraits[field.type];
    if (leaf.op === "contains" && traits.base !== "String")
      refuse(400, "InvalidFilter", `contains applies to string fields; ${leaf.field} is ${field.type}`, {
        field: `${path}.op`,
      });
    if (leaf.op === "range") {
      if (!traits.orderable)
        refuse(400, "InvalidFilter", `range does not apply to ${leaf.field} (${field.type})`, {
          field: `${path}.op`,
        });
      if (leaf.gt === undefined && leaf.gte === undefined && leaf.lt === undefined && leaf.lte === undefined)
        refuse(400, "InvalidFilter", "range needs at least one of gt, gte, lt, lte", { field: path });
    }
    for (const { value, at } of leafValues(leaf)) {
      const problem = valueProblem(value, field.type);
      if (problem !== undefined)
        refuse(400, "InvalidFilterValue", `${leaf.field}: ${problem}`, { field: `${path}.${at}` });
    }
  }
}

function valueProblem(value: ScalarValue, type: keyof typeof columnTypeTraits): string | undefined {
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

/** Every orderBy field must be a column of the result. */
export function checkOrderBy(orderBy: QueryRequest["orderBy"], columns: readonly string[]): void {
  orderBy.forEach((o, i) => {
    if (!columns.includes(o.field))
      refuse(
        400,
        "UnknownOrderField",
        `cannot order by "${o.field}": it is not a column of the result; ${useOneOf(columns)}`,
        { field: `orderBy[${i}].field`, allowed: columns },
      );
  });
}
