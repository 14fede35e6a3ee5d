/**
 * From an AlertRule to the questions the query layer answers, and from the answers to the series the
 * state machine judges (pure). A Rollup rule asks the rollup's pipeline for the rollup's metric (its
 * definition written inline, so a same-named metric defined otherwise is never used) under the
 * rollup's own filters and the rule's, grouped by the rule's groupBy, over the trailing `range`
 * ending now, as one row per series; the router then reads the rollup for the aligned middle and the
 * raw table for the edges, so the value is exact. A Window rule asks the live window, and each
 * series' value is its latest window instance in the range. A change condition asks a second time,
 * for the same range `over` earlier.
 */
import { columnTypeTraits } from "../../api/v1alpha1/column-types.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { QueryRequest, QueryResponse, ResultValue } from "../../api/v1alpha1/query.js";
import type { ScalarValue } from "../../contracts/catalogue/query-filter-values.js";
import type { FieldInfo, NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { metricColumns } from "../../contracts/catalogue/source-catalogue.js";
import { aggregationName, resultNames } from "../../contracts/windows/window-spec.js";
import { asQueryFilter } from "../query/rollup-eligibility.js";
import type { AlertRuleRef, Evaluation, SeriesLabels, SeriesValue } from "./alert-state.js";
import { seriesKey } from "./alert-state.js";

/** How a series' value is taken from the answer's rows. */
type ValuePick =
  /** One row per series (an events query grouped by the series' labels). */
  | "only"
  /** A window query: one row per window instance; the latest (by window_end) is the value. */
  | "latestWindow";

export interface RuleQueries {
  readonly current: QueryRequest;
  /** Change conditions: the same question `over` earlier. */
  readonly previous?: QueryRequest;
  /** The result column holding the value. */
  readonly column: string;
  readonly labels: readonly string[];
  readonly pick: ValuePick;
}

/** The questions, or why the rule cannot be asked now (its source is missing or not Ready): an Error. */
export type RuleQueryPlan =
  | { readonly ok: true; readonly queries: RuleQueries }
  | { readonly ok: false; readonly message: string };

/** The most rows one evaluation reads: the status keeps 100 series, the state machine any number. */
const maxSeries = 10_000;

function typedValue(field: FieldInfo | undefined): (value: string) => ScalarValue {
  if (field === undefined) return (value) => value;
  const traits = columnTypeTraits[field.type];
  if (traits.numeric) return (value) => Number(value);
  if (field.type === "Bool") return (value) => value === "true";
  return (value) => value;
}

function request(
  spec: AlertRuleRef["spec"],
  pipeline: string,
  metric: QueryRequest["metrics"][number],
  filters: QueryRequest["filter"][],
  toMs: number,
  window?: { readonly name: string; readonly lengthMs: number },
): QueryRequest {
  const present = filters.filter((f): f is NonNullable<typeof f> => f !== undefined);
  // Window instances are found by their start: one that ends within the range started up to a window
  // length earlier (a 1m window closes after its minute, so `range: 1m` alone would never find one).
  const rangeMs = parseDuration(spec.query.range, "spec.query.range") + (window?.lengthMs ?? 0);
  return {
    pipeline,
    ...(window === undefined ? {} : { window: window.name }),
    metrics: [metric],
    dimensions: [...spec.query.groupBy],
    ...(present.length === 0
      ? {}
      : { filter: present.length === 1 ? present[0] : { op: "and", filters: present } }),
    timeRange: { from: new Date(toMs - rangeMs).toISOString(), to: new Date(toMs).toISOString() },
    granularity: "none",
    timezone: "UTC",
    orderBy: [],
    limit: maxSeries,
    offset: 0,
  };
}

function withPrevious(
  spec: AlertRuleRef["spec"],
  build: (toMs: number) => QueryRequest,
  nowMs: number,
): Pick<RuleQueries, "current" | "previous"> {
  const condition = spec.condition;
  return condition.type === "change"
    ? {
        current: build(nowMs),
        previous: build(nowMs - parseDuration(condition.over, "spec.condition.over")),
      }
    : { current: build(nowMs) };
}

const oneColumn = (metric: string, columns: readonly string[], what: string) =>
  `spec.query.metric: ${metric} of ${what} has ${columns.length} result columns (${columns.join(", ")}); an alert compares one value: alert on a metric with one column`;

/** The questions for one evaluation at `nowMs`. `spec` is the validated spec (defaults applied). */
export function ruleQueries(
  namespace: string,
  spec: AlertRuleRef["spec"],
  catalogue: NamespaceCatalogue,
  nowMs: number,
): RuleQueryPlan {
  const { source, metric } = spec.query;
  if (source.kind === "Rollup") {
    const pipeline = [...catalogue.pipelines.values()].find((p) =>
      p.rollups.some((r) => r.name === source.name),
    );
    const rollup = pipeline?.rollups.find((r) => r.name === source.name);
    if (pipeline === undefined || rollup === undefined) {
      const unusable = catalogue.unusable.find((u) => u.kind === "Rollup" && u.name === source.name);
      return {
        ok: false,
        message: `spec.query.source: Rollup ${namespace}/${source.name} ${unusable === undefined ? "does not exist" : `cannot be used: ${unusable.reason}`}`,
      };
    }
    if (!rollup.availability.ready)
      return { ok: false, message: `spec.query.source: ${rollup.availability.reason}` };
    const definition = rollup.spec.metrics.find((m) => m.name === metric);
    if (definition === undefined)
      return {
        ok: false,
        message: `spec.query.metric: Rollup ${source.name} has no metric "${metric}" (has: ${rollup.spec.metrics.map((m) => m.name).join(", ")})`,
      };
    const columns = metricColumns(definition);
    if (columns.length !== 1)
      return { ok: false, message: oneColumn(metric, columns, `Rollup ${source.name}`) };
    const fields = pipeline.raw.fields;
    const filters = [...rollup.filters, ...(spec.query.filters ?? [])].flatMap((c) =>
      asQueryFilter(c, typedValue(fields.get(c.field))),
    );
    return {
      ok: true,
      queries: {
        ...withPrevious(spec, (toMs) => request(spec, pipeline.name, definition, filters, toMs), nowMs),
        column: definition.name,
        labels: spec.query.groupBy,
        pick: "only",
      },
    };
  }
  const pipeline = catalogue.pipelines.get(source.name);
  if (pipeline === undefined)
    return { ok: false, message: `spec.query.source: Pipeline ${namespace}/${source.name} does not exist` };
  if (!pipeline.availability.ready)
    return { ok: false, message: `spec.query.source: ${pipeline.availability.reason}` };
  const window = pipeline.windows.find((w) => w.name === source.window);
  if (window === undefined)
    return {
      ok: false,
      message: `spec.query.source.window: Pipeline ${source.name} has no window "${source.window ?? ""}"`,
    };
  const aggregation = window.spec.aggregations.find((a) => aggregationName(a) === metric);
  if (aggregation === undefined)
    return { ok: false, message: `spec.query.metric: window ${window.name} has no aggregation "${metric}"` };
  const columns = resultNames(aggregation);
  if (columns.length !== 1)
    return { ok: false, message: oneColumn(metric, columns, `window ${window.name}`) };
  const filters = (spec.query.filters ?? []).flatMap((c) =>
    asQueryFilter(c, typedValue(pipeline.raw.fields.get(c.field))),
  );
  return {
    ok: true,
    queries: {
      ...withPrevious(
        spec,
        (toMs) =>
          request(spec, pipeline.name, metric, filters, toMs, {
            name: window.name,
            lengthMs: window.spec.type === "session" ? window.spec.gapMs : window.spec.sizeMs,
          }),
        nowMs,
      ),
      column: columns[0] ?? metric,
      labels: spec.query.groupBy,
      pick: "latestWindow",
    },
  };
}

/** A result value as a number: null (NaN, an empty avg) and anything unreadable are NaN, never 0. */
function numeric(value: ResultValue | undefined): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  return Number.NaN;
}

/** A label value as Alertmanager takes it: missing (null) is the empty string, i.e. no label. */
function labelValue(value: ResultValue | undefined): string {
  return value === null || value === undefined ? "" : String(value);
}

/** Each series in the rows, by its key. */
export function seriesOf(
  rows: QueryResponse["rows"],
  queries: Pick<RuleQueries, "column" | "labels" | "pick">,
): Map<string, { labels: SeriesLabels; value: number }> {
  const out = new Map<string, { labels: SeriesLabels; value: number; endsAt: string }>();
  for (const row of rows) {
    const labels = Object.fromEntries(queries.labels.map((l) => [l, labelValue(row[l])]));
    const key = seriesKey(labels);
    const endsAt = labelValue(row.window_end);
    const known = out.get(key);
    // ISO 8601 instants in UTC order as text.
    if (known !== undefined && (queries.pick === "only" || known.endsAt >= endsAt)) continue;
    out.set(key, { labels, value: numeric(row[queries.column]), endsAt });
  }
  return new Map([...out].map(([key, { labels, value }]) => [key, { labels, value }]));
}

/** The evaluation: no row at all is no data; a change condition pairs each series with its earlier value. */
export function evaluationOf(
  queries: RuleQueries,
  current: QueryResponse["rows"],
  previous: QueryResponse["rows"] | undefined,
): Evaluation {
  const now = seriesOf(current, queries);
  if (now.size === 0) return { kind: "noData" };
  const before = previous === undefined ? undefined : seriesOf(previous, queries);
  const series: SeriesValue[] = [...now].map(([key, { labels, value }]) => {
    const earlier = before?.get(key)?.value;
    return earlier === undefined ? { labels, value } : { labels, value, previous: earlier };
  });
  return { kind: "values", series };
}
