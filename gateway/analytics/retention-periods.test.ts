import { describe, expect, it } from "vitest";
import type { RetentionRequest } from "../../api/v1alpha1/retention.js";
import { percentOf, retentionGrid } from "./retention-grid.js";
import { nextPeriodStart, periodStart, periodStarts } from "./retention-periods.js";
import type { RetentionPlan } from "./retention-plan.js";

const t = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

describe("retention periods", () => {
  it("weeks start on Monday at local midnight", () => {
    expect(iso(periodStart(t("2026-11-08T23:00:00Z"), "week", "UTC"))).toBe("2026-11-02T00:00:00.000Z");
    expect(iso(periodStart(t("2026-11-02T00:00:00Z"), "week", "UTC"))).toBe("2026-11-02T00:00:00.000Z");
    // Sunday 20:00 in New York is Monday 01:00 UTC: still the week before, locally.
    expect(iso(periodStart(t("2026-11-09T01:00:00Z"), "week", "America/New_York"))).toBe(
      "2026-11-02T05:00:00.000Z",
    );
  });

  it("days and months are local calendar ones across a DST change (New York, 2026-11-01 lasts 25 h)", () => {
    const day = periodStart(t("2026-11-01T12:00:00Z"), "day", "America/New_York");
    expect(iso(day)).toBe("2026-11-01T04:00:00.000Z");
    expect(iso(nextPeriodStart(day, "day", "America/New_York"))).toBe("2026-11-02T05:00:00.000Z");
    expect(iso(periodStart(t("2026-11-01T02:00:00Z"), "month", "America/New_York"))).toBe(
      "2026-10-01T04:00:00.000Z",
    );
    expect(iso(periodStart(t("2026-03-31T16:00:00Z"), "month", "Asia/Tokyo"))).toBe(
      "2026-03-31T15:00:00.000Z",
    );
  });

  it("hours are absolute: the repeated hour of a DST end is two periods", () => {
    const starts = periodStarts(
      t("2026-11-01T04:30:00Z"),
      t("2026-11-01T08:00:00Z"),
      "hour",
      "America/New_York",
      10,
    );
    expect(starts.map(iso)).toEqual([
      "2026-11-01T04:00:00.000Z",
      "2026-11-01T05:00:00.000Z",
      "2026-11-01T06:00:00.000Z",
      "2026-11-01T07:00:00.000Z",
    ]);
  });
});

describe("retention grid", () => {
  it("lists empty cohorts, leaves periods not started as null, and rounds percentages to 2 decimals", () => {
    const request = { period: "day", periods: 2, timezone: "UTC", mode: "recurring" } as RetentionRequest;
    const plan = {
      request,
      cohortStarts: [t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z"), t("2026-01-03T00:00:00Z")],
    };
    const grid = retentionGrid(
      plan as unknown as RetentionPlan,
      [
        { cohort: 0, k: 0, entities: 3 },
        { cohort: 0, k: 1, entities: 1 },
        { cohort: 2, k: 0, entities: 6 },
      ],
      t("2026-01-04T12:00:00Z"),
    );
    expect(grid).toEqual([
      {
        start: "2026-01-01T00:00:00.000Z",
        size: 3,
        cells: [
          { period: 0, entities: 3, percent: 100 },
          { period: 1, entities: 1, percent: 33.33 },
          { period: 2, entities: 0, percent: 0 },
        ],
      },
      {
        start: "2026-01-02T00:00:00.000Z",
        size: 0,
        cells: [
          { period: 0, entities: 0, percent: null },
          { period: 1, entities: 0, percent: null },
          { period: 2, entities: 0, percent: null },
        ],
      },
      {
        start: "2026-01-03T00:00:00.000Z",
        size: 6,
        cells: [
          { period: 0, entities: 6, percent: 100 },
          { period: 1, entities: 0, percent: 0 },
          { period: 2, entities: null, percent: null },
        ],
      },
    ]);
    expect(percentOf(2, 3)).toBe(66.67);
  });
});
