/**
 * Checks a Dashboard panel against the namespace's catalogue (pure): the pipeline, window, metrics,
 * dimensions, filter fields and values and sort keys it names exist and have types that suit their use,
 * and the visualisation suits the rows. Which table answers (routing) is the gateway's, at read time;
 * this says whether the panel can be answered at all. Every problem names its field path, so a bad
 * panel is reported precisely and the others stay usable.
 */
import type { Aggregation } from "../../api/v1alpha1/aggregation.js";
import { aggregationFieldProblem } from "../../api/v1alpha1/column-types.js";
import type { DashboardPanel, Visualization } from "../../api/v1alpha1/dashboard.js";
import type { QueryFilter, QueryRequest } from "../../api/v1alpha1/query.js";
import type { SpecProblem } from "../../api/v1alpha1/validation.js";
import { aggregationName, resultNames } from "../windows/window-spec.js";
import { filterLeaves, leafOpProblem, leafValues, valueProblem } from "./query-filter-values.js";
import type { FieldInfo, NamespaceCatalogue, PipelineCatalogue, WindowEntry } from "./source-catalogue.js";
import { metricColumns } from "./source-catalogue.js";

type Report = (path: string, message: string) => void;
type WindowSourceSpec = Extract<DashboardPanel["source"], { window: unknown }>["window"];

function useOneOf(names: readonly string[]): string {
  return names.length === 0 ? "there are none" : `use one of: ${names.join(", ")}`;
}

export function checkPanel(
  catalogue: NamespaceCatalogue,
  panel: DashboardPanel,
  path: string,
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const report: Report = (at, message) => problems.push({ path: at, message });
  const { source } = panel;
  if ("query" in source)
    checkQuery(catalogue, panel.visualization, source.query, `${path}.source.query`, report);
  else checkWindowSource(catalogue, panel.visualization, source.window, `${path}.source.window`, report);
  return problems;
}

/** The pipeline a panel names (or the namespace's only one, when a query names none). */
function findPipeline(
  catalogue: NamespaceCatalogue,
  name: string | undefined,
  at: string,
  report: Report,
): PipelineCatalogue | undefined {
  const names = [...catalogue.pipelines.keys()];
  if (name === undefined) {
    if (names.length === 1) return catalogue.pipelines.get(names[0] ?? "");
    report(
      at,
      names.length === 0
        ? `namespace ${catalogue.namespace} has no usable Pipeline`
        : `namespace ${catalogue.namespace} has ${names.length} pipelines; name one: ${names.join(", ")}`,
    );
    return undefined;
  }
  const pipeline = catalogue.pipelines.get(name);
  if (pipeline !== undefined) return pipeline;
  const unusable = catalogue.unusable.find((u) => u.kind === "Pipeline" && u.name === name);
  report(
    at,
    unusable !== undefined
      ? `Pipeline ${name} cannot be used: ${unusable.reason}`
      : `namespace ${catalogue.namespace} has no Pipeline "${name}"; ${useOneOf(names)}`,
  );
  return undefined;
}

function findWindow(
  pipeline: PipelineCatalogue,
  name: string,
  at: string,
  report: Report,
): WindowEntry | undefined {
  const window = pipeline.windows.find((w) => w.name === name);
  if (window === undefined)
    report(
      at,
      `pipeline ${pipeline.name} has no window "${name}"; ${useOneOf(pipeline.windows.map((w) => w.name))}`,
    );
  return window;
}

function checkNames(
  names: readonly string[],
  allowed: readonly string[],
  at: string,
  what: string,
  report: Report,
) {
  names.forEach((name, i) => {
    if (!allowed.includes(name)) report(`${at}[${i}]`, `"${name}" is not ${what}; ${useOneOf(allowed)}`);
    else if (names.indexOf(name) !== i) report(`${at}[${i}]`, `"${name}" is listed twice`);
  });
}

function checkFilter(
  filter: QueryFilter | undefined,
  fields: ReadonlyMap<string, FieldInfo>,
  at: string,
  what: string,
  report: Report,
): void {
  for (const { leaf, path } of filterLeaves(filter, at)) {
    const field = fields.get(leaf.field);
    if (field === undefined) {
      report(`${path}.field`, `"${leaf.field}" is not a field of ${what}; ${useOneOf([...fields.keys()])}`);
      continue;
    }
    const opProblem = leafOpProblem(leaf, field.type);
    if (opProblem !== undefined) {
      // Its values are beside the point once the operator itself does not apply.
      report(opProblem.at === "" ? path : `${path}.${opProblem.at}`, opProblem.message);
      continue;
    }
    for (const { value, at: valueAt } of leafValues(leaf)) {
      const problem = valueProblem(value, field.type);
      if (problem !== undefined) report(`${path}.${valueAt}`, `${leaf.field}: ${problem}`);
    }
  }
}

function checkOrderBy(
  orderBy: QueryRequest["orderBy"],
  columns: readonly string[],
  at: string,
  report: Report,
) {
  orderBy.forEach((o, i) => {
    if (!columns.includes(o.field))
      report(`${at}[${i}].field`, `"${o.field}" is not a column of the result; ${useOneOf(columns)}`);
  });
}

/** Whether the rows suit the visualisation: a time axis for a timeseries, groups to rank for a topN. */
function checkVisualization(
  visualization: Visualization,
  rows: { readonly timed: boolean; readonly dimensions: readonly string[] },
  at: { readonly time: string; readonly dimensions: string },
  report: Report,
): void {
  if (visualization === "timeseries" && !rows.timed)
    report(
      at.time,
      "a timeseries panel needs time buckets: set a granularity (e.g. 1m), or use bar, table or stat",
    );
  if (visualization === "topN" && rows.dimensions.length === 0)
    report(at.dimensions, "a topN panel ranks dimension values: group by at least one dimension");
  if (visualization === "stat" && rows.dimensions.length > 0)
    report(
      at.dimensions,
      `a stat panel shows one number per metric, but the rows are grouped by ${rows.dimensions.join(", ")}: group by nothing, or use table, bar or topN`,
    );
}

function checkQuery(
  catalogue: NamespaceCatalogue,
  visualization: Visualization,
  query: QueryRequest,
  path: string,
  report: Report,
): void {
  const pipeline = findPipeline(catalogue, query.pipeline, `${path}.pipeline`, report);
  if (pipeline === undefined) return;
  if (query.window !== undefined) {
    checkWindowQuery(pipeline, visualization, query, query.window, path, report);
    return;
  }
  const columns = query.metrics.flatMap((metric, i) =>
    metricOfEvents(pipeline, metric, `${path}.metrics[${i}]`, report),
  );
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate !== undefined)
    report(
      `${path}.metrics`,
      `result column "${duplicate}" is produced twice; give one of the metrics another name`,
    );
  const fields = [...pipeline.raw.fields.keys()];
  checkNames(query.dimensions, fields, `${path}.dimensions`, `a field of pipeline ${pipeline.name}`, report);
  checkFilter(query.filter, pipeline.raw.fields, `${path}.filter`, `pipeline ${pipeline.name}`, report);
  checkOrderBy(
    query.orderBy,
    [...(query.granularity === "none" ? [] : ["time"]), ...query.dimensions, ...columns],
    `${path}.orderBy`,
    report,
  );
  checkVisualization(
    visualization,
    { timed: query.granularity !== "none", dimensions: query.dimensions },
    { time: `${path}.granularity`, dimensions: `${path}.dimensions` },
    report,
  );
}

/** A metric of an event query: one the pipeline offers, or an inline aggregation of its fields; its columns. */
function metricOfEvents(
  pipeline: PipelineCatalogue,
  metric: string | Aggregation,
  at: string,
  report: Report,
): readonly string[] {
  if (typeof metric === "string") {
    const offer = pipeline.metrics.get(metric);
    if (offer !== undefined) return offer.columns;
    report(
      at,
      `pipeline ${pipeline.name} has no metric "${metric}"; ${useOneOf([...pipeline.metrics.keys()].sort())}, or define the aggregation inline`,
    );
    return [];
  }
  if (metric.fn !== "count") {
    const field = pipeline.raw.fields.get(metric.field);
    if (field === undefined) {
      report(
        `${at}.field`,
        `"${metric.field}" is not a field of pipeline ${pipeline.name}; ${useOneOf([...pipeline.raw.fields.keys()])}`,
      );
    } else {
      const problem = aggregationFieldProblem(metric.fn, field.type);
      if (problem !== undefined) report(`${at}.field`, `${problem}; ${metric.field} is ${field.type}`);
    }
  }
  return metricColumns(metric);
}

/** A query of a window's table: the window's aggregations, grouped and filtered by its groupBy fields. */
function checkWindowQuery(
  pipeline: PipelineCatalogue,
  visualization: Visualization,
  query: QueryRequest,
  windowName: string,
  path: string,
  report: Report,
): void {
  const window = findWindow(pipeline, windowName, `${path}.window`, report);
  if (window === undefined) return;
  if (query.granularity !== "none")
    report(
      `${path}.granularity`,
      `a window query returns one row per ${window.spec.type} window instance; leave granularity out (none)`,
    );
  const offered = new Map(window.spec.aggregations.map((a) => [aggregationName(a), a]));
  const columns = query.metrics.flatMap((metric, i) => {
    const aggregation = typeof metric === "string" ? offered.get(metric) : undefined;
    if (aggregation !== undefined) return resultNames(aggregation);
    report(
      `${path}.metrics[${i}]`,
      typeof metric === "string"
        ? `window ${window.name} has no aggregation "${metric}"; ${useOneOf([...offered.keys()])}`
        : "a window query names the window's aggregations; inline definitions apply to event queries",
    );
    return [];
  });
  const groupBy = window.spec.groupBy;
  const what = `window ${window.name} (its groupBy)`;
  checkNames(query.dimensions, groupBy, `${path}.dimensions`, `a groupBy field of ${what}`, report);
  const groupFields = new Map([...pipeline.raw.fields].filter(([name]) => groupBy.includes(name)));
  checkFilter(query.filter, groupFields, `${path}.filter`, what, report);
  checkOrderBy(
    query.orderBy,
    ["window_start", "window_end", ...query.dimensions, ...columns],
    `${path}.orderBy`,
    report,
  );
  checkVisualization(
    visualization,
    { timed: true, dimensions: query.dimensions },
    { time: `${path}.window`, dimensions: `${path}.dimensions` },
    report,
  );
}

/** A live window: its aggregations, grouped by some (by default all) of its groupBy fields. */
function checkWindowSource(
  catalogue: NamespaceCatalogue,
  visualization: Visualization,
  source: WindowSourceSpec,
  path: string,
  report: Report,
): void {
  const pipeline = findPipeline(catalogue, source.pipeline, `${path}.pipeline`, report);
  if (pipeline === undefined) return;
  const window = findWindow(pipeline, source.window, `${path}.window`, report);
  if (window === undefined) return;
  const names = window.spec.aggregations.map(aggregationName);
  checkNames(source.metrics, names, `${path}.metrics`, `an aggregation of window ${window.name}`, report);
  const groupBy = window.spec.groupBy;
  if (source.dimensions !== undefined)
    checkNames(
      source.dimensions,
      groupBy,
      `${path}.dimensions`,
      `a groupBy field of window ${window.name}`,
      report,
    );
  checkVisualization(
    visualization,
    { timed: true, dimensions: source.dimensions ?? groupBy },
    { time: `${path}.window`, dimensions: `${path}.dimensions` },
    report,
  );
}
