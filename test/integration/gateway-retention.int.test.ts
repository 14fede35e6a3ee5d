import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RetentionRequest, RetentionResponse } from "../../api/v1alpha1/retention.js";
import { createRetentionService, type RetentionService } from "../../gateway/analytics/retention-service.js";
import { ResultCache } from "../../gateway/cache/result-cache.js";
import { QueryRefusal } from "../../gateway/query/query-refusal.js";
import { redisUrl } from "../env/config.js";
import {
  type AnalyticsEvent,
  type AnalyticsTable,
  createAnalyticsTable,
  dayMs,
  dropAnalyticsTable,
  type ExpectedCohort,
  hourMs,
  type Period,
  referenceRetention,
  retentionEvents,
} from "../support/analytics-events.js";
import { clickhouseClient } from "../support/runtime-harness.js";

// Issue 14: every number of the retention grid equals the one computed here from the generated events
// (recurring and first_time, day/week/month/hour periods, a timezone boundary, returns outside N, a
// segment), against the stack's ClickHouse.
const clickhouse = clickhouseClient();
// A Monday at least four weeks ago, so weeks align with days and every period has ended.
const mondayMs = (() => {
  const midnight = Math.floor((Date.now() - 28 * dayMs) / dayMs) * dayMs;
  return midnight - ((new Date(midnight).getUTCDay() + 6) % 7) * dayMs;
})();
const events: AnalyticsEvent[] = retentionEvents(mondayMs, 7);
let table: AnalyticsTable;
let service: RetentionService;

beforeAll(async () => {
  table = await createAnalyticsTable(clickhouse, "retention", events);
  service = createRetentionService({
    snapshot: () => ({ pipelines: [table.pipeline], rollups: [] }),
    clickhouse,
    redis: undefined,
    cache: undefined,
    now: () => Date.now(),
  });
}, 60_000);
afterAll(async () => {
  if (table !== undefined) await dropAnalyticsTable(clickhouse, table);
  await clickhouse.close();
});

const iso = (ms: number) => new Date(ms).toISOString();
const isStart = (e: AnalyticsEvent) => e.type === "page_view";
const isReturn = (e: AnalyticsEvent) => e.type === "purchase";

async function retention(request: Partial<RetentionRequest> & Pick<RetentionRequest, "timeRange">) {
  return service.retention(
    "analytics",
    {
      period: "day",
      periods: 3,
      mode: "recurring",
      timezone: "UTC",
      startEvent: { op: "eq", field: "type", value: "page_view" },
      returnEvent: { op: "eq", field: "type", value: "purchase" },
      ...request,
    },
    { explainOnly: false, bypassCache: true },
  );
}

/** The grid as the reference's shape, plus the percentages checked against the counts. */
function gridOf(answer: RetentionResponse): ExpectedCohort[] {
  return answer.cohorts.map((cohort) => {
    expect(cohort.cells[0]).toEqual({
      period: 0,
      entities: cohort.size,
      percent: cohort.size === 0 ? null : 100,
    });
    for (const cell of cohort.cells)
      expect(cell.percent).toBe(
        cohort.size === 0 || cell.entities === null
          ? null
          : Math.round(((cell.entities ?? 0) / cohort.size) * 10_000) / 100,
      );
    return { size: cohort.size, returned: cohort.cells.slice(1).map((c) => c.entities ?? -1) };
  });
}

function expected(
  fromMs: number,
  toMs: number,
  period: Period,
  timezone: string,
  periods: number,
  mode: "recurring" | "first_time",
  start = isStart,
  back = isReturn,
  keep?: (user: string) => boolean,
) {
  return referenceRetention(events, {
    fromMs,
    toMs,
    period,
    timezone,
    periods,
    mode,
    start,
    back,
    ...(keep ? { keep } : {}),
  });
}

describe("POST …/retention", () => {
  const range = { from: iso(mondayMs), to: iso(mondayMs + 10 * dayMs) };

  it("recurring daily cohorts: every size and every return count equal the reference", async () => {
    const answer = await retention({ timeRange: range });
    const reference = expected(mondayMs, mondayMs + 10 * dayMs, "day", "UTC", 3, "recurring");
    expect(gridOf(answer)).toEqual(reference);
    expect(answer.cohorts.map((c) => c.start)).toEqual(
      Array.from({ length: 10 }, (_, i) => iso(mondayMs + i * dayMs)),
    );
    // The designed users are in it: "several" returns on days 1..3 of cohort 0; "late" (day 5) is outside N.
    expect(reference[0]?.returned.every((n) => n >= 1)).toBe(true);
    expect(answer.explain.source.kind).toBe("Pipeline");
  });

  it("first_time cohorts (first start ever) differ from recurring and equal the reference", async () => {
    const answer = await retention({ timeRange: range, mode: "first_time" });
    const reference = expected(mondayMs, mondayMs + 10 * dayMs, "day", "UTC", 3, "first_time");
    expect(gridOf(answer)).toEqual(reference);
    expect(reference).not.toEqual(expected(mondayMs, mondayMs + 10 * dayMs, "day", "UTC", 3, "recurring"));
  });

  it("days in Tokyo (UTC+9): cohorts and returns by local date", async () => {
    const from = mondayMs - 9 * hourMs;
    const answer = await retention({
      timeRange: { from: iso(from), to: iso(from + 10 * dayMs) },
      timezone: "Asia/Tokyo",
    });
    const reference = expected(from, from + 10 * dayMs, "day", "Asia/Tokyo", 3, "recurring");
    expect(gridOf(answer)).toEqual(reference);
    expect(answer.cohorts[0]?.start).toBe(iso(from));
    expect(reference).not.toEqual(expected(mondayMs, mondayMs + 10 * dayMs, "day", "UTC", 3, "recurring"));
  });

  it("a range not on period edges is widened to whole periods (New York days)", async () => {
    const answer = await retention({
      timeRange: { from: iso(mondayMs + 2 * hourMs), to: iso(mondayMs + 6 * dayMs) },
      timezone: "America/New_York",
      periods: 5,
      mode: "first_time",
    });
    const reference = expected(
      mondayMs + 2 * hourMs,
      mondayMs + 6 * dayMs,
      "day",
      "America/New_York",
      5,
      "first_time",
    );
    expect(gridOf(answer)).toEqual(reference);
    expect(answer.cohorts).toHaveLength(7); // Sunday evening (local) through Saturday
  });

  it("weeks start on Monday; months are calendar months; any event starts and returns", async () => {
    const weeks = await retention({
      timeRange: { from: iso(mondayMs - 7 * dayMs), to: iso(mondayMs + 14 * dayMs) },
      period: "week",
      periods: 2,
    });
    expect(gridOf(weeks)).toEqual(
      expected(mondayMs - 7 * dayMs, mondayMs + 14 * dayMs, "week", "UTC", 2, "recurring"),
    );
    expect(weeks.cohorts[1]?.start).toBe(iso(mondayMs));
    const months = await retention({
      timeRange: { from: iso(mondayMs - 5 * dayMs), to: iso(mondayMs + 15 * dayMs) },
      period: "month",
      periods: 1,
      startEvent: undefined,
      returnEvent: undefined,
    });
    const any = () => true;
    expect(gridOf(months)).toEqual(
      expected(mondayMs - 5 * dayMs, mondayMs + 15 * dayMs, "month", "UTC", 1, "recurring", any, any),
    );
  });

  it("hours: 24 hourly cohorts of day 1 with 5 periods", async () => {
    const from = mondayMs + dayMs;
    const answer = await retention({
      timeRange: { from: iso(from), to: iso(from + dayMs) },
      period: "hour",
      periods: 5,
      startEvent: undefined,
    });
    expect(gridOf(answer)).toEqual(expected(from, from + dayMs, "hour", "UTC", 5, "recurring", () => true));
  });

  it("a segment keeps only the entities that did it (has_done at least 2 purchases) or not", async () => {
    const purchases = new Map<string, number>();
    const segmentRange = { fromMs: mondayMs, toMs: mondayMs + 10 * dayMs };
    for (const e of events)
      if (isReturn(e) && e.ms >= segmentRange.fromMs && e.ms < segmentRange.toMs)
        purchases.set(e.user_id, (purchases.get(e.user_id) ?? 0) + 1);
    const segment = {
      op: "has_done" as const,
      event: { op: "eq" as const, field: "type", value: "purchase" },
      atLeast: 2,
    };
    const done = await retention({ timeRange: range, segment });
    expect(gridOf(done)).toEqual(
      expected(
        mondayMs,
        mondayMs + 10 * dayMs,
        "day",
        "UTC",
        3,
        "recurring",
        isStart,
        isReturn,
        (u) => (purchases.get(u) ?? 0) >= 2,
      ),
    );
    const notDone = await retention({ timeRange: range, segment: { ...segment, op: "has_not_done" } });
    expect(gridOf(notDone)).toEqual(
      expected(
        mondayMs,
        mondayMs + 10 * dayMs,
        "day",
        "UTC",
        3,
        "recurring",
        isStart,
        isReturn,
        (u) => (purchases.get(u) ?? 0) < 2,
      ),
    );
  });

  it("explains the query without running it, and goes through the result cache (miss, then hit)", async () => {
    const explained = await service.retention(
      "analytics",
      { period: "week", periods: 2, mode: "first_time", timezone: "UTC", timeRange: range },
      { explainOnly: true, bypassCache: false },
    );
    expect(explained.cohorts).toEqual([]);
    expect(explained.explain.sql).toContain("toRelativeWeekNum");
    expect(explained.explain.params).toMatchObject({ p0: "UTC" });
    expect(explained.explain.candidates[0]).toMatchObject({ kind: "Pipeline", chosen: true });

    const cache = new ResultCache({ redisUrl, registry: new Registry(), logger: pino({ level: "silent" }) });
    try {
      expect(await cache.waitUntilReady(10_000)).toBe(true);
      const cached = createRetentionService({
        snapshot: () => ({ pipelines: [table.pipeline], rollups: [] }),
        clickhouse,
        redis: undefined,
        cache,
        now: () => Date.now(),
      });
      // A range of its own (one day more), so no other run's entry answers it.
      const request = {
        period: "day" as const,
        periods: 4,
        mode: "recurring" as const,
        timezone: "UTC",
        timeRange: { from: iso(mondayMs + Math.floor(Math.random() * 1000)), to: iso(mondayMs + 11 * dayMs) },
      };
      const first = await cached.retention("analytics", request, { explainOnly: false, bypassCache: false });
      const second = await cached.retention("analytics", request, { explainOnly: false, bypassCache: false });
      expect([first.explain.cache.status, second.explain.cache.status]).toEqual(["miss", "hit"]);
      expect(second.cohorts).toEqual(first.cohorts);
      expect(gridOf(first)).toEqual(
        expected(
          mondayMs,
          mondayMs + 11 * dayMs,
          "day",
          "UTC",
          4,
          "recurring",
          () => true,
          () => true,
        ),
      );
    } finally {
      await cache.close();
    }
  });

  it("refuses an unknown field, naming it under its request field", async () => {
    const refusal = await retention({
      timeRange: range,
      returnEvent: { op: "eq", field: "nope", value: 1 },
    }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(QueryRefusal);
    expect((refusal as QueryRefusal).body.field).toBe("returnEvent.field");
    const entity = await retention({ timeRange: range, entity: "missing" }).catch((e: unknown) => e);
    expect((entity as QueryRefusal).body.field).toBe("entity");
  });
});
