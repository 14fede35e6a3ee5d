/**
 * Retention periods in a timezone (pure): where a period starts and where the next one starts, as
 * ClickHouse's toRelative{Hour,Day,Week,Month}Num number them. Hours are absolute (a DST change
 * neither skips nor repeats one); days and months are local calendar ones; weeks run Monday to Monday.
 */
import type { RetentionPeriod } from "../../api/v1alpha1/retention.js";
import {
  addLocalDays,
  bucketStart,
  startOfLocalDay,
  startOfLocalMonth,
  wallOf,
} from "../query/time-range.js";

export function periodStart(instantMs: number, period: RetentionPeriod, timezone: string): number {
  switch (period) {
    case "hour":
      return bucketStart(instantMs, "1h", timezone);
    case "day":
      return startOfLocalDay(instantMs, timezone);
    case "week": {
      const day = startOfLocalDay(instantMs, timezone);
      const weekday = (new Date(wallOf(day, timezone)).getUTCDay() + 6) % 7; // Monday = 0
      return addLocalDays(day, -weekday, timezone);
    }
    case "month":
      return startOfLocalMonth(instantMs, timezone);
  }
}

export function nextPeriodStart(startMs: number, period: RetentionPeriod, timezone: string): number {
  switch (period) {
    case "hour":
      return bucketStart(startMs + 5_400_000, "1h", timezone);
    case "day":
      return addLocalDays(startMs, 1, timezone);
    case "week":
      return addLocalDays(startMs, 7, timezone);
    case "month":
      return startOfLocalMonth(startMs, timezone, 1);
  }
}

/** The start of every period from the one containing fromMs to the one containing toMs − 1; at most limit + 1. */
export function periodStarts(
  fromMs: number,
  toMs: number,
  period: RetentionPeriod,
  timezone: string,
  limit: number,
): number[] {
  const starts: number[] = [];
  let start = periodStart(fromMs, period, timezone);
  while (start < toMs && starts.length <= limit) {
    starts.push(start);
    start = nextPeriodStart(start, period, timezone);
  }
  return starts;
}

/** The start of the period `count` periods after the one starting at startMs. */
export function periodsAfter(
  startMs: number,
  count: number,
  period: RetentionPeriod,
  timezone: string,
): number {
  let s = startMs;
  for (let i = 0; i < count; i++) s = nextPeriodStart(s, period, timezone);
  return s;
}

/** ClickHouse's period number of a time column (consecutive periods differ by 1). */
export const periodNumberFunction = {
  hour: "toRelativeHourNum",
  day: "toRelativeDayNum",
  week: "toRelativeWeekNum",
  month: "toRelativeMonthNum",
} as const satisfies Record<RetentionPeriod, string>;
