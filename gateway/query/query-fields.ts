/**
 * Resolving a request's names against a pipeline (pure): metric names or inline definitions, dimensions,
 * filter fields and the filter's values against each field's type. Every refusal names the request field
 * and lists what would be accepted.
 */
import type { Aggregation } from "../../api/v1alpha1/aggregation.js";
import { aggregationFieldProblem } from "../../api/v1alpha1/column-types.js";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import type { QueryFilter, QueryRequest } from "../../api/v1alpha1/query.js";
import {
  filterLeaves,
  leafOpProblem,
  leafValues,
  valueProblem,
} from "../../contracts/catalogue/query-filter-values.js";
import {
  type MetricOffer,
  metricOffer,
  type PipelineCatalogue,
} from "../../contracts/catalogue/source-catalogue.js";
import { refuse, useOneOf } from "./query-refusal.js";

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
  const problem = aggregationFieldProblem(metric.fn, field.type);
  if (problem !== undefined)
    refuse(400, "InvalidMetric", `${problem}; ${metric.field} is ${field.type}`, { field: `${path}.field` });
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

/** The top-level conjuncts of a filter: `a AND (b AND c)` → [a, b, c]. */
export function conjuncts(filter: QueryFilter | undefined): QueryFilter[] {
  if (filter === undefined) return [];
  return filter.op === "and" ? filter.filters.flatMap(conjuncts) : [filter];
}

export function filterFields(filter: QueryFilter | undefined): Set<string> {
  return new Set(filterLeaves(filter).map(({ leaf }) => leaf.field));
}

/** Checks the filter's fields exist in `fieldTypes` and each value fits its field's type. */
export function checkFilter(
  filter: QueryFilter | undefined,
  fieldTypes: ReadonlyMap<string, { readonly type: ColumnType }>,
  what: string,
  root = "filter",
): void {
  for (const { leaf, path } of filterLeaves(filter, root)) {
    const field = fieldTypes.get(leaf.field);
    if (field === undefined)
      refuse(
        400,
        "UnknownField",
        `"${leaf.field}" is not a field of ${what}; ${useOneOf([...fieldTypes.keys()])}`,
        { field: `${path}.field`, allowed: [...fieldTypes.keys()] },
      );
    const opProblem = leafOpProblem(leaf, field.type);
    if (opProblem !== undefined)
      refuse(400, "InvalidFilter", opProblem.message, {
        field: opProblem.at === "" ? path : `${path}.${opProblem.at}`,
      });
    for (const { value, at } of leafValues(leaf)) {
      const problem = valueProblem(value, field.type);
      if (problem !== undefined)
        refuse(400, "InvalidFilterValue", `${leaf.field}: ${problem}`, { field: `${path}.${at}` });
    }
  }
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
