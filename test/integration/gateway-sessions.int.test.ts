import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionsRequest, SessionsResponse } from "../../api/v1alpha1/sessions.js";
import { createSessionsService, type SessionsService } from "../../gateway/analytics/sessions-service.js";
import {
  type AnalyticsEvent,
  type AnalyticsTable,
  createAnalyticsTable,
  dayMs,
  dropAnalyticsTable,
  hourMs,
  minuteMs,
  type ReferenceSession,
  referenceSessions,
  referenceStats,
  sessionEvents,
  topCounts,
} from "../support/analytics-events.js";
import { clickhouseClient } from "../support/runtime-harness.js";

// Issue 14: every figure of the sessions answer equals the one computed here from the generated events:
// gaps just under, at and over the threshold, one-event sessions, the session id variant, both bounce
// definitions, entry and exit pages, over time and by dimension, against the stack's ClickHouse.
const clickhouse = clickhouseClient();
const gapMs = 20 * minuteMs;
const dayStartMs = Math.floor((Date.now() - 3 * dayMs) / dayMs) * dayMs;
const events: AnalyticsEvent[] = sessionEvents(dayStartMs + hourMs, 11, gapMs);
const range = { fromMs: dayStartMs, toMs: dayStartMs + dayMs };
let withWindow: AnalyticsTable;
let withoutWindow: AnalyticsTable;
let service: SessionsService;

beforeAll(async () => {
  withWindow = await createAnalyticsTable(clickhouse, "sessions", events, { sessionGap: "20m" });
  withoutWindow = await createAnalyticsTable(clickhouse, "nowindow", events, { sessionGap: null });
  service = createSessionsService({
    snapshot: () => ({ pipelines: [withWindow.pipeline, withoutWindow.pipeline], rollups: [] }),
    clickhouse,
    redis: undefined,
    cache: undefined,
    now: () => Date.now(),
  });
}, 60_000);
afterAll(async () => {
  for (const table of [withWindow, withoutWindow])
    if (table !== undefined) await dropAnalyticsTable(clickhouse, table);
  await clickhouse.close();
});

const iso = (ms: number) => new Date(ms).toISOString();

async function sessions(request: Partial<SessionsRequest>): Promise<SessionsResponse> {
  return service.sessions(
    "analytics",
    {
      pipeline: "sessions",
      urlField: "url",
      bounce: "single_event",
      granularity: "1h",
      top: 10,
      timezone: "UTC",
      timeRange: { from: iso(range.fromMs), to: iso(range.toMs) },
      dimension: "type",
      ...request,
    },
    { explainOnly: false, bypassCache: true },
  );
}

const singleEvent = (s: ReferenceSession) => s.events === 1;
const singlePageView = (s: ReferenceSession) => s.pageViews <= 1;

/** The whole expected answer from the reference sessions. */
const utcHour = (ms: number) => Math.floor(ms / hourMs) * hourMs;

function expectedAnswer(
  list: readonly ReferenceSession[],
  bounced: (s: ReferenceSession) => boolean,
  top = 10,
  bucketOf = utcHour,
) {
  const buckets = new Map<number, ReferenceSession[]>();
  for (const s of list) {
    const bucket = bucketOf(s.startMs);
    buckets.set(bucket, [...(buckets.get(bucket) ?? []), s]);
  }
  return {
    summary: referenceStats(list, bounced),
    entryPages: topCounts(
      list.map((s) => s.entry),
      top,
    ).map(({ key, count }) => ({ url: key, sessions: count })),
    exitPages: topCounts(
      list.map((s) => s.exit),
      top,
    ).map(({ key, count }) => ({ url: key, sessions: count })),
    overTime: [...buckets]
      .sort(([a], [b]) => a - b)
      .map(([bucket, group]) => ({ time: iso(bucket), ...referenceStats(group, bounced) })),
    byDimension: topCounts(
      list.map((s) => s.firstType),
      top,
    ).map(({ key }) => ({
      value: key,
      ...referenceStats(
        list.filter((s) => s.firstType === key),
        bounced,
      ),
    })),
  };
}

function figures(answer: SessionsResponse) {
  const { explain: _explain, gapSeconds: _gap, ...rest } = answer;
  return rest;
}

describe("POST …/sessions", () => {
  it("gap sessions with the pipeline's session window gap (20m): every figure equals the reference", async () => {
    const answer = await sessions({});
    expect(answer.gapSeconds).toBe(1200);
    const list = referenceSessions(events, { gapMs }, range);
    expect(figures(answer)).toEqual(expectedAnswer(list, singleEvent));
    // The designed gaps: alice's gap − 1 ms stays in one session, exactly gap starts a new one; carol's gap + 1 ms splits.
    const alice = referenceSessions(
      events.filter((e) => e.user_id === "alice"),
      { gapMs },
      range,
    );
    expect(alice.map((s) => s.events)).toEqual([3, 1]);
    expect(list.filter((s) => s.events === 1).length).toBeGreaterThan(3);
  });

  it("an explicit gap overrides the window's; without a session window the gap is 30m", async () => {
    const explicit = await sessions({ gap: "45m" });
    expect(explicit.gapSeconds).toBe(2700);
    expect(figures(explicit)).toEqual(
      expectedAnswer(referenceSessions(events, { gapMs: 45 * minuteMs }, range), singleEvent),
    );
    const fallback = await sessions({ pipeline: "nowindow" });
    expect(fallback.gapSeconds).toBe(1800);
    expect(figures(fallback)).toEqual(
      expectedAnswer(referenceSessions(events, { gapMs: 30 * minuteMs }, range), singleEvent),
    );
    expect(figures(fallback).summary).not.toEqual(figures(await sessions({})).summary);
  });

  it("sessions from the session id field (events without one left out)", async () => {
    const answer = await sessions({ sessionField: "session_id" });
    expect(answer.gapSeconds).toBeNull();
    const list = referenceSessions(events, { sessionId: true }, range);
    expect(figures(answer)).toEqual(expectedAnswer(list, singleEvent));
    expect(list.length).not.toBe(referenceSessions(events, { gapMs }, range).length);
  });

  it("bounce as at most one page view; a filter; daily buckets in a timezone; top 3", async () => {
    const bounces = await sessions({ bounce: "single_page_view" });
    expect(figures(bounces)).toEqual(
      expectedAnswer(referenceSessions(events, { gapMs }, range), singlePageView),
    );
    const views = await sessions({
      filter: { op: "eq", field: "type", value: "page_view" },
      top: 3,
      granularity: "none",
    });
    const viewList = referenceSessions(
      events.filter((e) => e.type === "page_view"),
      { gapMs },
      range,
    );
    expect(figures(views)).toEqual({ ...expectedAnswer(viewList, singleEvent, 3), overTime: [] });
    // Kolkata is UTC+5:30 all year: its days start at 18:30 UTC.
    const kolkata = await sessions({ granularity: "1d", timezone: "Asia/Kolkata" });
    const kolkataDay = (ms: number) => Math.floor((ms + 5.5 * hourMs) / dayMs) * dayMs - 5.5 * hourMs;
    const list = referenceSessions(events, { gapMs }, range);
    expect(figures(kolkata)).toEqual(expectedAnswer(list, singleEvent, 10, kolkataDay));
    expect(kolkata.overTime).toHaveLength(2);
  });

  it("a range cuts sessions at its edges", async () => {
    const cut = { fromMs: dayStartMs + 3 * hourMs, toMs: dayStartMs + 9 * hourMs };
    const answer = await sessions({ timeRange: { from: iso(cut.fromMs), to: iso(cut.toMs) } });
    expect(figures(answer)).toEqual(expectedAnswer(referenceSessions(events, { gapMs }, cut), singleEvent));
  });

  it("a segment keeps only the sessions of entities that did the event (has_done) or not", async () => {
    const clickers = new Set(events.filter((e) => e.type === "click").map((e) => e.user_id));
    const segment = {
      op: "has_done" as const,
      event: { op: "eq" as const, field: "type", value: "click" },
      atLeast: 1,
    };
    const done = await sessions({ segment });
    const doneList = referenceSessions(
      events.filter((e) => clickers.has(e.user_id)),
      { gapMs },
      range,
    );
    expect(figures(done)).toEqual(expectedAnswer(doneList, singleEvent));
    const notDone = await sessions({ segment: { ...segment, op: "has_not_done" } });
    const notDoneList = referenceSessions(
      events.filter((e) => !clickers.has(e.user_id)),
      { gapMs },
      range,
    );
    expect(figures(notDone)).toEqual(expectedAnswer(notDoneList, singleEvent));
    expect(doneList.length + notDoneList.length).toBe(referenceSessions(events, { gapMs }, range).length);
  });

  it("refuses unknown fields naming them", async () => {
    await expect(sessions({ sessionField: "nope" })).rejects.toMatchObject({
      body: { field: "sessionField" },
    });
    await expect(sessions({ dimension: "nope" })).rejects.toMatchObject({ body: { field: "dimension" } });
    await expect(sessions({ urlField: "nope" })).rejects.toMatchObject({ body: { field: "urlField" } });
  });
});
