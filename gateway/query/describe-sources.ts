/** The discovery answer (pure): what each Pipeline, Rollup and live window of a namespace offers. */
import type { SourceDescription, SourcesResponse } from "../../api/v1alpha1/query.js";
import {
  type MetricOffer,
  metricOffer,
  type NamespaceCatalogue,
  type PipelineCatalogue,
} from "../../contracts/catalogue/source-catalogue.js";
import type { AggregationSpec } from "../../contracts/windows/window-spec.js";
import { aggregationName, resultNames } from "../../contracts/windows/window-spec.js";

function describeMetric(offer: MetricOffer): SourceDescription["metrics"][number] {
  const d = offer.definition;
  return {
    name: d.name,
    fn: d.fn,
    ...(d.fn === "count" ? {} : { field: d.field }),
    ...(d.fn === "quantiles" ? { quantiles: [...d.quantiles] } : {}),
    exact: offer.exact,
    columns: [...offer.columns],
  };
}

function describeWindowAggregation(a: AggregationSpec): SourceDescription["metrics"][number] {
  return {
    name: aggregationName(a),
    fn: a.fn,
    ...(a.fn === "count" ? {} : { field: a.field }),
    ...(a.fn === "quantiles" ? { quantiles: [...a.quantiles] } : {}),
    exact: a.fn !== "uniq" && a.fn !== "quantiles",
    columns: resultNames(a),
  };
}

function windowShape(spec: PipelineCatalogue["windows"][number]["spec"]): string {
  const s = (ms: number) => `${ms / 1000}s`;
  switch (spec.type) {
    case "tumbling":
      return `tumbling ${s(spec.sizeMs)}`;
    case "sliding":
      return `sliding ${s(spec.sizeMs)} every ${s(spec.slideMs)}`;
    case "session":
      return `session gap ${s(spec.gapMs)}`;
  }
}

function describePipeline(p: PipelineCatalogue, watermarkMs: number | undefined): SourceDescription[] {
  const watermark = watermarkMs === undefined ? {} : { watermark: new Date(watermarkMs).toISOString() };
  const pipeline: SourceDescription = {
    kind: "Pipeline",
    name: p.name,
    pipeline: p.name,
    ready: p.availability.ready,
    ...(p.availability.ready ? {} : { reason: p.availability.reason }),
    table: `${p.raw.table.database}.${p.raw.table.table}`,
    metrics: [...p.metrics.values()].map(describeMetric),
    dimensions: [...p.raw.fields.keys()],
    ...(p.raw.retentionDays === undefined ? {} : { retentionDays: p.raw.retentionDays }),
    ...watermark,
  };
  const rollups = p.rollups.map(
    (r): SourceDescription => ({
      kind: "Rollup",
      name: r.name,
      pipeline: p.name,
      ready: r.availability.ready,
      ...(r.availability.ready ? {} : { reason: r.availability.reason }),
      ...(r.table === undefined ? {} : { table: `${r.table.database}.${r.table.table}` }),
      metrics: r.spec.metrics.map((m) => describeMetric(metricOffer(m))),
      dimensions: [...r.spec.dimensions],
      granularity: r.spec.granularity,
      ...(r.spec.retentionDays === undefined ? {} : { retentionDays: r.spec.retentionDays }),
      ...(r.filters.length === 0 ? {} : { filter: [...r.filters] }),
      ...watermark,
    }),
  );
  const windows = p.windows.map(
    (w): SourceDescription => ({
      kind: "Window",
      name: w.name,
      pipeline: p.name,
      ready: p.availability.ready,
      table: `${w.table.database}.${w.table.table}`,
      metrics: w.spec.aggregations.map(describeWindowAggregation),
      dimensions: [...w.spec.groupBy],
      granularity: windowShape(w.spec),
      ...(p.raw.retentionDays === undefined ? {} : { retentionDays: p.raw.retentionDays }),
      ...watermark,
    }),
  );
  return [pipeline, ...rollups, ...windows];
}

export function describeSources(
  catalogue: NamespaceCatalogue,
  watermarks: ReadonlyMap<string, number | undefined>,
): SourcesResponse {
  return {
    sources: [...catalogue.pipelines.values()].flatMap((p) => describePipeline(p, watermarks.get(p.name))),
    unusable: catalogue.unusable.map((u) => ({ ...u })),
  };
}
