/**
 * The retention grid from the query's counts (pure): every cohort of the range, empty ones included,
 * each with periods 0..N; a period that has not started yet is null (not 0: nobody could have
 * returned in it). Percentages are of the cohort's size, rounded to 2 decimals.
 */
import type { ResultValue } from "../../api/v1alpha1/query.js";
import type { RetentionResponse } from "../../api/v1alpha1/retention.js";
import { periodsAfter } from "./retention-periods.js";
import type { RetentionPlan } from "./retention-plan.js";

export interface RetentionCount {
  /** Index of the cohort among the plan's cohorts. */
  readonly cohort: number;
  readonly k: number;
  readonly entities: number;
}

export function percentOf(entities: number, size: number): number | null {
  return size === 0 ? null : Math.round((entities / size) * 10_000) / 100;
}

export function retentionGrid(
  plan: RetentionPlan,
  counts: readonly RetentionCount[],
  nowMs: number,
): RetentionResponse["cohorts"] {
  const { period, periods, timezone } = plan.request;
  const byCell = new Map(counts.map((c) => [`${c.cohort}:${c.k}`, c.entities]));
  return plan.cohortStarts.map((start, i) => {
    const size = byCell.get(`${i}:0`) ?? 0;
    const cells = [];
    let cellStart = start;
    for (let k = 0; k <= periods; k++) {
      if (k > 0) cellStart = periodsAfter(cellStart, 1, period, timezone);
      const started = cellStart <= nowMs;
      const entities = k === 0 ? size : started ? (byCell.get(`${i}:${k}`) ?? 0) : null;
      cells.push({ period: k, entities, percent: entities === null ? null : percentOf(entities, size) });
    }
    return { start: new Date(start).toISOString(), size, cells };
  });
}

/** The grid as a table (one row per cohort and period), for the exports. */
export function retentionTable(cohorts: RetentionResponse["cohorts"]): {
  columns: string[];
  rows: Record<string, ResultValue>[];
} {
  return {
    columns: ["cohort_start", "cohort_size", "period", "entities", "percent"],
    rows: cohorts.flatMap((c) =>
      c.cells.map((cell) => ({
        cohort_start: c.start,
        cohort_size: c.size,
        period: cell.period,
        entities: cell.entities,
        percent: cell.percent,
      })),
    ),
  };
}
