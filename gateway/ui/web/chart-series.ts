/**
 * A panel's answer → what its chart draws (pure). Rows with a time column become one series per
 * metric and dimension values, aligned on the sorted bucket times (a missing bucket is a gap, not a
 * zero); rows without one become categories (one per row's dimension values). Each series and category
 * keeps its dimension values, which is what a click on it drills down by.
 */
import type { QueryResponse, ResultValue } from "../../../api/v1alpha1/query.js";

export type DrillValue = string | number | boolean;
/** A dimension and its value in one row; a row's key lists every dimension of the answer in order. */
export interface DrillKey {
  readonly field: string;
  readonly value: DrillValue;
}

export interface TimeSeries {
  readonly label: string;
  readonly metric: string;
  /** undefined when a dimension is null: such a series cannot be drilled into. */
  readonly key: readonly DrillKey[] | undefined;
  readonly values: (number | null)[];
}

export interface Category {
  readonly label: string;
  readonly key: readonly DrillKey[] | undefined;
}

export type ChartModel =
  | { readonly kind: "time"; readonly xs: number[]; readonly series: TimeSeries[] }
  | {
      readonly kind: "categories";
      readonly categories: Category[];
      readonly series: { readonly metric: string; readonly values: (number | null)[] }[];
    };

type Answer = Pick<QueryResponse, "columns" | "rows">;

export function asNumber(value: ResultValue | undefined): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
    return Number(value);
  return null;
}

function columnsByRole(response: Answer) {
  return {
    time: response.columns.find((c) => c.role === "time")?.name,
    dimensions: response.columns.filter((c) => c.role === "dimension").map((c) => c.name),
    metrics: response.columns.filter((c) => c.role === "metric").map((c) => c.name),
  };
}

/** The row's dimension values, or undefined when one is null (an eq filter needs a value). */
export function rowKey(response: Answer, row: Record<string, ResultValue>): DrillKey[] | undefined {
  const key: DrillKey[] = [];
  for (const field of columnsByRole(response).dimensions) {
    const value = row[field];
    if (value === null || value === undefined) return undefined;
    key.push({ field, value });
  }
  return key;
}

function keyLabel(response: Answer, row: Record<string, ResultValue>): string {
  const { dimensions } = columnsByRole(response);
  return dimensions.length === 0 ? "all" : dimensions.map((d) => String(row[d] ?? "(null)")).join(" / ");
}

export function chartModel(response: Answer): ChartModel {
  const { time, metrics } = columnsByRole(response);
  if (time === undefined) {
    return {
      kind: "categories",
      categories: response.rows.map((row) => ({
        label: keyLabel(response, row),
        key: rowKey(response, row),
      })),
      series: metrics.map((metric) => ({
        metric,
        values: response.rows.map((row) => asNumber(row[metric])),
      })),
    };
  }
  const timeOf = (row: Record<string, ResultValue>) => Date.parse(String(row[time])) / 1000;
  const xs = [...new Set(response.rows.map(timeOf).filter(Number.isFinite))].sort((a, b) => a - b);
  const slot = new Map(xs.map((x, i) => [x, i]));
  const series = new Map<string, TimeSeries>();
  for (const row of response.rows) {
    const i = slot.get(timeOf(row));
    if (i === undefined) continue;
    const label = keyLabel(response, row);
    for (const metric of metrics) {
      const name = label === "all" ? metric : metrics.length === 1 ? label : `${metric} · ${label}`;
      let s = series.get(name);
      if (s === undefined) {
        s = { label: name, metric, key: rowKey(response, row), values: xs.map(() => null) };
        series.set(name, s);
      }
      s.values[i] = asNumber(row[metric]);
    }
  }
  return { kind: "time", xs, series: [...series.values()].sort((a, b) => a.label.localeCompare(b.label)) };
}

/** The series' newest value (the legend shows it; live panels change it). */
export function lastValue(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** A stat panel: each metric's value in the newest row (a stat has no dimensions). */
export function statValues(response: Answer): { metric: string; value: number | null }[] {
  const { time, metrics } = columnsByRole(response);
  const newest =
    time === undefined
      ? response.rows[response.rows.length - 1]
      : [...response.rows].sort((a, b) => String(a[time]).localeCompare(String(b[time]))).at(-1);
  return metrics.map((metric) => ({ metric, value: newest === undefined ? null : asNumber(newest[metric]) }));
}

/** A top-N panel: rows by the first metric, largest first. */
export function rankedRows(
  response: Answer,
): { label: string; key: DrillKey[] | undefined; value: number }[] {
  const metric = columnsByRole(response).metrics[0];
  if (metric === undefined) return [];
  return response.rows
    .map((row) => ({
      label: keyLabel(response, row),
      key: rowKey(response, row),
      value: asNumber(row[metric]) ?? 0,
    }))
    .sort((a, b) => b.value - a.value);
}

/**
 * The x range of a time chart: half a bucket beyond the first and last (so the edge bars are whole), the
 * bucket being the smallest gap between times; a lone time gets half an hour each side (uPlot would
 * otherwise stretch a single point over years).
 */
export function timeAxisRange(xs: ArrayLike<number>): [number, number] {
  const first = xs[0] ?? 0;
  const last = xs[xs.length - 1] ?? first;
  let bucket = Number.POSITIVE_INFINITY;
  for (let i = 1; i < xs.length; i++) bucket = Math.min(bucket, (xs[i] ?? 0) - (xs[i - 1] ?? 0));
  const pad = Number.isFinite(bucket) && bucket > 0 ? bucket / 2 : 1800;
  return [first - pad, last + pad];
}
