import pino from "pino";
import { Registry } from "prom-client";
import { beforeAll, describe, expect, it } from "vitest";
import type { FunnelRequest, FunnelResponse } from "../../api/v1alpha1/funnel.js";
import { createFunnelService, type FunnelService } from "../../gateway/analytics/funnel-service.js";
import { ResultCache } from "../../gateway/cache/result-cache.js";
import { QueryRefusal } from "../../gateway/query/query-refusal.js";
import { redisUrl } from "../env/config.js";
import {
  type AnalyticsEvent,
  type ReferenceAnswer,
  type ReferenceFunnel,
  referenceFunnel,
} from "../support/analytics-dataset.js";
import { analyticsDatasetFile, day, typeIs } from "../support/analytics-dataset-file.js";

// Issue 14: every number of a funnel answer (per-step counts, conversions, drop-off, breakdown buckets
// with Other, the median and histogram of the time to convert) equals what a brute-force reference over
// the generated events gives, for the three orders, exclusions, windows, attributions and segments.
const analytics = analyticsDatasetFile("funnel", { seed: 14, users: 500 });
const { clickhouse, startMs, fromMs, toMs } = analytics;
let service: FunnelService;

beforeAll(async () => {
  service = createFunnelService({
    snapshot: () => ({ pipelines: [analytics.dataset.pipeline], rollups: [] }),
    clickhouse,
    redis: undefined,
    cache: undefined,
    now: () => Date.now(),
  });
}, 120_000);

const steps = ["page_view", "click", "add_to_cart", "purchase"].map(typeIs);
const url = (e: AnalyticsEvent) => e.url;

interface Case {
  readonly name: string;
  readonly request: Partial<FunnelRequest>;
  readonly reference: Omit<ReferenceFunnel, "steps" | "fromMs" | "toMs" | "bins" | "exclusions"> &
    Partial<Pick<ReferenceFunnel, "exclusions">>;
}

const removeFromCart = typeIs("remove_from_cart");
const scroll = typeIs("scroll");
const cases: Case[] = [
  {
    name: "another entity: the url converts (events without one are left out), strict, 1-day window",
    request: { entity: "url", order: "strict", conversionWindowSeconds: 86_400 },
    reference: { order: "strict", windowMs: day, entity: url },
  },
  {
    name: "ordered, 1-day window",
    request: { conversionWindowSeconds: 86_400 },
    reference: { order: "ordered", windowMs: day },
  },
  {
    name: "ordered, default 14 days, breakdown by url (first touch, top 25 + Other)",
    request: { breakdown: { field: "url", attribution: { type: "first_touch" }, limit: 25 } },
    reference: {
      order: "ordered",
      windowMs: 14 * day,
      breakdown: { value: url, attribution: { type: "first_touch" }, limit: 25 },
    },
  },
  {
    name: "strict, 2-day window",
    request: { order: "strict", conversionWindowSeconds: 2 * 86_400 },
    reference: { order: "strict", windowMs: 2 * day },
  },
  {
    name: "ordered with exclusions (remove_from_cart between steps 1 and 3, scroll between 0 and 1)",
    request: {
      exclusions: [
        { event: removeFromCart.filter, fromStep: 1, toStep: 3 },
        { event: scroll.filter, fromStep: 0, toStep: 1 },
      ],
    },
    reference: {
      order: "ordered",
      windowMs: 14 * day,
      exclusions: [
        { event: removeFromCart.predicate, gaps: [1, 2] },
        { event: scroll.predicate, gaps: [0] },
      ],
    },
  },
  {
    name: "any order, 6-hour window, breakdown first touch top 5",
    request: {
      order: "any",
      conversionWindowSeconds: 6 * 3600,
      breakdown: { field: "url", attribution: { type: "first_touch" }, limit: 5 },
    },
    reference: {
      order: "any",
      windowMs: 6 * 3600_000,
      breakdown: { value: url, attribution: { type: "first_touch" }, limit: 5 },
    },
  },
  {
    name: "ordered, 3-day window, exclusion, breakdown by the url at step 1",
    request: {
      conversionWindowSeconds: 3 * 86_400,
      exclusions: [{ event: removeFromCart.filter, fromStep: 2, toStep: 3 }],
      breakdown: { field: "url", attribution: { type: "step", step: 1 }, limit: 10 },
    },
    reference: {
      order: "ordered",
      windowMs: 3 * day,
      exclusions: [{ event: removeFromCart.predicate, gaps: [2] }],
      breakdown: { value: url, attribution: { type: "step", step: 1 }, limit: 10 },
    },
  },
  {
    name: "strict, breakdown by the url at step 2",
    request: {
      order: "strict",
      breakdown: { field: "url", attribution: { type: "step", step: 2 }, limit: 8 },
    },
    reference: {
      order: "strict",
      windowMs: 14 * day,
      breakdown: { value: url, attribution: { type: "step", step: 2 }, limit: 8 },
    },
  },
  {
    name: "segment has_done purchase at least 2 times",
    request: {
      segment: { op: "has_done", event: steps[3]?.filter ?? typeIs("purchase").filter, atLeast: 2 },
    },
    reference: {
      order: "ordered",
      windowMs: 14 * day,
      segment: { op: "has_done", event: (e) => e.type === "purchase", atLeast: 2, fromMs, toMs },
    },
  },
  {
    name: "segment has_not_done scroll over the whole dataset",
    request: {
      segment: {
        op: "has_not_done",
        event: scroll.filter,
        atLeast: 1,
        timeRange: { from: new Date(startMs).toISOString(), to: new Date(startMs + 9 * day).toISOString() },
      },
    },
    reference: {
      order: "ordered",
      windowMs: 14 * day,
      segment: {
        op: "has_not_done",
        event: scroll.predicate,
        atLeast: 1,
        fromMs: startMs,
        toMs: startMs + 9 * day,
      },
    },
  },
];

function expectAnswer(answer: FunnelResponse, expected: ReferenceAnswer): void {
  const first = expected.counts[0] ?? 0;
  expect(answer.steps.map((s) => s.count)).toEqual(expected.counts);
  answer.steps.forEach((s, k) => {
    const previous = k === 0 ? s.count : (expected.counts[k - 1] ?? 0);
    expect(s.conversionFromFirst).toBe(first === 0 ? null : s.count / first);
    expect(s.conversionFromPrevious).toBe(previous === 0 ? null : s.count / previous);
    expect(s.dropOff).toBe(previous - s.count);
  });
  expect(answer.timeToConvert.converted).toBe(expected.converted);
  expect(answer.timeToConvert.medianMs).toBe(expected.medianMs);
  expect(answer.timeToConvert.histogram.edgesMs).toEqual(expected.edgesMs);
  expect(answer.timeToConvert.histogram.counts).toEqual(expected.histogram);
}

describe("POST …/funnel answers equal the reference computed from the events", () => {
  const answers = new Map<string, { answer: FunnelResponse; expected: ReferenceAnswer }>();
  for (const c of cases) {
    it(c.name, async () => {
      const request = {
        pipeline: analytics.dataset.pipeline.metadata?.name,
        steps: steps.map((s, i) => ({ name: `s${i}`, event: s.filter })),
        timeRange: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
        timezone: "UTC",
        conversionWindowSeconds: 14 * 86_400,
        order: "ordered",
        exclusions: [],
        histogramBins: 10,
        ...c.request,
      } as FunnelRequest;
      const answer = await service.funnel(analytics.dataset.namespace, request, {
        explainOnly: false,
        bypassCache: false,
      });
      const expected = referenceFunnel(analytics.dataset.events, {
        exclusions: [],
        ...c.reference,
        steps: steps.map((s) => s.predicate),
        fromMs,
        toMs,
        bins: 10,
      });
      expect(expected.counts[0]).toBeGreaterThan(0);
      expectAnswer(answer, expected);
      if (c.reference.breakdown !== undefined) {
        expect(
          answer.breakdown?.map((b) => ({
            value: b.value,
            other: b.other,
            counts: b.steps.map((s) => s.count),
            medianMs: b.medianMs,
          })),
        ).toEqual(expected.buckets);
      }
      expect(answer.explain.source.table).toBe(analytics.dataset.rawTable);
      expect(answer.explain.entity).toBe(c.request.entity ?? "user_id");
      answers.set(c.name, { answer, expected });
    });
  }

  it("the dataset exercises what the cases are about", () => {
    const converted = (i: number) => answers.get(cases[i]?.name ?? "")?.expected.converted ?? Number.NaN;
    const ordered14 = answers.get(cases[2]?.name ?? "")?.expected;
    // Steps outside a short window, other events between steps, exclusions: each changes the answer.
    expect(converted(1)).toBeLessThan(ordered14?.converted ?? 0);
    expect(converted(3)).toBeLessThan(converted(1));
    expect(converted(4)).toBeLessThan(ordered14?.converted ?? 0);
    // More than 25 urls: an Other bucket; a null url is a bucket of its own.
    expect(ordered14?.buckets.some((b) => b.other)).toBe(true);
    expect(ordered14?.buckets.some((b) => b.value === null && !b.other)).toBe(true);
  });

  it("answers from the result cache the second time, the same numbers", async () => {
    const cache = new ResultCache({ redisUrl, registry: new Registry(), logger: pino({ level: "silent" }) });
    try {
      await cache.waitUntilReady(5_000);
      const cached = createFunnelService({
        snapshot: () => ({ pipelines: [analytics.dataset.pipeline], rollups: [] }),
        clickhouse,
        redis: undefined,
        cache,
        now: () => Date.now(),
      });
      const request = {
        steps: steps.map((s) => ({ event: s.filter })),
        timeRange: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
        timezone: "UTC",
        conversionWindowSeconds: 86_400,
        order: "ordered",
        exclusions: [],
        histogramBins: 10,
      } as FunnelRequest;
      const options = { explainOnly: false, bypassCache: false };
      const first = await cached.funnel(analytics.dataset.namespace, request, {
        ...options,
        bypassCache: true,
      });
      const second = await cached.funnel(analytics.dataset.namespace, request, options);
      expect(second.explain.cache.status).toBe("hit");
      expect(second.steps).toEqual(first.steps);
      expect(second.timeToConvert).toEqual(first.timeToConvert);
    } finally {
      await cache.close();
    }
  });

  it("refuses exclusions with order any, naming the field", async () => {
    const request = {
      steps: steps.map((s) => ({ event: s.filter })),
      timeRange: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
      timezone: "UTC",
      conversionWindowSeconds: 3600,
      order: "any",
      exclusions: [{ event: scroll.filter, fromStep: 0, toStep: 1 }],
      histogramBins: 10,
    } as FunnelRequest;
    const refusal = await service
      .funnel(analytics.dataset.namespace, request, { explainOnly: false, bypassCache: false })
      .catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(QueryRefusal);
    expect((refusal as QueryRefusal).body.field).toBe("exclusions");
  });
});
