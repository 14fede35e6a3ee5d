/**
 * The funnel answer from the query's rows (pure): per-step counts with conversion from the first and
 * the previous step and the drop-off, the time-to-convert median and histogram (bin edges from the
 * fastest conversion, equal widths: ceil((slowest − fastest + 1) / bins) ms), and the breakdown buckets
 * ordered as ranked (most entities at step 0, then by value, nulls last; Other last).
 */
import type { FunnelResponse, FunnelStepResult } from "../../api/v1alpha1/funnel.js";

/** One row of the funnel query: the total (is_total = 1) or one breakdown bucket. */
export interface FunnelRow {
  readonly is_total: number;
  readonly other: boolean | number;
  readonly value: string | null;
  readonly steps: readonly number[];
  readonly converted: number;
  readonly median_ms: number | null;
  readonly min_ms: number;
  readonly bin_ms: number;
  readonly histogram: readonly number[];
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

export function funnelSteps(names: readonly string[], counts: readonly number[]): FunnelStepResult[] {
  return names.map((name, index) => {
    const count = counts[index] ?? 0;
    const first = counts[0] ?? 0;
    const previous = index === 0 ? count : (counts[index - 1] ?? 0);
    return {
      index,
      name,
      count,
      conversionFromFirst: ratio(count, first),
      conversionFromPrevious: ratio(count, previous),
      dropOff: previous - count,
    };
  });
}

export function histogramEdges(minMs: number, binMs: number, bins: number): number[] {
  return Array.from({ length: bins + 1 }, (_, i) => minMs + i * binMs);
}

function compareBuckets(a: FunnelRow, b: FunnelRow): number {
  if (Boolean(a.other) !== Boolean(b.other)) return a.other ? 1 : -1;
  const byCount = (b.steps[0] ?? 0) - (a.steps[0] ?? 0);
  if (byCount !== 0) return byCount;
  if (a.value === b.value) return 0;
  if (a.value === null) return 1;
  if (b.value === null) return -1;
  return a.value < b.value ? -1 : 1;
}

export function shapeFunnelResult(
  stepNames: readonly string[],
  rows: readonly FunnelRow[],
  withBreakdown: boolean,
  bins: number,
): Omit<FunnelResponse, "explain"> {
  const total = rows.find((r) => Number(r.is_total) === 1);
  const totalSteps = funnelSteps(stepNames, total?.steps ?? []);
  const converted = total?.converted ?? 0;
  const timeToConvert = {
    converted,
    medianMs: converted === 0 ? null : (total?.median_ms ?? null),
    histogram:
      total === undefined || converted === 0
        ? { edgesMs: [], counts: [] }
        : { edgesMs: histogramEdges(total.min_ms, total.bin_ms, bins), counts: [...total.histogram] },
  };
  if (!withBreakdown) return { steps: totalSteps, timeToConvert };
  const buckets = rows
    .filter((r) => Number(r.is_total) !== 1)
    .sort(compareBuckets)
    .map((r) => ({
      value: r.other ? null : r.value,
      other: Boolean(r.other),
      steps: funnelSteps(stepNames, r.steps),
      medianMs: r.converted === 0 ? null : r.median_ms,
    }));
  return { steps: totalSteps, timeToConvert, breakdown: buckets };
}
