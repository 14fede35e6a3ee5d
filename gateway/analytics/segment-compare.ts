/**
 * The query API's comparisons (pure): the previous period of a range (the same length, just before it),
 * and the row-by-row change between a period's answer and the previous one's. Rows match on their
 * dimension values and on time minus the period's length, so hour 10:00 today meets 10:00 yesterday.
 */
import type { QueryResponse, ResultValue } from "../../api/v1alpha1/query.js";
import type { QueryComparison } from "../../api/v1alpha1/segment.js";
import type { ResolvedRange } from "../query/time-range.js";

type Row = Record<string, ResultValue>;
type PeriodRows = Extract<QueryComparison, { kind: "previousPeriod" }>["rows"];

export function previousPeriod(range: ResolvedRange): ResolvedRange {
  return { fromMs: range.fromMs - (range.toMs - range.fromMs), toMs: range.fromMs };
}

/** (current − previous) / previous × 100, or null when either is not a number or previous is 0. */
export function changePercent(
  current: ResultValue | undefined,
  previous: ResultValue | undefined,
): number | null {
  if (typeof current !== "number" || typeof previous !== "number" || previous === 0) return null;
  return ((current - previous) / previous) * 100;
}

export function comparePeriods(
  columns: QueryResponse["columns"],
  current: readonly Row[],
  previous: readonly Row[],
  shiftMs: number,
): PeriodRows {
  const keyColumns = columns.filter((c) => c.role !== "metric").map((c) => c.name);
  const metrics = columns.filter((c) => c.role === "metric").map((c) => c.name);
  const keyOf = (row: Row, shift: number): Row =>
    Object.fromEntries(
      keyColumns.map((name) => {
        const value = row[name] ?? null;
        return [
          name,
          name === "time" && typeof value === "string"
            ? new Date(Date.parse(value) + shift).toISOString()
            : value,
        ];
      }),
    );
  const previousByKey = new Map<string, Row>();
  for (const row of previous) previousByKey.set(JSON.stringify(keyOf(row, shiftMs)), row);
  const metricsOf = (row: Row | null): Row | null =>
    row === null ? null : Object.fromEntries(metrics.map((m) => [m, row[m] ?? null]));
  const out: PeriodRows = [];
  for (const row of current) {
    const key = keyOf(row, 0);
    const match = previousByKey.get(JSON.stringify(key)) ?? null;
    previousByKey.delete(JSON.stringify(key));
    out.push({
      key,
      current: metricsOf(row),
      previous: metricsOf(match),
      changePercent: Object.fromEntries(metrics.map((m) => [m, changePercent(row[m], match?.[m])])),
    });
  }
  for (const [key, row] of previousByKey)
    out.push({
      key: JSON.parse(key) as Row,
      current: null,
      previous: metricsOf(row),
      changePercent: Object.fromEntries(metrics.map((m) => [m, null])),
    });
  return out;
}
