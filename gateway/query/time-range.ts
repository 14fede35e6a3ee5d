/**
 * Time ranges and buckets in a timezone (pure): presets resolved against `now`, calendar days and weeks
 * in the query's timezone, bucket starts as ClickHouse's toStartOfInterval(…, tz) places them, and
 * timezone offsets, which decide whether a rollup's UTC-aligned buckets can make up the query's buckets.
 */
import type { QueryGranularity, TimeRange } from "../../api/v1alpha1/query.js";
import { granularityMs } from "../../api/v1alpha1/rollup.js";
import { refuse } from "./query-refusal.js";

export interface ResolvedRange {
  readonly fromMs: number;
  readonly toMs: number;
}

const minuteMs = 60_000;
const hourMs = 3_600_000;
const dayMs = 86_400_000;
const unitMs = { m: minuteMs, h: hourMs, d: dayMs, w: 7 * dayMs } as const;

function mod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

/** The name Intl knows `timezone` by, or undefined if it is not a timezone. */
function canonicalTimezone(timezone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Timezones already accepted: building an Intl formatter costs about 50 µs, on every cached query. */
const acceptedTimezones = new Set<string>(["UTC"]);

/**
 * Accepts a timezone only in the case IANA spells it: Intl ignores case, but ClickHouse reads tzdata
 * files by name and fails the query on "europe/paris" or "us/eastern", so those get a 400 naming the
 * spelling to use. (Intl's own canonical names are the legacy ones, Asia/Calcutta for Asia/Kolkata, so
 * a different canonical name alone is no reason to refuse.)
 */
export function checkTimezone(timezone: string): void {
  if (acceptedTimezones.has(timezone)) return;
  const canonical = canonicalTimezone(timezone);
  if (canonical === undefined)
    refuse(
      400,
      "UnknownTimezone",
      `timezone "${timezone}" is not an IANA timezone (e.g. UTC, Europe/Paris)`,
      { field: "timezone" },
    );
  const properCase = timezone.split("/").every((segment) => /^[A-Z]/.test(segment));
  if (!properCase || (canonical !== timezone && canonical.toLowerCase() === timezone.toLowerCase()))
    refuse(400, "UnknownTimezone", `timezone "${timezone}" is spelled "${canonical}"`, {
      field: "timezone",
      allowed: [canonical],
    });
  if (acceptedTimezones.size < 1000) acceptedTimezones.add(timezone);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** The timezone's offset from UTC at an instant, in ms (Paris in winter: +3,600,000). */
export function offsetMs(instantMs: number, timezone: string): number {
  if (timezone === "UTC") return 0;
  const parts = Object.fromEntries(
    formatter(timezone)
      .formatToParts(new Date(instantMs))
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const wall = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return wall - (instantMs - (((instantMs % 1000) + 1000) % 1000));
}

/** The instant whose wall-clock time in `timezone` is `wallMs` (wall time written as if UTC). */
export function instantOfWall(wallMs: number, timezone: string): number {
  const first = wallMs - offsetMs(wallMs, timezone);
  const second = wallMs - offsetMs(first, timezone);
  // A wall time a DST start skips (Santiago's midnight): the first instant after the gap, as ClickHouse.
  return wallOf(second, timezone) === wallMs ? second : Math.max(first, second);
}

export function wallOf(instantMs: number, timezone: string): number {
  return instantMs + offsetMs(instantMs, timezone);
}

export function startOfLocalDay(instantMs: number, timezone: string): number {
  const wall = wallOf(instantMs, timezone);
  return instantOfWall(wall - (((wall % dayMs) + dayMs) % dayMs), timezone);
}

export function addLocalDays(dayStartMs: number, days: number, timezone: string): number {
  return startOfLocalDay(
    instantOfWall(wallOf(dayStartMs, timezone) + days * dayMs + dayMs / 2, timezone),
    timezone,
  );
}

export function startOfLocalMonth(instantMs: number, timezone: string, monthsToAdd = 0): number {
  const wall = new Date(wallOf(instantMs, timezone));
  return instantOfWall(Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth() + monthsToAdd, 1), timezone);
}

/**
 * Where ClickHouse's toStartOfInterval(t, INTERVAL g, tz) puts an instant. Minute intervals are counted
 * in UTC (ClickHouse does so whenever the zone's offset is whole minutes, as every zone's is since 1970:
 * Kathmandu's 30-minute buckets start at :00 and :30 UTC, not at local :00 and :30); hours and days
 * count from local midnight in local wall time. In the hour a DST end repeats, a bucket starts in the
 * occurrence the instant is in.
 */
export function bucketStart(
  instantMs: number,
  granularity: Exclude<QueryGranularity, "none">,
  timezone: string,
): number {
  const size = granularityMs[granularity];
  if (size < hourMs) return instantMs - mod(instantMs, size);
  const offset = offsetMs(instantMs, timezone);
  const sinceStart = mod(instantMs + offset, size);
  // Under the instant's own offset unless the offset changed between the bucket's start and the instant.
  const sameOffset = instantMs - sinceStart;
  if (offsetMs(sameOffset, timezone) === offset) return sameOffset;
  return instantOfWall(instantMs + offset - sinceStart, timezone);
}

/** The start of the bucket after the one starting at `startMs`. */
function nextBucketStart(
  startMs: number,
  granularity: Exclude<QueryGranularity, "none">,
  timezone: string,
): number {
  // From the middle of the next bucket, so a DST change (a 23 h or 25 h day) lands on its start.
  return bucketStart(startMs + granularityMs[granularity] * 1.5, granularity, timezone);
}

function ceilTo(valueMs: number, quantumMs: number): number {
  return Math.ceil(valueMs / quantumMs) * quantumMs;
}

/**
 * A request's range as [fromMs, toMs). A relative `last_<n><unit>` ends at the end of the current
 * bucket (the query's granularity, or the current minute), so repeated requests within one bucket
 * resolve to the same range and share a cache entry, and the range aligns with the buckets.
 */
export function resolveTimeRange(
  range: TimeRange,
  granularity: QueryGranularity,
  timezone: string,
  nowMs: number,
): ResolvedRange {
  if ("from" in range) {
    const fromMs = Date.parse(range.from);
    const toMs = Date.parse(range.to);
    if (Number.isNaN(fromMs))
      refuse(400, "InvalidTimeRange", `"${range.from}" is not an RFC 3339 time`, { field: "timeRange.from" });
    if (Number.isNaN(toMs))
      refuse(400, "InvalidTimeRange", `"${range.to}" is not an RFC 3339 time`, { field: "timeRange.to" });
    if (toMs <= fromMs)
      refuse(
        400,
        "InvalidTimeRange",
        `timeRange.to (${range.to}) must be after timeRange.from (${range.from})`,
        {
          field: "timeRange.to",
        },
      );
    return { fromMs, toMs };
  }
  const preset = range.preset;
  const relative = /^(?:last_)?([1-9][0-9]*)(m|h|d|w)$/.exec(preset);
  if (relative !== null) {
    const amount = Number(relative[1]);
    const unit = relative[2] as keyof typeof unitMs;
    // The current bucket's end is the next bucket's start: a local day lasts 23 or 25 hours across DST.
    const toMs =
      granularity === "none"
        ? ceilTo(nowMs + 1, minuteMs)
        : nextBucketStart(bucketStart(nowMs, granularity, timezone), granularity, timezone);
    // Days and weeks are calendar days in the timezone (the same wall time n days earlier), so daily
    // buckets stay whole across a DST change.
    const fromMs =
      unit === "d" || unit === "w"
        ? instantOfWall(wallOf(toMs, timezone) - amount * unitMs[unit], timezone)
        : toMs - amount * unitMs[unit];
    // A range shorter than a bucket (last_15m by hour) is the bucket now is in, not the end of it.
    return {
      fromMs: granularity === "none" ? fromMs : Math.min(fromMs, bucketStart(nowMs, granularity, timezone)),
      toMs,
    };
  }
  const today = startOfLocalDay(nowMs, timezone);
  switch (preset) {
    case "today":
      return { fromMs: today, toMs: addLocalDays(today, 1, timezone) };
    case "yesterday":
      return { fromMs: addLocalDays(today, -1, timezone), toMs: today };
    case "this_week":
    case "last_week": {
      const weekday = (new Date(wallOf(nowMs, timezone)).getUTCDay() + 6) % 7; // Monday = 0
      const monday = addLocalDays(today, -weekday, timezone);
      return preset === "this_week"
        ? { fromMs: monday, toMs: addLocalDays(monday, 7, timezone) }
        : { fromMs: addLocalDays(monday, -7, timezone), toMs: monday };
    }
    case "this_month":
      return { fromMs: startOfLocalMonth(nowMs, timezone), toMs: startOfLocalMonth(nowMs, timezone, 1) };
    case "last_month":
      return { fromMs: startOfLocalMonth(nowMs, timezone, -1), toMs: startOfLocalMonth(nowMs, timezone) };
    default:
      return refuse(400, "InvalidTimeRange", `unknown preset "${preset}"`, { field: "timeRange.preset" });
  }
}

/** Every bucket start inside [fromMs, toMs), the first one at or before fromMs; at most `limit + 1`. */
export function bucketStarts(
  range: ResolvedRange,
  granularity: Exclude<QueryGranularity, "none">,
  timezone: string,
  limit: number,
): number[] {
  const starts: number[] = [];
  let start = bucketStart(range.fromMs, granularity, timezone);
  while (start < range.toMs && starts.length <= limit) {
    starts.push(start);
    start = nextBucketStart(start, granularity, timezone);
  }
  return starts;
}
