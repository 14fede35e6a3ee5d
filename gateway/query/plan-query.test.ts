import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { QueryFilter, QueryRequest } from "../../api/v1alpha1/query.js";
import { granularityMs } from "../../api/v1alpha1/rollup.js";
import type { NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { buildCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import {
  exampleCatalogue,
  namespace,
  pipelineObject,
  rollupObject,
  rollupSpec,
} from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { type EventsPlan, type PlanLimits, planQuery, type Segment } from "./plan-query.js";
import { type Ask, queryRequest, refusalOf } from "./testdata/query-requests.js";

// Ranges are built from now (retention applies): day0 is midnight UTC three days ago.
const minute = 60_000;
const hour = 3_600_000;
const day = 86_400_000;
const now = Date.now();
const day0 = Math.floor(now / day) * day - 3 * day;
const iso = (ms: number) => new Date(ms).toISOString();
const span = (fromMs: number, toMs: number) => ({ from: iso(fromMs), to: iso(toMs) });
const hours = (from: number, to: number) => span(day0 + from * hour, day0 + to * hour);

function plan(ask: Ask, catalogue: NamespaceCatalogue = exampleCatalogue(), limits?: PlanLimits): EventsPlan {
  const planned = planQuery(catalogue, queryRequest({ timeRange: hours(0, 48), ...ask }), now, limits);
  if (planned.kind !== "events") throw new Error("expected an events plan");
  return planned;
}

const sourceName = (s: Segment) => (s.source.kind === "Pipeline" ? "raw" : s.source.use.rollup.name);
const route = (p: EventsPlan) => p.segments.map(sourceName);
/** Segments as [source, from, to] in hours after day0. */
const layout = (p: EventsPlan) =>
  p.segments.map((s) => [sourceName(s), (s.fromMs - day0) / hour, (s.toMs - day0) / hour]);
const verdict = (p: EventsPlan, name: string) => {
  const found = p.candidates.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no verdict for ${name}: ${JSON.stringify(p.candidates)}`);
  return found;
};

function refusal(ask: Ask, catalogue: NamespaceCatalogue = exampleCatalogue(), limits?: PlanLimits) {
  return refusalOf(() =>
    planQuery(catalogue, queryRequest({ timeRange: hours(0, 48), ...ask }), now, limits),
  );
}

describe("routing among the example rollups", () => {
  it("takes the coarsest rollup that answers, and says why the others were not used", () => {
    const p = plan({ metrics: ["events", "revenue"], dimensions: ["type"], timeRange: hours(0, 48) });
    expect(layout(p)).toEqual([["clicks-per-day", 0, 48]]);
    expect(p.segments[0]?.source).toMatchObject({ use: { columns: ["events", "revenue"] } });
    expect(verdict(p, "clicks-per-day")).toMatchObject({ kind: "Rollup", chosen: true });
    expect(verdict(p, "clicks-per-hour").chosen).toBe(false);
    expect(verdict(p, "clicks-per-hour").reason).toContain(
      "not needed: coarser rollups answered the whole range",
    );
    expect(verdict(p, "clickstream")).toMatchObject({
      kind: "Pipeline",
      chosen: false,
      reason: "not needed: rollups answer the whole range",
    });
  });

  it("goes finer as the buckets or the dimensions require", () => {
    expect(route(plan({ metrics: ["events"], granularity: "1h" }))).toEqual(["clicks-per-hour"]);
    expect(route(plan({ metrics: ["events"], granularity: "6h" }))).toEqual(["clicks-per-hour"]);
    expect(route(plan({ metrics: ["events"], granularity: "15m" }))).toEqual(["clicks-per-minute"]);
    const byUrl = plan({ metrics: ["events"], dimensions: ["url"], granularity: "1d" });
    expect(route(byUrl)).toEqual(["clicks-per-minute"]);
    expect(verdict(byUrl, "clicks-per-day").reason).toBe("lacks dimension url (has type)");
    const users = plan({ metrics: ["users", "latency"], granularity: "1d" });
    expect(route(users)).toEqual(["clicks-per-minute"]);
    expect(verdict(users, "clicks-per-hour").reason).toBe("has no metric computing users (uniq of user_id)");
  });

  it("answers the aligned middle from a rollup and the edges from finer sources, down to raw", () => {
    const from = day0 + 3 * hour + 30_000;
    const to = day0 + 2 * day + 9 * hour + 5 * minute + 45_500;
    const p = plan({ metrics: ["events"], dimensions: ["type"], timeRange: span(from, to) });
    expect(p.segments.map((s) => [sourceName(s), s.fromMs - day0, s.toMs - day0])).toEqual([
      ["raw", 3 * hour + 30_000, 3 * hour + minute],
      ["clicks-per-minute", 3 * hour + minute, 4 * hour],
      ["clicks-per-hour", 4 * hour, day],
      ["clicks-per-day", day, 2 * day],
      ["clicks-per-hour", 2 * day, 2 * day + 9 * hour],
      ["clicks-per-minute", 2 * day + 9 * hour, 2 * day + 9 * hour + 5 * minute],
      ["raw", 2 * day + 9 * hour + 5 * minute, to - day0],
    ]);
    expect(p.candidates.filter((c) => c.chosen)).toHaveLength(4);
    expect(verdict(p, "clickstream").reason).toContain("no rollup's buckets fit there");
    expect(verdict(p, "clicks-per-day").reason).toContain("the coarsest rollup (1d)");
    expect(verdict(p, "clicks-per-minute").reason).toContain(
      "a finer rollup (1m) for what the coarser buckets do not cover",
    );
    // With hourly buckets the day rollup cannot make them: hours take the middle.
    const hourly = plan({ metrics: ["events"], granularity: "1h", timeRange: span(from, to) });
    expect(route(hourly)).toEqual([
      "raw",
      "clicks-per-minute",
      "clicks-per-hour",
      "clicks-per-minute",
      "raw",
    ]);
    expect(verdict(hourly, "clicks-per-day").reason).toContain(
      "its 1d buckets do not make up the query's 1h buckets in UTC",
    );
  });

  it("days over a range starting at noon: hours, a day, hours", () => {
    expect(layout(plan({ metrics: ["events"], granularity: "1d", timeRange: hours(12, 60) }))).toEqual([
      ["clicks-per-hour", 12, 24],
      ["clicks-per-day", 24, 48],
      ["clicks-per-hour", 48, 60],
    ]);
  });

  it("leaves to the raw table what no rollup holds", () => {
    const p = plan({ metrics: [{ fn: "uniq", name: "sessions", field: "session_id" }], granularity: "1d" });
    expect(layout(p)).toEqual([["raw", 0, 48]]);
    expect(verdict(p, "clickstream")).toMatchObject({ chosen: true });
    expect(verdict(p, "clickstream").reason).toContain("no rollup answers this query");
    for (const name of ["clicks-per-day", "clicks-per-hour", "clicks-per-minute"])
      expect(verdict(p, name).reason).toBe("has no metric computing sessions (uniq of session_id)");
    expect(route(plan({ metrics: ["events"], dimensions: ["user_id"], timeRange: hours(0, 12) }))).toEqual([
      "raw",
    ]);
    expect(route(plan({ metrics: ["events"], filter: { op: "range", field: "value", gte: 10 } }))).toEqual([
      "raw",
    ]);
  });

  it("a timezone whose offset is not whole buckets of a rollup excludes it", () => {
    const daily = (timezone: string, fromH: number, toH: number) =>
      route(plan({ metrics: ["events"], granularity: "1d", timezone, timeRange: hours(fromH, toH) }));
    expect(daily("UTC", 0, 48)).toEqual(["clicks-per-day"]);
    expect(daily("Europe/Paris", 1, 49)).toEqual(["clicks-per-hour"]);
    expect(daily("America/New_York", 4, 52)).toEqual(["clicks-per-hour"]);
    expect(daily("Asia/Kolkata", 0, 48)).toEqual(["clicks-per-minute"]);
    expect(daily("Asia/Kathmandu", 0, 48)).toEqual(["clicks-per-minute"]);
    const kolkata = plan({ metrics: ["events"], granularity: "1d", timezone: "Asia/Kolkata" });
    expect(verdict(kolkata, "clicks-per-hour").reason).toContain(
      "its 1h buckets do not make up the query's 1d buckets in Asia/Kolkata",
    );
    // Without time buckets the timezone does not matter.
    expect(route(plan({ metrics: ["events"], timezone: "Asia/Kolkata" }))).toEqual(["clicks-per-day"]);
  });

  it("matches metrics by what they compute, not by name", () => {
    const n = plan({ metrics: [{ fn: "count", name: "n" }], dimensions: ["type"], granularity: "1d" });
    expect(route(n)).toEqual(["clicks-per-day"]);
    expect(n.segments[0]?.source).toMatchObject({ use: { columns: ["events"] } });
    expect(n.metrics.map((m) => m.columns)).toEqual([["n"]]);
    expect(route(plan({ metrics: ["count"] }))).toEqual(["clicks-per-day"]);
    // An inline definition written with its keys in another order is the same computation.
    const u = JSON.parse('{"field":"user_id","name":"u","fn":"uniq"}') as QueryRequest["metrics"][number];
    const users = plan({ metrics: [u], granularity: "1h" });
    expect(route(users)).toEqual(["clicks-per-minute"]);
    expect(users.segments[0]?.source).toMatchObject({ use: { columns: ["users"] } });
  });

  it("answers the range beyond a rollup's retention from coarser ones that keep it, or raw", () => {
    const old = span(now - 10 * day - (now % day), now - 8 * day - (now % day));
    const p = plan({ metrics: ["events"], dimensions: ["type"], granularity: "1h", timeRange: old });
    expect(route(p)).toEqual(["clicks-per-hour"]);
    const byUrl = plan({ metrics: ["events"], dimensions: ["url"], timeRange: old });
    expect(route(byUrl)).toEqual(["raw"]);
    expect(verdict(byUrl, "clicks-per-minute").reason).toBe("keeps 7 days; the range starts earlier");
  });
});

describe("routing among hand-made rollups", () => {
  const catalogue = (...rollups: Parameters<typeof rollupObject>[]) =>
    buildCatalogue(
      namespace,
      [pipelineObject()],
      [
        // A minute rollup of everything, so the hand-made ones are compared with a finer fallback.
        rollupObject("base-minute", rollupSpec({ granularity: "1m", dimensions: ["type", "url"] })),
        ...rollups.map((args) => rollupObject(...args)),
      ],
    );

  it("among equally coarse rollups, the one with fewer dimensions", () => {
    const c = catalogue(
      ["a-wide", rollupSpec({ dimensions: ["type", "url"] })],
      ["b-narrow", rollupSpec({ dimensions: ["type"] })],
    );
    expect(route(plan({ metrics: ["events"], dimensions: ["type"] }, c))).toEqual(["b-narrow"]);
    expect(route(plan({ metrics: ["events"] }, c))).toEqual(["b-narrow"]);
    expect(route(plan({ metrics: ["events"], dimensions: ["url"] }, c))).toEqual(["a-wide"]);
  });

  it("a same-named metric with another definition never answers for the name", () => {
    const c = exampleCatalogue({
      rollups: [
        rollupObject(
          "z-totals",
          rollupSpec({
            granularity: "1d",
            dimensions: [],
            metrics: [{ fn: "sum", name: "events", field: "value" }],
          }),
        ),
      ],
    });
    const events = plan({ metrics: ["events"] }, c);
    expect(route(events)).toEqual(["clicks-per-day"]);
    expect(verdict(events, "z-totals").reason).toBe("has no metric computing events (count)");
    // Its own definition, asked inline, it answers (and, with no dimensions, before clicks-per-day).
    const inline = plan({ metrics: [{ fn: "sum", name: "s", field: "value" }] }, c);
    expect(route(inline)).toEqual(["z-totals"]);
    expect(inline.segments[0]?.source).toMatchObject({ use: { columns: ["events"] } });
  });

  it("a filtered rollup answers when the query's conjuncts imply its filters, with the rest as residual", () => {
    const c = catalogue(
      [
        "clicks",
        rollupSpec({ dimensions: ["url"], filter: [{ field: "type", operator: "eq", values: ["click"] }] }),
      ],
      [
        "buys",
        rollupSpec({
          dimensions: ["url"],
          filter: [{ field: "type", operator: "in", values: ["purchase", "add_to_cart"] }],
        }),
      ],
      [
        "humans",
        rollupSpec({ dimensions: ["type"], filter: [{ field: "type", operator: "ne", values: ["bot"] }] }),
      ],
      [
        "no-test",
        rollupSpec({
          dimensions: ["url"],
          filter: [{ field: "type", operator: "notIn", values: ["test", "probe"] }],
        }),
      ],
      [
        "big",
        rollupSpec({ dimensions: ["type"], filter: [{ field: "value", operator: "gte", values: ["10"] }] }),
      ],
    );
    const use = (ask: Ask) => {
      const p = plan(ask, c);
      const first = p.segments[0]?.source;
      return {
        route: route(p),
        residual: first?.kind === "Rollup" ? first.use.residualFilter : "raw",
        reasons: Object.fromEntries(p.candidates.map((v) => [v.name, v.reason])),
      };
    };
    const click = { op: "eq", field: "type", value: "click" } as const;
    expect(use({ metrics: ["events"], dimensions: ["url"], filter: click })).toMatchObject({
      route: ["clicks"],
      residual: undefined,
    });
    const contains = { op: "contains", field: "url", value: "/p" } as const;
    expect(
      use({ metrics: ["events"], dimensions: ["url"], filter: { op: "and", filters: [contains, click] } }),
    ).toMatchObject({ route: ["clicks"], residual: contains });
    const bought = use({
      metrics: ["events"],
      filter: { op: "in", field: "type", values: ["add_to_cart", "purchase"] },
      dimensions: ["url"],
    });
    expect(bought).toMatchObject({ route: ["buys"], residual: undefined });
    expect(bought.reasons.clicks).toBe(
      "holds only events where type eq click; the query's filter does not require that",
    );
    expect(
      use({ metrics: ["events"], filter: { op: "not", filter: { op: "eq", field: "type", value: "bot" } } }),
    ).toMatchObject({ route: ["humans"] });
    expect(
      use({
        metrics: ["events"],
        dimensions: ["url"],
        filter: { op: "not", filter: { op: "in", field: "type", values: ["probe", "test"] } },
      }),
    ).toMatchObject({ route: ["no-test"] });
    expect(use({ metrics: ["events"], filter: { op: "range", field: "value", gte: 10 } })).toMatchObject({
      route: ["big"],
      residual: undefined,
    });
    // What does not imply a filter is refused, with the rollup's condition in the reason.
    const unfiltered = use({ metrics: ["events"], dimensions: ["url"] });
    expect(unfiltered.route).toEqual(["base-minute"]);
    expect(unfiltered.reasons.big).toBe(
      "holds only events where value gte 10; the query's filter does not require that",
    );
    expect(unfiltered.reasons.humans).toContain("type ne bot");
    expect(unfiltered.reasons["no-test"]).toContain("type notIn test,probe");
    expect(
      use({ metrics: ["events"], filter: { op: "range", field: "value", gte: 20 } }).reasons.big,
    ).toContain("value gte 10");
    // A filter under or/not is not one of the query's conjuncts.
    expect(
      use({ metrics: ["events"], dimensions: ["url"], filter: { op: "or", filters: [click, click] } }).route,
    ).toEqual(["base-minute"]);
    // The residual's fields must be the rollup's dimensions.
    const residualOnType = use({
      metrics: ["events"],
      filter: { op: "and", filters: [click, { op: "eq", field: "user_id", value: "u1" }] },
    });
    expect(residualOnType.route).toEqual(["raw"]);
    expect(residualOnType.reasons.clicks).toBe("lacks dimension user_id (has url)");
  });

  it("a cascade needs every filter up its chain", () => {
    const c = catalogue(
      [
        "clicks-hourly",
        rollupSpec({ dimensions: ["url"], filter: [{ field: "type", operator: "eq", values: ["click"] }] }),
      ],
      [
        "clicks-daily",
        rollupSpec({
          source: { kind: "Rollup", name: "clicks-hourly" },
          granularity: "1d",
          dimensions: ["url"],
          filter: [{ field: "url", operator: "ne", values: ["/health"] }],
        }),
      ],
    );
    const click = { op: "eq", field: "type", value: "click" } as const;
    const notHealth = { op: "not", filter: { op: "eq", field: "url", value: "/health" } } as const;
    expect(
      route(plan({ metrics: ["events"], filter: { op: "and", filters: [notHealth, click] } }, c)),
    ).toEqual(["clicks-daily"]);
    const onlyClick = plan({ metrics: ["events"], filter: click }, c);
    expect(route(onlyClick)).toEqual(["clicks-hourly"]);
    expect(verdict(onlyClick, "clicks-daily").reason).toContain("url ne /health");
  });

  it("a rollup that is not ready is passed over with the reason", () => {
    const c = catalogue(
      ["creating", rollupSpec({ granularity: "1d" }), { ready: "creating the serving table", table: false }],
      ["tableless", rollupSpec({ granularity: "6h" }), { table: false }],
    );
    const p = plan({ metrics: ["events"], dimensions: ["type"] }, c);
    expect(route(p)).toEqual(["base-minute"]);
    expect(verdict(p, "creating").reason).toBe("Rollup creating is not Ready: creating the serving table");
    expect(verdict(p, "tableless").reason).toBe("Rollup tableless has no serving table yet");
  });

  it("a pipeline that is not ready answers only through ready rollups", () => {
    const c = buildCatalogue(
      namespace,
      [pipelineObject("clickstream", () => {}, "no raw table yet")],
      [rollupObject("daily", rollupSpec({ granularity: "1d" }))],
    );
    expect(route(plan({ metrics: ["events"] }, c))).toEqual(["daily"]);
    expect(refusal({ metrics: ["events"], dimensions: ["url"] }, c)).toMatchObject({
      status: 503,
      error: "SourceNotReady",
    });
  });
});

describe("the plan's invariants over random ranges (property)", () => {
  it("segments cover the range in order, each rollup's aligned to its buckets, coarsest first; every candidate has a verdict", () => {
    const catalogue = exampleCatalogue();
    const rollups = [...(catalogue.pipelines.get("clickstream")?.rollups ?? [])];
    const span3d = 3 * day;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: span3d - 1 }),
        fc.integer({ min: 1, max: span3d }),
        fc.constantFrom("none", "1m", "5m", "1h", "6h", "1d"),
        fc.subarray(["type", "url"]),
        fc.subarray(["events", "revenue", "users"], { minLength: 1 }),
        (offset, length, granularity, dimensions, metrics) => {
          const fromMs = day0 + offset;
          const toMs = Math.min(day0 + span3d, fromMs + length);
          fc.pre(toMs > fromMs);
          const g = granularity as QueryRequest["granularity"];
          const p = plan({ metrics, dimensions, granularity: g, timeRange: span(fromMs, toMs) });
          // Cover [from, to) exactly, in order.
          expect(p.segments[0]?.fromMs).toBe(fromMs);
          expect(p.segments.at(-1)?.toMs).toBe(toMs);
          p.segments.forEach((s, i) => {
            expect(s.toMs).toBeGreaterThan(s.fromMs);
            if (i > 0) expect(s.fromMs).toBe(p.segments[i - 1]?.toMs);
          });
          // Usable here: every metric and dimension (all are within retention and ready).
          const usable = rollups.filter(
            (r) =>
              dimensions.every((d) => r.spec.dimensions.includes(d)) &&
              metrics.every((m) => r.spec.metrics.some((rm) => rm.name === m)),
          );
          const limit = g === "none" ? Number.POSITIVE_INFINITY : granularityMs[g];
          for (const s of p.segments) {
            const size = s.source.kind === "Rollup" ? s.source.use.rollup.granularityMs : 0;
            if (s.source.kind === "Rollup") {
              expect(usable.map((r) => r.name)).toContain(s.source.use.rollup.name);
              expect(s.fromMs % size).toBe(0);
              expect(s.toMs % size).toBe(0);
            }
            // No coarser usable rollup (that can make the query's buckets) has a whole bucket inside.
            for (const r of usable)
              if (r.granularityMs > size && r.granularityMs <= limit)
                expect(Math.floor(s.toMs / r.granularityMs) * r.granularityMs - s.fromMs).toBeLessThan(
                  r.granularityMs,
                );
          }
          expect(p.candidates.map((c) => c.name).sort()).toEqual(
            [...rollups.map((r) => r.name), "clickstream"].sort(),
          );
          for (const c of p.candidates) {
            expect(c.reason.length).toBeGreaterThan(0);
            expect(c.chosen).toBe(route(p).includes(c.kind === "Pipeline" ? "raw" : c.name));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("cost limits", () => {
  it("refuses too many time buckets (422), saying how to narrow", () => {
    const r = refusal(
      { metrics: ["events"], granularity: "1m", timeRange: hours(0, 72) },
      exampleCatalogue(),
      {
        maxBuckets: 4000,
        rawMaxRangeMs: 31 * day,
      },
    );
    expect(r).toMatchObject({ status: 422, error: "TooManyBuckets", field: "granularity" });
    expect(r.message).toContain("more than 4000 time buckets");
    expect(r.message).toContain("coarser granularity or a shorter range");
    expect(
      route(
        plan({ metrics: ["events"], granularity: "1m", timeRange: hours(0, 66) }, exampleCatalogue(), {
          maxBuckets: 3960,
          rawMaxRangeMs: 31 * day,
        }),
      ),
    ).toEqual(["clicks-per-minute"]);
  });

  it("refuses a raw scan longer than the limit (422), counting only the raw segments", () => {
    const limits = { maxBuckets: 10_000, rawMaxRangeMs: 24 * hour };
    const r = refusal(
      { metrics: ["events"], dimensions: ["user_id"], timeRange: hours(0, 25) },
      exampleCatalogue(),
      limits,
    );
    expect(r).toMatchObject({ status: 422, error: "RawRangeTooLong", field: "timeRange" });
    expect(r.message).toContain("25 h of pipeline clickstream's raw events; the limit is 24 h");
    expect(r.message).toContain("narrow the time range");
    expect(
      route(
        plan(
          { metrics: ["events"], dimensions: ["user_id"], timeRange: hours(0, 24) },
          exampleCatalogue(),
          limits,
        ),
      ),
    ).toEqual(["raw"]);
    // Rollups answer the middle of a long range: only its raw edges count.
    const edges = span(day0 + 30_000, day0 + 3 * day - 30_000);
    expect(route(plan({ metrics: ["events"], timeRange: edges }, exampleCatalogue(), limits))).toContain(
      "clicks-per-day",
    );
  });
});

describe("refusals name the field and list what is valid", () => {
  it("unknown metric, dimension, filter field, value and order field (400)", () => {
    expect(refusal({ metrics: ["events", "clicks"] })).toEqual({
      status: 400,
      error: "UnknownMetric",
      message:
        'pipeline clickstream has no metric "clicks"; use one of: count, events, latency, revenue, users, or define the aggregation inline',
      field: "metrics[1]",
      allowed: ["count", "events", "latency", "revenue", "users"],
    });
    expect(refusal({ metrics: ["events"], dimensions: ["type", "country"] })).toMatchObject({
      status: 400,
      error: "UnknownDimension",
      field: "dimensions[1]",
      allowed: ["event_id", "user_id", "session_id", "type", "url", "ts", "latency_ms", "value"],
    });
    expect(refusal({ metrics: ["events"], dimensions: ["type", "type"] })).toMatchObject({
      error: "DuplicateDimension",
      field: "dimensions",
    });
    const filter: QueryFilter = {
      op: "and",
      filters: [
        { op: "eq", field: "type", value: "click" },
        { op: "not", filter: { op: "in", field: "country", values: ["fr"] } },
      ],
    };
    expect(refusal({ metrics: ["events"], filter })).toMatchObject({
      status: 400,
      error: "UnknownField",
      field: "filter.filters[1].filter.field",
      allowed: expect.arrayContaining(["type", "url", "value"]),
    });
    expect(
      refusal({
        metrics: ["events"],
        filter: { op: "or", filters: [{ op: "in", field: "latency_ms", values: [1, "fast"] }] },
      }),
    ).toMatchObject({ status: 400, error: "InvalidFilterValue", field: "filter.filters[0].values[1]" });
    expect(refusal({ metrics: ["events"], filter: { op: "eq", field: "type", value: 5 } })).toMatchObject({
      error: "InvalidFilterValue",
      field: "filter.value",
    });
    expect(
      refusal({ metrics: ["events"], filter: { op: "range", field: "ts", gte: "last tuesday" } }),
    ).toMatchObject({
      error: "InvalidFilterValue",
      field: "filter.gte",
    });
    expect(
      refusal({ metrics: ["events"], filter: { op: "contains", field: "value", value: "1" } }),
    ).toMatchObject({
      error: "InvalidFilter",
      field: "filter.op",
    });
    expect(refusal({ metrics: ["events"], filter: { op: "range", field: "type" } })).toMatchObject({
      error: "InvalidFilter",
      field: "filter",
    });
    expect(
      refusal({
        metrics: ["events", "latency"],
        dimensions: ["type"],
        orderBy: [{ field: "time", direction: "asc" }],
      }),
    ).toEqual({
      status: 400,
      error: "UnknownOrderField",
      message:
        'cannot order by "time": it is not a column of the result; use one of: type, events, latency_p50, latency_p95, latency_p99',
      field: "orderBy[0].field",
      allowed: ["type", "events", "latency_p50", "latency_p95", "latency_p99"],
    });
    expect(
      route(
        plan({
          metrics: ["latency"],
          granularity: "1h",
          orderBy: [
            { field: "latency_p99", direction: "desc" },
            { field: "time", direction: "asc" },
          ],
        }),
      ),
    ).toEqual(["clicks-per-minute"]);
  });

  it("inline metrics: unknown field, wrong type, a result column produced twice (400)", () => {
    expect(refusal({ metrics: ["events", { fn: "sum", name: "x", field: "price" }] })).toMatchObject({
      status: 400,
      error: "UnknownField",
      field: "metrics[1].field",
      allowed: expect.arrayContaining(["value"]),
    });
    expect(refusal({ metrics: [{ fn: "avg", name: "x", field: "user_id" }] })).toMatchObject({
      error: "InvalidMetric",
      field: "metrics[0].field",
    });
    expect(refusal({ metrics: [{ fn: "max", name: "x", field: "url" }] })).toMatchObject({
      error: "InvalidMetric",
    });
    expect(route(plan({ metrics: [{ fn: "max", name: "last_seen", field: "ts" }] }))).toEqual(["raw"]);
    expect(refusal({ metrics: ["events", { fn: "count", name: "events" }] })).toMatchObject({
      error: "DuplicateColumn",
      field: "metrics[1]",
    });
    expect(
      refusal({ metrics: ["latency", { fn: "max", name: "latency_p95", field: "latency_ms" }] }),
    ).toMatchObject({ error: "DuplicateColumn", field: "metrics[1]" });
  });

  it("timezone and time range refusals come before routing", () => {
    expect(refusal({ metrics: ["events"], timezone: "Moon/Base" })).toMatchObject({
      status: 400,
      field: "timezone",
    });
    expect(refusal({ metrics: ["events"], timeRange: hours(5, 5) })).toMatchObject({
      status: 400,
      field: "timeRange.to",
    });
  });
});

describe("pipeline selection", () => {
  const two = buildCatalogue(namespace, [pipelineObject("clickstream"), pipelineObject("orders")], []);

  it("the only pipeline is implicit; with several one must be named", () => {
    expect(plan({ metrics: ["events"] }).pipeline.name).toBe("clickstream");
    expect(refusal({ metrics: ["count"] }, two)).toMatchObject({
      status: 400,
      error: "PipelineRequired",
      field: "pipeline",
      allowed: ["clickstream", "orders"],
    });
    expect(plan({ metrics: ["count"], pipeline: "orders" }, two).pipeline.name).toBe("orders");
  });

  it("an unknown pipeline, or none at all, is 404", () => {
    expect(refusal({ metrics: ["count"], pipeline: "payments" }, two)).toMatchObject({
      status: 404,
      error: "UnknownPipeline",
      field: "pipeline",
      allowed: ["clickstream", "orders"],
    });
    expect(refusal({ metrics: ["count"] }, buildCatalogue(namespace, [], []))).toMatchObject({
      status: 404,
      error: "NoPipelines",
    });
  });
});
