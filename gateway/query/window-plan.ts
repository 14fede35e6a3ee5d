/**
 * Queries of a pipeline's live window (pure part): one row per window instance in the range, grouped by
 * some or all of the window's group-by fields, from the window table's per-partition shares merged as the
 * runtime's combinePartials merges them. Filters apply to the group-by fields.
 */
import type { QueryRequest } from "../../api/v1alpha1/query.js";
import type { PipelineCatalogue, WindowEntry } from "../../contracts/catalogue/source-catalogue.js";
import { type AggregationSpec, aggregationName, resultNames } from "../../contracts/windows/window-spec.js";
import type { CandidateVerdict } from "./plan-query.js";
import { checkDimensions, checkFilter, checkOrderBy } from "./query-fields.js";
import { refuse, useOneOf } from "./query-refusal.js";
import type { ResolvedRange } from "./time-range.js";

export interface WindowPlan {
  readonly kind: "window";
  readonly pipeline: PipelineCatalogue;
  readonly window: WindowEntry;
  /** The requested aggregations, in request order. */
  readonly aggregations: readonly AggregationSpec[];
  readonly dimensions: readonly string[];
  readonly filter: QueryRequest["filter"];
  readonly range: ResolvedRange;
  readonly candidates: readonly CandidateVerdict[];
  readonly orderBy: QueryRequest["orderBy"];
  readonly limit: number;
  readonly offset: number;
}

export function planWindowQuery(
  pipeline: PipelineCatalogue,
  request: QueryRequest,
  range: ResolvedRange,
): WindowPlan {
  const window = pipeline.windows.find((w) => w.name === request.window);
  if (window === undefined)
    refuse(
      400,
      "UnknownWindow",
      `pipeline ${pipeline.name} has no window "${request.window}"; ${useOneOf(pipeline.windows.map((w) => w.name))}`,
      {
        field: "window",
        allowed: pipeline.windows.map((w) => w.name),
      },
    );
  if (request.granularity !== "none")
    refuse(
      400,
      "GranularityNotApplicable",
      `a window query returns one row per ${window.spec.type} window instance; leave granularity unset (none)`,
      { field: "granularity" },
    );
  const offered = new Map(window.spec.aggregations.map((a) => [aggregationName(a), a]));
  const aggregations = request.metrics.map((metric, i) => {
    const name = typeof metric === "string" ? metric : undefined;
    const aggregation = name === undefined ? undefined : offered.get(name);
    if (aggregation === undefined)
      refuse(
        400,
        "UnknownMetric",
        typeof metric === "string"
          ? `window ${window.name} has no aggregation "${metric}"`
          : "a window query names the window's aggregations; inline definitions apply to event queries",
        { field: `metrics[${i}]`, allowed: [...offered.keys()] },
      );
    return aggregation;
  });
  const groupBy = window.spec.groupBy;
  checkDimensions(groupBy, request.dimensions, `window ${window.name} (its groupBy)`);
  const groupFields = new Map(
    groupBy.flatMap((g) => {
      const field = pipeline.raw.fields.get(g);
      return field === undefined ? [] : [[g, field] as const];
    }),
  );
  checkFilter(request.filter, groupFields, `window ${window.name} (filters apply to its groupBy fields)`);
  const columns = ["window_start", "window_end", ...request.dimensions, ...aggregations.flatMap(resultNames)];
  checkOrderBy(request.orderBy, columns);
  return {
    kind: "window",
    pipeline,
    window,
    aggregations,
    dimensions: request.dimensions,
    filter: request.filter,
    range,
    candidates: [
      {
        kind: "Window",
        name: window.name,
        chosen: true,
        reason: `the query names window ${window.name}: its table's partition shares, merged`,
      },
    ],
    orderBy: request.orderBy,
    limit: request.limit,
    offset: request.offset,
  };
}
