/**
 * Generated events with KNOWN retention cohorts and sessions, for the retention, sessions and export
 * tests, and the reference answers computed from the events in plain TypeScript (local dates from Intl,
 * never from the gateway's code or SQL). The events go straight into a raw table made from the
 * example pipeline's DDL (the endpoints read only the raw table).
 */
import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { formatProblems, validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { exampleManifests } from "./examples.js";

export type EventType = "page_view" | "click" | "add_to_cart" | "purchase";

export interface AnalyticsEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly session_id: string | null;
  readonly type: EventType;
  readonly url: string | null;
  readonly ms: number;
}

export const hourMs = 3_600_000;
export const dayMs = 86_400_000;
export const minuteMs = 60_000;

/** mulberry32: a small seeded generator, so every run makes the same events. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------------
// The table

export interface AnalyticsTable {
  readonly spec: PipelineSpec;
  readonly pipeline: PipelineObject;
  readonly table: string;
}

/** The example clickstream pipeline over a fresh table; `sessionGap` replaces its session window's gap. */
export async function createAnalyticsTable(
  clickhouse: ClickHouseClient,
  name: string,
  events: readonly AnalyticsEvent[],
  options: { sessionGap?: string | null } = {},
): Promise<AnalyticsTable> {
  const manifest = exampleManifests("clickstream-pipeline.yaml", "analytics").find(
    (m) => m.kind === "Pipeline",
  );
  if (manifest?.spec === undefined) throw new Error("no example Pipeline");
  const raw = structuredClone(manifest.spec) as {
    sink: { clickhouse: { database: string; table: string } };
  } & {
    windows?: { type: string; gap?: string }[];
  };
  raw.sink.clickhouse.database = "tally_analytics_test";
  raw.sink.clickhouse.table = `${name.replace(/-/g, "_")}_${randomUUID().slice(0, 8)}`;
  if (options.sessionGap === null) raw.windows = raw.windows?.filter((w) => w.type !== "session");
  else if (options.sessionGap !== undefined)
    for (const w of raw.windows ?? []) if (w.type === "session") w.gap = options.sessionGap;
  const checked = validatePipelineSpec(raw);
  if (!checked.ok) throw new Error(formatProblems(checked.problems));
  const spec = checked.value;
  for (const statement of renderRawTableDdl(spec).statements) await clickhouse.command({ query: statement });
  const table = qualifiedName(spec.sink.clickhouse.database, spec.sink.clickhouse.table, "test");
  await clickhouse.insert({
    table,
    format: "JSONEachRow",
    values: events.map((e, i) => ({
      event_id: e.event_id,
      user_id: e.user_id,
      session_id: e.session_id,
      type: e.type,
      url: e.url,
      ts: new Date(e.ms).toISOString().replace("T", " ").replace("Z", ""),
      _topic: "test",
      _partition: 0,
      _offset: i,
    })),
  });
  return {
    spec,
    table,
    pipeline: {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Pipeline",
      metadata: { name, namespace: "analytics", resourceVersion: "1" },
      spec,
      status: {
        conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: "" }],
      },
    },
  };
}

export async function dropAnalyticsTable(clickhouse: ClickHouseClient, table: AnalyticsTable): Promise<void> {
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${table.table}` });
}

// ---------------------------------------------------------------------------------------------------
// Retention events

let nextId = 0;
function event(
  user: string,
  type: EventType,
  ms: number,
  url: string | null = "/",
  session: string | null = null,
) {
  nextId += 1;
  return { event_id: `e${nextId}`, user_id: user, session_id: session, type, url, ms };
}

/**
 * Day 0 is `day0Ms` (a UTC midnight). Start event: page_view; return event: purchase. The designed users
 * cover each rule; the random ones give the grid its bulk.
 */
export function retentionEvents(day0Ms: number, seed: number): AnalyticsEvent[] {
  const at = (day: number, hour = 12) => day0Ms + day * dayMs + hour * hourMs;
  const events: AnalyticsEvent[] = [
    // Returns in several periods: cohort 0, k = 1, 2, 3.
    event("several", "page_view", at(0)),
    event("several", "purchase", at(1)),
    event("several", "purchase", at(2)),
    event("several", "purchase", at(3)),
    event("several", "purchase", at(3, 13)), // twice in one period: counted once
    // Returns only after N = 3 periods: never counted.
    event("late", "page_view", at(0)),
    event("late", "purchase", at(5)),
    // Started before the range: first_time puts it in no cohort; recurring in day 1's.
    event("old", "page_view", at(-2)),
    event("old", "page_view", at(1)),
    event("old", "purchase", at(2)),
    // Starts on days 2 and 3: recurring has it in both cohorts, first_time only in day 2's.
    event("twice", "page_view", at(2)),
    event("twice", "page_view", at(3)),
    event("twice", "purchase", at(3, 14)),
    event("twice", "purchase", at(4)),
    // A return in the start's own period is k = 0, not a return.
    event("sameday", "page_view", at(1, 8)),
    event("sameday", "purchase", at(1, 9)),
    // Timezone boundary: 23:30 UTC is the next day in Tokyo (UTC+9), where the purchase 1 h later is the same day.
    event("tokyo", "page_view", at(4, 23.5)),
    event("tokyo", "purchase", at(5, 0.5)),
    // A purchase with no start event: in no cohort.
    event("buyer", "purchase", at(2)),
  ];
  const random = seededRandom(seed);
  const types: EventType[] = ["page_view", "click", "add_to_cart", "purchase"];
  for (let u = 0; u < 120; u++) {
    const count = 1 + Math.floor(random() * 12);
    for (let i = 0; i < count; i++) {
      const ms = day0Ms + Math.floor((random() * 16 - 3) * dayMs);
      events.push(event(`r${u}`, types[Math.floor(random() * types.length)] ?? "click", ms, `/p${u % 7}`));
    }
  }
  return events;
}

/** The local calendar parts of an instant in a timezone (Intl), as numbers. */
function localParts(
  ms: number,
  timezone: string,
): { year: number; month: number; day: number; hour: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour") };
}

export type Period = "hour" | "day" | "week" | "month";

/** Consecutive numbers for consecutive periods: local days, Monday weeks, local months, absolute hours. */
export function periodNumber(ms: number, period: Period, timezone: string): number {
  if (period === "hour") return Math.floor(ms / hourMs);
  const { year, month, day } = localParts(ms, timezone);
  const dayNumber = Math.round(Date.UTC(year, month - 1, day) / dayMs);
  if (period === "day") return dayNumber;
  if (period === "week") return Math.floor((dayNumber - 4) / 7); // 1970-01-05 was a Monday
  return year * 12 + (month - 1);
}

export interface ExpectedCohort {
  readonly size: number;
  readonly returned: readonly number[];
}

export function referenceRetention(
  events: readonly AnalyticsEvent[],
  options: {
    readonly fromMs: number;
    readonly toMs: number;
    readonly period: Period;
    readonly timezone: string;
    readonly periods: number;
    readonly mode: "recurring" | "first_time";
    readonly start: (e: AnalyticsEvent) => boolean;
    readonly back: (e: AnalyticsEvent) => boolean;
    readonly keep?: (user: string) => boolean;
  },
): ExpectedCohort[] {
  const p = (ms: number) => periodNumber(ms, options.period, options.timezone);
  const first = p(options.fromMs);
  const last = p(options.toMs - 1);
  const cohortsOf = new Map<string, Set<number>>();
  const firstStart = new Map<string, number>();
  for (const e of events) {
    if (!options.start(e) || !(options.keep?.(e.user_id) ?? true)) continue;
    firstStart.set(e.user_id, Math.min(firstStart.get(e.user_id) ?? Infinity, e.ms));
    const set = cohortsOf.get(e.user_id) ?? new Set<number>();
    set.add(p(e.ms));
    cohortsOf.set(e.user_id, set);
  }
  if (options.mode === "first_time")
    for (const [user, ms] of firstStart) cohortsOf.set(user, new Set([p(ms)]));
  const returnsOf = new Map<string, Set<number>>();
  for (const e of events) {
    if (!options.back(e)) continue;
    const set = returnsOf.get(e.user_id) ?? new Set<number>();
    set.add(p(e.ms));
    returnsOf.set(e.user_id, set);
  }
  const grid: ExpectedCohort[] = [];
  for (let c = first; c <= last; c++) {
    const members = [...cohortsOf].filter(([, periods]) => periods.has(c)).map(([user]) => user);
    const returned = [];
    for (let k = 1; k <= options.periods; k++)
      returned.push(members.filter((user) => returnsOf.get(user)?.has(c + k) ?? false).length);
    grid.push({ size: members.length, returned });
  }
  return grid;
}

// ---------------------------------------------------------------------------------------------------
// Session events

/**
 * Users with known sessions under a 20-minute gap: gaps just under and just over (and exactly at) the
 * threshold, one-event sessions, a session id that spans a gap (so the id variant differs), urls with
 * commas and quotes (CSV quoting), and seeded random users around the threshold.
 */
export function sessionEvents(startMs: number, seed: number, gapMs: number): AnalyticsEvent[] {
  const events: AnalyticsEvent[] = [];
  const add = (user: string, type: EventType, ms: number, url: string | null, session: string | null) =>
    events.push(event(user, type, ms, url, session));
  // s1: 3 events, the last gap − 1 ms after the previous (one session); then one exactly `gap` later (a new one).
  add("alice", "page_view", startMs, "/home", "a1");
  add("alice", "click", startMs + 5 * minuteMs, "/home", "a1");
  add("alice", "page_view", startMs + 5 * minuteMs + gapMs - 1, "/pricing", "a1");
  add("alice", "page_view", startMs + 5 * minuteMs + 2 * gapMs - 1, "/docs", "a1"); // same id, new gap session
  // One-event sessions.
  add("bob", "page_view", startMs + hourMs, "/home", "b1");
  add("bob", "click", startMs + 3 * hourMs, '/search?q="a,b"', "b2");
  // Over the gap by 1 ms: two sessions; the second has no url (entry/exit from the url-bearing events).
  add("carol", "page_view", startMs + 2 * hourMs, "/landing", "c1");
  add("carol", "add_to_cart", startMs + 2 * hourMs + gapMs + 1, null, "c2");
  add("carol", "purchase", startMs + 2 * hourMs + gapMs + 2 * minuteMs, "/checkout,done", "c2");
  // Events without a session id: only the gap variant sees them.
  add("dave", "page_view", startMs + 4 * hourMs, "/home", null);
  const random = seededRandom(seed);
  const urls = ["/home", "/pricing", "/docs", "/blog", null];
  for (let u = 0; u < 40; u++) {
    let ms = startMs + Math.floor(random() * 20 * hourMs);
    let session = 0;
    const count = 1 + Math.floor(random() * 8);
    for (let i = 0; i < count; i++) {
      const type: EventType = random() < 0.6 ? "page_view" : "click";
      add(`s${u}`, type, ms, urls[Math.floor(random() * urls.length)] ?? null, `s${u}-${session}`);
      // Gaps around the threshold: some under, some over; the id follows the gap rule mostly.
      const step = Math.floor(gapMs * (0.5 + random()));
      if (step >= gapMs && random() < 0.8) session += 1;
      ms += step;
    }
  }
  return events;
}

export interface ReferenceSession {
  readonly startMs: number;
  readonly durationMs: number;
  readonly events: number;
  readonly pageViews: number;
  readonly entry: string | null;
  readonly exit: string | null;
  readonly firstType: EventType;
}

/** Sessions by the gap rule (a new one at a distance ≥ gap) or by session id; events sorted by time. */
export function referenceSessions(
  events: readonly AnalyticsEvent[],
  by: { gapMs: number } | { sessionId: true },
  range: { fromMs: number; toMs: number },
): ReferenceSession[] {
  const inRange = events.filter((e) => e.ms >= range.fromMs && e.ms < range.toMs);
  const groups: AnalyticsEvent[][] = [];
  if ("sessionId" in by) {
    const byId = new Map<string, AnalyticsEvent[]>();
    for (const e of inRange)
      if (e.session_id !== null && e.session_id !== "")
        byId.set(e.session_id, [...(byId.get(e.session_id) ?? []), e]);
    groups.push(...byId.values());
  } else {
    const byUser = new Map<string, AnalyticsEvent[]>();
    for (const e of inRange) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
    for (const list of byUser.values()) {
      const sorted = [...list].sort((a, b) => a.ms - b.ms);
      let current: AnalyticsEvent[] = [];
      for (const e of sorted) {
        const previous = current.at(-1);
        if (previous !== undefined && e.ms - previous.ms >= by.gapMs) {
          groups.push(current);
          current = [];
        }
        current.push(e);
      }
      if (current.length > 0) groups.push(current);
    }
  }
  return groups.map((group) => {
    const sorted = [...group].sort((a, b) => a.ms - b.ms);
    const withUrl = sorted.filter((e) => e.url !== null);
    const first = sorted[0] as AnalyticsEvent;
    const last = sorted.at(-1) as AnalyticsEvent;
    return {
      startMs: first.ms,
      durationMs: last.ms - first.ms,
      events: sorted.length,
      pageViews: sorted.filter((e) => e.type === "page_view").length,
      entry: withUrl[0]?.url ?? null,
      exit: withUrl.at(-1)?.url ?? null,
      firstType: first.type,
    };
  });
}

export interface ReferenceStats {
  sessions: number;
  events: number;
  bounces: number;
  averageDurationSeconds: number | null;
  medianDurationSeconds: number | null;
  bounceRate: number | null;
  eventsPerSession: number | null;
}

export function referenceStats(
  sessions: readonly ReferenceSession[],
  bounced: (s: ReferenceSession) => boolean,
): ReferenceStats {
  const n = sessions.length;
  if (n === 0)
    return {
      sessions: 0,
      events: 0,
      bounces: 0,
      averageDurationSeconds: null,
      medianDurationSeconds: null,
      bounceRate: null,
      eventsPerSession: null,
    };
  const durations = sessions.map((s) => s.durationMs).sort((a, b) => a - b);
  const total = durations.reduce((a, b) => a + b, 0);
  const middle = (n - 1) / 2;
  const median = ((durations[Math.floor(middle)] ?? 0) + (durations[Math.ceil(middle)] ?? 0)) / 2;
  const events = sessions.reduce((a, s) => a + s.events, 0);
  const bounces = sessions.filter(bounced).length;
  return {
    sessions: n,
    events,
    bounces,
    averageDurationSeconds: total / n / 1000,
    medianDurationSeconds: median / 1000,
    bounceRate: bounces / n,
    eventsPerSession: events / n,
  };
}

/** Counts by key, most first, then by key (nulls last); at most `top`. */
export function topCounts<K extends string | null>(
  keys: readonly K[],
  top: number,
): { key: K; count: number }[] {
  const counts = new Map<K, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => {
      if (a.count !== b.count) return b.count - a.count;
      if (a.key === b.key) return 0;
      if (a.key === null) return 1;
      if (b.key === null) return -1;
      return a.key < b.key ? -1 : 1;
    })
    .slice(0, top);
}
