import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { QueryGranularity, TimeRange } from "../../api/v1alpha1/query.js";
import { granularities, granularityMs } from "../../api/v1alpha1/rollup.js";
import { QueryRefusal } from "./query-refusal.js";
import { bucketStart, bucketStarts, checkTimezone, offsetMs, resolveTimeRange } from "./time-range.js";

// Pure calendar functions: fixed instants are the point here (DST change days, month ends), and nothing
// in this module applies a TTL or a retention.
const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const minute = 60_000;
const hour = 3_600_000;

type Bucketed = Exclude<QueryGranularity, "none">;

const wallFormats = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock time in `timezone` written as if UTC, from Intl's calendar fields (the test's own reading). */
function wallClock(instantMs: number, timezone: string): number {
  let format = wallFormats.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-GB", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    wallFormats.set(timezone, format);
  }
  const parts = format.formatToParts(new Date(instantMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
}

/**
 * The bucket of an instant by definition: the latest instant at or before it whose wall clock reads the
 * bucket's wall start (floor of its own wall time), walking back a quarter hour at a time (every offset
 * and DST change of the zones tested is a multiple of one); where a DST start skipped that wall time,
 * the first instant after the gap. ClickHouse's hour and day buckets are these; its minute buckets are
 * UTC's (below).
 */
function wallBucketStart(instantMs: number, granularity: Bucketed, timezone: string): number {
  const step = 15 * minute;
  const size = granularityMs[granularity];
  let start = Math.floor(instantMs / step) * step;
  const wall = wallClock(start, timezone);
  const floor = wall - (wall % size);
  for (;;) {
    const current = wallClock(start, timezone);
    if (current === floor || wallClock(start - step, timezone) < floor) return start;
    start -= step;
  }
}

describe("bucketStart", () => {
  const zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"];
  const dstDays = [
    "2026-03-28T20:00:00Z", // Paris: 2026-03-29 has 23 h
    "2026-10-24T20:00:00Z", // Paris: 2026-10-25 has 25 h
    "2026-03-07T20:00:00Z", // New York: 2026-03-08 has 23 h
    "2026-10-31T20:00:00Z", // New York: 2026-11-01 has 25 h
  ];
  const hourly = granularities.filter((g) => granularityMs[g] >= hour);
  const subHourly = granularities.filter((g) => granularityMs[g] < hour);

  it.each(zones)("hour and day buckets start where the wall clock enters them, in %s", (zone) => {
    for (const day of dstDays)
      for (let instant = t(day); instant < t(day) + 30 * hour; instant += 23 * minute + 17_000)
        for (const g of hourly)
          expect(iso(bucketStart(instant, g, zone)), `${g} of ${iso(instant)}`).toBe(
            iso(wallBucketStart(instant, g, zone)),
          );
  });

  it("minute buckets are ClickHouse's: counted in UTC", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: t("2020-01-01T00:00:00Z"), max: t("2030-01-01T00:00:00Z") }),
        fc.constantFrom(...zones),
        fc.constantFrom(...subHourly),
        (instant, zone, g) => {
          const size = granularityMs[g];
          expect(bucketStart(instant, g, zone)).toBe(instant - (instant % size));
        },
      ),
    );
    // Where the offset is a whole number of buckets, that is also the local wall clock's bucket.
    for (const zone of ["Europe/Paris", "America/New_York", "Asia/Kolkata"])
      for (let i = t("2026-10-24T20:00:00Z"); i < t("2026-11-01T12:00:00Z"); i += 3 * hour + 15 * minute)
        expect(bucketStart(i, "30m", zone)).toBe(wallBucketStart(i, "30m", zone));
  });

  it("Kathmandu (+5:45): 30-minute buckets start at :00 and :30 UTC, hours at local :00 (:15 UTC)", () => {
    // chDB 26.7: toStartOfInterval(toDateTime('2026-03-28 12:00:00'), INTERVAL 30 MINUTE, 'Asia/Kathmandu')
    // is 12:00 UTC (17:45 local), not 11:45 UTC (17:30 local).
    expect(iso(bucketStart(t("2026-03-28T12:00:00Z"), "30m", "Asia/Kathmandu"))).toBe(
      "2026-03-28T12:00:00.000Z",
    );
    expect(iso(bucketStart(t("2026-03-28T12:10:00Z"), "10m", "Asia/Kathmandu"))).toBe(
      "2026-03-28T12:10:00.000Z",
    );
    expect(iso(bucketStart(t("2026-03-28T12:10:00Z"), "1h", "Asia/Kathmandu"))).toBe(
      "2026-03-28T11:15:00.000Z",
    );
    expect(iso(bucketStart(t("2026-03-28T12:10:00Z"), "1d", "Asia/Kathmandu"))).toBe(
      "2026-03-27T18:15:00.000Z",
    );
  });

  it("in the hour a DST end repeats, an hour bucket starts in the instant's own occurrence", () => {
    // Paris 2026-10-25: 02:00-03:00 happens at 00:00Z (CEST) and again at 01:00Z (CET).
    expect(iso(bucketStart(t("2026-10-25T00:30:00Z"), "1h", "Europe/Paris"))).toBe(
      "2026-10-25T00:00:00.000Z",
    );
    expect(iso(bucketStart(t("2026-10-25T01:30:00Z"), "1h", "Europe/Paris"))).toBe(
      "2026-10-25T01:00:00.000Z",
    );
    // New York 2026-11-01: 01:00-02:00 at 05:00Z (EDT) and at 06:00Z (EST).
    expect(iso(bucketStart(t("2026-11-01T05:02:30Z"), "1m", "America/New_York"))).toBe(
      "2026-11-01T05:02:00.000Z",
    );
    expect(iso(bucketStart(t("2026-11-01T06:02:30Z"), "1m", "America/New_York"))).toBe(
      "2026-11-01T06:02:00.000Z",
    );
    expect(iso(bucketStart(t("2026-11-01T06:40:00Z"), "1h", "America/New_York"))).toBe(
      "2026-11-01T06:00:00.000Z",
    );
    // The 6-hour bucket from local midnight spans the repeat (7 h long), as ClickHouse's does.
    expect(iso(bucketStart(t("2026-10-25T02:10:00Z"), "6h", "Europe/Paris"))).toBe(
      "2026-10-24T22:00:00.000Z",
    );
  });

  it("days start at local midnight, also where a DST start skips midnight (Santiago)", () => {
    expect(iso(bucketStart(t("2026-03-29T12:00:00Z"), "1d", "Europe/Paris"))).toBe(
      "2026-03-28T23:00:00.000Z",
    );
    expect(iso(bucketStart(t("2026-03-29T22:30:00Z"), "1d", "Europe/Paris"))).toBe(
      "2026-03-29T22:00:00.000Z",
    );
    expect(iso(bucketStart(t("2026-07-15T03:04:05Z"), "1d", "America/New_York"))).toBe(
      "2026-07-14T04:00:00.000Z",
    );
    expect(iso(bucketStart(t("2026-07-15T03:04:05Z"), "1d", "Asia/Kolkata"))).toBe(
      "2026-07-14T18:30:00.000Z",
    );
    // Santiago 2026-09-06: 00:00 (-04) becomes 01:00 (-03) at 04:00Z; the day starts then (chDB 26.7 agrees).
    expect(iso(bucketStart(t("2026-09-06T04:07:02Z"), "1d", "America/Santiago"))).toBe(
      "2026-09-06T04:00:00.000Z",
    );
  });
});

describe("bucketStarts", () => {
  const range = (from: string, to: string) => ({ fromMs: t(from), toMs: t(to) });

  it("steps over DST days: 23 and 25 hours in Paris, each day from local midnight", () => {
    const spring = bucketStarts(
      range("2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"),
      "1d",
      "Europe/Paris",
      100,
    );
    expect(spring.map(iso)).toEqual([
      "2026-03-27T23:00:00.000Z",
      "2026-03-28T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
      "2026-03-30T22:00:00.000Z",
    ]);
    const autumn = bucketStarts(
      range("2026-10-24T22:00:00Z", "2026-10-26T23:00:00Z"),
      "1d",
      "Europe/Paris",
      100,
    );
    expect(autumn.map(iso)).toEqual(["2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z"]);
    const hoursOf = (from: string, to: string) =>
      bucketStarts(range(from, to), "1h", "Europe/Paris", 100).length;
    expect(hoursOf("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")).toBe(23);
    expect(hoursOf("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")).toBe(25);
  });

  it("counts the repeated hour twice and never steps back (New York, minute and hour buckets)", () => {
    const minutes = bucketStarts(
      range("2026-11-01T04:30:00Z", "2026-11-01T07:30:00Z"),
      "1m",
      "America/New_York",
      10_000,
    );
    expect(minutes).toHaveLength(180);
    minutes.forEach((start, i) => {
      expect(start).toBe(t("2026-11-01T04:30:00Z") + i * minute);
    });
    const hours = bucketStarts(
      range("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"),
      "1h",
      "America/New_York",
      100,
    );
    expect(hours).toHaveLength(25);
    expect(new Set(hours.map((h) => wallClock(h, "America/New_York") % (24 * hour))).size).toBe(24);
  });

  it("starts with the bucket holding `from`, and stops after limit + 1", () => {
    const starts = bucketStarts(
      range("2026-07-15T10:20:00Z", "2026-07-15T13:00:00Z"),
      "1h",
      "Asia/Kolkata",
      100,
    );
    expect(starts.map(iso)).toEqual([
      "2026-07-15T09:30:00.000Z",
      "2026-07-15T10:30:00.000Z",
      "2026-07-15T11:30:00.000Z",
      "2026-07-15T12:30:00.000Z",
    ]);
    expect(bucketStarts(range("2026-07-01T00:00:00Z", "2026-07-15T00:00:00Z"), "1m", "UTC", 50)).toHaveLength(
      51,
    );
  });
});

describe("resolveTimeRange", () => {
  const resolved = (
    timeRange: TimeRange,
    timezone: string,
    now: string,
    granularity: QueryGranularity = "none",
  ) => {
    const r = resolveTimeRange(timeRange, granularity, timezone, t(now));
    return [iso(r.fromMs), iso(r.toMs)];
  };
  const preset = (p: string) => ({ preset: p });

  // Wednesday 2026-07-15 03:04:05 UTC: Tuesday 23:04 in New York, Wednesday 08:34 in Kolkata, 08:49 in Kathmandu.
  const summer = "2026-07-15T03:04:05Z";
  const cases: [string, string, string, QueryGranularity, string, string][] = [
    ["last_15m", "UTC", summer, "none", "2026-07-15T02:50:00.000Z", "2026-07-15T03:05:00.000Z"],
    ["15m", "UTC", summer, "none", "2026-07-15T02:50:00.000Z", "2026-07-15T03:05:00.000Z"],
    ["last_2h", "UTC", summer, "1h", "2026-07-15T02:00:00.000Z", "2026-07-15T04:00:00.000Z"],
    ["2h", "UTC", summer, "30m", "2026-07-15T01:30:00.000Z", "2026-07-15T03:30:00.000Z"],
    ["last_3d", "UTC", summer, "1d", "2026-07-13T00:00:00.000Z", "2026-07-16T00:00:00.000Z"],
    ["last_1w", "UTC", summer, "1d", "2026-07-09T00:00:00.000Z", "2026-07-16T00:00:00.000Z"],
    ["2w", "UTC", summer, "none", "2026-07-01T03:05:00.000Z", "2026-07-15T03:05:00.000Z"],
    ["today", "UTC", summer, "none", "2026-07-15T00:00:00.000Z", "2026-07-16T00:00:00.000Z"],
    ["yesterday", "UTC", summer, "none", "2026-07-14T00:00:00.000Z", "2026-07-15T00:00:00.000Z"],
    ["this_week", "UTC", summer, "none", "2026-07-13T00:00:00.000Z", "2026-07-20T00:00:00.000Z"],
    ["last_week", "UTC", summer, "none", "2026-07-06T00:00:00.000Z", "2026-07-13T00:00:00.000Z"],
    ["this_month", "UTC", summer, "none", "2026-07-01T00:00:00.000Z", "2026-08-01T00:00:00.000Z"],
    ["last_month", "UTC", summer, "none", "2026-06-01T00:00:00.000Z", "2026-07-01T00:00:00.000Z"],
    ["today", "America/New_York", summer, "none", "2026-07-14T04:00:00.000Z", "2026-07-15T04:00:00.000Z"],
    ["yesterday", "America/New_York", summer, "none", "2026-07-13T04:00:00.000Z", "2026-07-14T04:00:00.000Z"],
    ["this_week", "America/New_York", summer, "none", "2026-07-13T04:00:00.000Z", "2026-07-20T04:00:00.000Z"],
    ["last_week", "America/New_York", summer, "none", "2026-07-06T04:00:00.000Z", "2026-07-13T04:00:00.000Z"],
    [
      "this_month",
      "America/New_York",
      summer,
      "none",
      "2026-07-01T04:00:00.000Z",
      "2026-08-01T04:00:00.000Z",
    ],
    [
      "last_month",
      "America/New_York",
      summer,
      "none",
      "2026-06-01T04:00:00.000Z",
      "2026-07-01T04:00:00.000Z",
    ],
    ["last_2d", "America/New_York", summer, "1d", "2026-07-13T04:00:00.000Z", "2026-07-15T04:00:00.000Z"],
    ["today", "Asia/Kolkata", summer, "none", "2026-07-14T18:30:00.000Z", "2026-07-15T18:30:00.000Z"],
    ["this_week", "Asia/Kolkata", summer, "none", "2026-07-12T18:30:00.000Z", "2026-07-19T18:30:00.000Z"],
    ["last_month", "Asia/Kolkata", summer, "none", "2026-05-31T18:30:00.000Z", "2026-06-30T18:30:00.000Z"],
    ["last_1h", "Asia/Kolkata", summer, "1h", "2026-07-15T02:30:00.000Z", "2026-07-15T03:30:00.000Z"],
    ["last_1h", "Asia/Kolkata", summer, "30m", "2026-07-15T02:30:00.000Z", "2026-07-15T03:30:00.000Z"],
    ["today", "Asia/Kathmandu", summer, "none", "2026-07-14T18:15:00.000Z", "2026-07-15T18:15:00.000Z"],
    ["last_1h", "Asia/Kathmandu", summer, "1h", "2026-07-15T02:15:00.000Z", "2026-07-15T03:15:00.000Z"],
    ["last_1h", "Asia/Kathmandu", summer, "30m", "2026-07-15T02:30:00.000Z", "2026-07-15T03:30:00.000Z"],
    ["last_1h", "Asia/Kathmandu", summer, "15m", "2026-07-15T02:15:00.000Z", "2026-07-15T03:15:00.000Z"],
    // Sunday 2026-03-29 12:17 in Paris, the 23-hour day (02:00 CET became 03:00 CEST at 01:00Z).
    [
      "today",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "none",
      "2026-03-28T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ],
    [
      "yesterday",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "none",
      "2026-03-27T23:00:00.000Z",
      "2026-03-28T23:00:00.000Z",
    ],
    [
      "this_week",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "none",
      "2026-03-22T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ],
    [
      "last_week",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "none",
      "2026-03-15T23:00:00.000Z",
      "2026-03-22T23:00:00.000Z",
    ],
    [
      "this_month",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "none",
      "2026-02-28T23:00:00.000Z",
      "2026-03-31T22:00:00.000Z",
    ],
    [
      "last_month",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "none",
      "2026-01-31T23:00:00.000Z",
      "2026-02-28T23:00:00.000Z",
    ],
    [
      "last_1d",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "1d",
      "2026-03-28T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ],
    [
      "last_7d",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "1d",
      "2026-03-22T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
    ],
    [
      "last_2h",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "1h",
      "2026-03-29T09:00:00.000Z",
      "2026-03-29T11:00:00.000Z",
    ],
    [
      "last_90m",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "none",
      "2026-03-29T08:48:00.000Z",
      "2026-03-29T10:18:00.000Z",
    ],
    [
      "last_30m",
      "Europe/Paris",
      "2026-03-29T10:17:23Z",
      "15m",
      "2026-03-29T10:00:00.000Z",
      "2026-03-29T10:30:00.000Z",
    ],
    // Sunday 2026-10-25 23:30 in Paris, the last hour of the 25-hour day.
    [
      "today",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "none",
      "2026-10-24T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ],
    [
      "yesterday",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "none",
      "2026-10-23T22:00:00.000Z",
      "2026-10-24T22:00:00.000Z",
    ],
    [
      "this_week",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "none",
      "2026-10-18T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ],
    [
      "last_week",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "none",
      "2026-10-11T22:00:00.000Z",
      "2026-10-18T22:00:00.000Z",
    ],
    [
      "this_month",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "none",
      "2026-09-30T22:00:00.000Z",
      "2026-10-31T23:00:00.000Z",
    ],
    [
      "last_month",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "none",
      "2026-08-31T22:00:00.000Z",
      "2026-09-30T22:00:00.000Z",
    ],
    [
      "last_1d",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "1d",
      "2026-10-24T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ],
    [
      "last_1w",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "1d",
      "2026-10-18T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ],
    [
      "last_1h",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "1h",
      "2026-10-25T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ],
    // Sunday 2026-03-08 in New York, 23 hours (02:00 EST became 03:00 EDT at 07:00Z).
    [
      "today",
      "America/New_York",
      "2026-03-08T15:00:00Z",
      "none",
      "2026-03-08T05:00:00.000Z",
      "2026-03-09T04:00:00.000Z",
    ],
    // Shorter than a bucket: the bucket now is in.
    ["last_15m", "UTC", summer, "1h", "2026-07-15T03:00:00.000Z", "2026-07-15T04:00:00.000Z"],
    [
      "last_1h",
      "Europe/Paris",
      "2026-10-25T22:30:00Z",
      "1d",
      "2026-10-24T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
    ],
    // January's last day: last month is December of the year before.
    [
      "last_month",
      "UTC",
      "2026-01-31T23:59:59Z",
      "none",
      "2025-12-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
    ],
  ];

  it.each(cases)("%s in %s at %s (granularity %s)", (p, zone, now, g, from, to) => {
    expect(resolved(preset(p), zone, now, g)).toEqual([from, to]);
  });

  it("a relative range contains now and ends at the end of now's bucket, in every zone and granularity", () => {
    const zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"];
    fc.assert(
      fc.property(
        fc.integer({ min: t("2026-01-01T00:00:00Z"), max: t("2027-01-01T00:00:00Z") }),
        fc.constantFrom(...zones),
        fc.constantFrom(...granularities),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom("m", "h", "d", "w"),
        (now, zone, g, n, unit) => {
          const r = resolveTimeRange({ preset: `last_${n}${unit}` }, g, zone, now);
          expect(r.fromMs).toBeLessThanOrEqual(now);
          expect(r.toMs).toBeGreaterThan(now);
          expect(bucketStart(r.toMs, g, zone)).toBe(r.toMs);
          expect(bucketStart(r.toMs - 1, g, zone)).toBe(bucketStart(now, g, zone));
        },
      ),
    );
  });

  it("absolute ranges pass through; to <= from and unparsable times are refused naming the field", () => {
    const from = "2026-07-15T10:00:00.000Z";
    expect(resolved({ from, to: "2026-07-15T10:00:00.001Z" }, "UTC", summer)).toEqual([
      from,
      "2026-07-15T10:00:00.001Z",
    ]);
    const refusal = (range: TimeRange) => {
      try {
        resolveTimeRange(range, "none", "UTC", t(summer));
      } catch (error) {
        if (error instanceof QueryRefusal) return { status: error.status, ...error.body };
        throw error;
      }
      throw new Error("not refused");
    };
    expect(refusal({ from, to: from })).toMatchObject({
      status: 400,
      error: "InvalidTimeRange",
      field: "timeRange.to",
    });
    expect(refusal({ from, to: "2026-07-15T09:00:00Z" }).message).toContain("must be after");
    expect(refusal({ from: "yesterday-ish", to: from })).toMatchObject({ field: "timeRange.from" });
    expect(refusal({ from, to: "soon" })).toMatchObject({ field: "timeRange.to" });
    expect(refusal({ preset: "fortnight" })).toMatchObject({ status: 400, field: "timeRange.preset" });
  });
});

describe("checkTimezone and offsetMs", () => {
  const refusal = (zone: string) => {
    try {
      checkTimezone(zone);
    } catch (error) {
      if (error instanceof QueryRefusal) return { status: error.status, ...error.body };
      throw error;
    }
    return undefined;
  };

  it("accepts IANA names as ClickHouse spells them", () => {
    for (const zone of [
      "UTC",
      "Europe/Paris",
      "America/New_York",
      "Asia/Kolkata",
      "Asia/Kathmandu",
      "Etc/GMT-5",
    ])
      expect(refusal(zone), zone).toBeUndefined();
  });

  it("refuses unknown names, and names spelled in another case (ClickHouse would fail on them)", () => {
    expect(refusal("Mars/Olympus_Mons")).toMatchObject({
      status: 400,
      error: "UnknownTimezone",
      field: "timezone",
    });
    expect(refusal("+05:30")).toMatchObject({ status: 400, field: "timezone" });
    expect(refusal("europe/paris")).toMatchObject({
      status: 400,
      field: "timezone",
      allowed: ["Europe/Paris"],
    });
    expect(refusal("utc")).toMatchObject({ status: 400, field: "timezone", allowed: ["UTC"] });
    // An alias in lower case resolves to another zone in Intl, and still fails in ClickHouse.
    expect(refusal("us/eastern")).toMatchObject({
      status: 400,
      field: "timezone",
      allowed: ["America/New_York"],
    });
    // Checking again answers the same from the cache of accepted names.
    expect(refusal("Asia/Kolkata")).toBeUndefined();
    expect(refusal("Asia/Kolkata")).toBeUndefined();
    expect(refusal("us/eastern")).toMatchObject({ status: 400 });
  });

  it("gives the offset at an instant, including half and quarter hours and both sides of a DST change", () => {
    expect(offsetMs(t("2026-01-15T12:00:00Z"), "Europe/Paris")).toBe(hour);
    expect(offsetMs(t("2026-03-29T00:59:59Z"), "Europe/Paris")).toBe(hour);
    expect(offsetMs(t("2026-03-29T01:00:00Z"), "Europe/Paris")).toBe(2 * hour);
    expect(offsetMs(t("2026-10-25T00:59:59Z"), "Europe/Paris")).toBe(2 * hour);
    expect(offsetMs(t("2026-10-25T01:00:00Z"), "Europe/Paris")).toBe(hour);
    expect(offsetMs(t("2026-07-15T12:00:00Z"), "America/New_York")).toBe(-4 * hour);
    expect(offsetMs(t("2026-07-15T12:00:00.999Z"), "Asia/Kolkata")).toBe(5.5 * hour);
    expect(offsetMs(t("2026-07-15T12:00:00Z"), "Asia/Kathmandu")).toBe(5.75 * hour);
  });
});
