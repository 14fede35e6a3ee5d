import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import type { QueryApiRequest, Segment } from "../../api/v1alpha1/segment.js";
import { exampleRollupObjects } from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { segmentNeedsRaw } from "../../gateway/query/plan-query.js";
import type { QueryService } from "../../gateway/query/query-service.js";
import { type AnalyticsEvent, type ReferenceSegment, segmentKeeps } from "../support/analytics-dataset.js";
import { analyticsDatasetFile, day, typeIs } from "../support/analytics-dataset-file.js";

// Issue 14: segments (has_done / has_not_done, at least N times, in the request's or their own range)
// in the query API equal counts made here from the generated events; a segment sends the query to the
// raw table and explain says why; compare answers per segment and against the previous period.
const analytics = analyticsDatasetFile("segments", { seed: 41, users: 400 });
const { clickhouse, startMs, fromMs, toMs } = analytics;
let service: QueryService;
/** Without rollups, so the unsegmented queries of a comparison read the raw table too. */
let rawOnly: QueryService;

beforeAll(async () => {
  const name = analytics.dataset.pipeline.metadata?.name ?? "";
  service = createQueryService({
    // The example rollups are Ready in the snapshot (their tables are never read: a segment needs raw events).
    snapshot: () => ({
      pipelines: [analytics.dataset.pipeline],
      rollups: exampleRollupObjects(name).map((r) => ({
        ...r,
        metadata: { ...r.metadata, namespace: analytics.dataset.namespace },
      })),
    }),
    clickhouse,
    redis: undefined,
    cache: undefined,
    logger: pino({ level: "silent" }),
    now: () => Date.now(),
  });
  rawOnly = createQueryService({
    snapshot: () => ({ pipelines: [analytics.dataset.pipeline], rollups: [] }),
    clickhouse,
    redis: undefined,
    cache: undefined,
    logger: pino({ level: "silent" }),
    now: () => Date.now(),
  });
}, 120_000);

const iso = (ms: number) => new Date(ms).toISOString();

function request(ask: Partial<QueryApiRequest>): QueryApiRequest {
  return {
    pipeline: analytics.dataset.pipeline.metadata?.name,
    metrics: [{ fn: "count", name: "n" }],
    dimensions: ["type"],
    granularity: "none",
    timezone: "UTC",
    orderBy: [],
    limit: 1000,
    offset: 0,
    timeRange: { from: iso(fromMs), to: iso(toMs) },
    ...ask,
  };
}

/** Events per type in [from, to) of the entities the segment keeps. */
function expectedByType(
  events: readonly AnalyticsEvent[],
  segment: ReferenceSegment,
  from = fromMs,
  to = toMs,
) {
  const keeps = segmentKeeps(events, segment);
  const counts = new Map<string, number>();
  for (const e of events)
    if (e.ts >= from && e.ts < to && keeps(e.user_id)) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([type, n]) => ({ type, n }));
}

const rowsByType = (rows: readonly Record<string, unknown>[]) =>
  [...rows].map((r) => ({ type: r.type, n: r.n })).sort((a, b) => (String(a.type) < String(b.type) ? -1 : 1));

const cases: { name: string; segment: Segment; reference: () => ReferenceSegment }[] = [
  {
    name: "has_done purchase at least 2 times",
    segment: { op: "has_done", event: typeIs("purchase").filter, atLeast: 2 },
    reference: () => ({ op: "has_done", event: typeIs("purchase").predicate, atLeast: 2, fromMs, toMs }),
  },
  {
    name: "has_done page_view at least 3 times (default range: the request's)",
    segment: { op: "has_done", event: typeIs("page_view").filter, atLeast: 3 },
    reference: () => ({ op: "has_done", event: typeIs("page_view").predicate, atLeast: 3, fromMs, toMs }),
  },
  {
    name: "has_not_done scroll, counted over the whole dataset (its own range)",
    segment: {
      op: "has_not_done",
      event: typeIs("scroll").filter,
      timeRange: { from: iso(startMs), to: iso(startMs + 9 * day) },
    },
    reference: () => ({
      op: "has_not_done",
      event: typeIs("scroll").predicate,
      atLeast: 1,
      fromMs: startMs,
      toMs: startMs + 9 * day,
    }),
  },
  {
    name: "has_not_done add_to_cart at least 2 times",
    segment: { op: "has_not_done", event: typeIs("add_to_cart").filter, atLeast: 2 },
    reference: () => ({
      op: "has_not_done",
      event: typeIs("add_to_cart").predicate,
      atLeast: 2,
      fromMs,
      toMs,
    }),
  },
];

describe("segments in the query API", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const answer = await service.query(analytics.dataset.namespace, request({ segment: c.segment }), {
        explainOnly: false,
        bypassCache: false,
      });
      const expected = expectedByType(analytics.dataset.events, c.reference());
      const all = expectedByType(analytics.dataset.events, {
        op: "has_not_done",
        event: () => false,
        atLeast: 1,
        fromMs,
        toMs,
      });
      // The segment keeps some entities and drops others: the counts differ from the unsegmented ones.
      expect(expected.length).toBeGreaterThan(0);
      expect(expected).not.toEqual(all);
      expect(rowsByType(answer.rows)).toEqual(expected);
    });
  }

  it("a segment forces the raw table, and explain says why; without one a rollup answers", async () => {
    const plain = await service.query(analytics.dataset.namespace, request({ metrics: ["events"] }), {
      explainOnly: true,
      bypassCache: false,
    });
    expect(plain.explain.source.kind).toBe("Rollup");
    const segmented = await service.query(
      analytics.dataset.namespace,
      request({ metrics: ["events"], segment: cases[0]?.segment as Segment }),
      { explainOnly: true, bypassCache: false },
    );
    expect(segmented.explain.source).toMatchObject({ kind: "Pipeline", table: analytics.dataset.rawTable });
    for (const candidate of segmented.explain.candidates.filter((x) => x.kind === "Rollup"))
      expect(candidate).toMatchObject({ chosen: false, reason: segmentNeedsRaw });
    expect(segmented.explain.candidates.find((x) => x.kind === "Pipeline")?.reason).toContain(
      segmentNeedsRaw,
    );
    expect(segmented.explain.sql).toContain("`user_id` IN (SELECT `user_id`");
  });

  it("compare segments: the same query once per segment", async () => {
    const segments = [cases[0]?.segment, cases[3]?.segment] as Segment[];
    const answer = await rawOnly.query(analytics.dataset.namespace, request({ compare: { segments } }), {
      explainOnly: false,
      bypassCache: false,
    });
    expect(answer.comparison?.kind).toBe("segments");
    if (answer.comparison?.kind !== "segments") return;
    expect(answer.comparison.results.map((r) => rowsByType(r.rows))).toEqual([
      expectedByType(analytics.dataset.events, cases[0]?.reference() as ReferenceSegment),
      expectedByType(analytics.dataset.events, cases[3]?.reference() as ReferenceSegment),
    ]);
    // The main answer is the unsegmented query.
    expect(rowsByType(answer.rows)).toEqual(
      expectedByType(analytics.dataset.events, {
        op: "has_not_done",
        event: () => false,
        atLeast: 1,
        fromMs,
        toMs,
      }),
    );
  });

  it("compare with ?explain=true: each comparison says how its query would run instead of empty rows", async () => {
    const segments = [cases[0]?.segment, cases[3]?.segment] as Segment[];
    const bySegment = await rawOnly.query(analytics.dataset.namespace, request({ compare: { segments } }), {
      explainOnly: true,
      bypassCache: false,
    });
    if (bySegment.comparison?.kind !== "segments") throw new Error("expected a segment comparison");
    expect(bySegment.comparison.results).toHaveLength(2);
    for (const result of bySegment.comparison.results) {
      expect(result.rows).toEqual([]);
      expect(result.explain?.source).toMatchObject({ kind: "Pipeline", table: analytics.dataset.rawTable });
    }
    // Each explains its own segment: has_done, then has_not_done.
    const [done, notDone] = bySegment.comparison.results.map((r) => r.explain?.sql ?? "");
    expect(done).toContain("AND `user_id` IN (SELECT `user_id`");
    expect(notDone).toContain("AND `user_id` NOT IN (SELECT `user_id`");
    const from = startMs + 4 * day;
    const previous = await rawOnly.query(
      analytics.dataset.namespace,
      request({
        timeRange: { from: iso(from), to: iso(startMs + 7 * day) },
        compare: { previousPeriod: true },
      }),
      { explainOnly: true, bypassCache: false },
    );
    if (previous.comparison?.kind !== "previousPeriod")
      throw new Error("expected a previous-period comparison");
    expect(previous.comparison.explain?.range).toEqual({ from: iso(startMs + day), to: iso(from) });
    expect(previous.comparison.explain?.sql).toBeDefined();
    // Without explain, comparisons carry rows and no explain of their own.
    const answered = await rawOnly.query(analytics.dataset.namespace, request({ compare: { segments } }), {
      explainOnly: false,
      bypassCache: false,
    });
    if (answered.comparison?.kind !== "segments") throw new Error("expected a segment comparison");
    expect(answered.comparison.results.map((r) => r.explain)).toEqual([undefined, undefined]);
  });

  it("compare with the previous period: daily counts matched by day, change in percent", async () => {
    const from = startMs + 4 * day;
    const to = startMs + 7 * day;
    const answer = await rawOnly.query(
      analytics.dataset.namespace,
      request({
        dimensions: [],
        granularity: "1d",
        timeRange: { from: iso(from), to: iso(to) },
        compare: { previousPeriod: true },
      }),
      { explainOnly: false, bypassCache: false },
    );
    if (answer.comparison?.kind !== "previousPeriod")
      throw new Error("expected a previous-period comparison");
    expect(answer.comparison.range).toEqual({ from: iso(startMs + day), to: iso(from) });
    const perDay = (d: number) =>
      analytics.dataset.events.filter((e) => e.ts >= startMs + d * day && e.ts < startMs + (d + 1) * day)
        .length;
    expect(answer.comparison.rows).toEqual(
      [4, 5, 6].map((d) => ({
        key: { time: iso(startMs + d * day) },
        current: { n: perDay(d) },
        previous: { n: perDay(d - 3) },
        changePercent: { n: ((perDay(d) - perDay(d - 3)) / perDay(d - 3)) * 100 },
      })),
    );
  });
});
