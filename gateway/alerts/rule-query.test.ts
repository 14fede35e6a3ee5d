import { describe, expect, it } from "vitest";
import type { AlertRuleSpec } from "../../api/v1alpha1/alert-rule.js";
import type { QueryResponse } from "../../api/v1alpha1/query.js";
import { formatProblems, validateAlertRuleSpec } from "../../api/v1alpha1/validation.js";
import { buildCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import {
  exampleCatalogue,
  exampleRollupObjects,
  namespace,
  pipelineObject,
  rollupObject,
  rollupSpec,
} from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { planQuery } from "../query/plan-query.js";
import { evaluationOf, type RuleQueries, ruleQueries, seriesOf } from "./rule-query.js";

const minute = 60_000;
const now = Math.floor(Date.now() / minute) * minute + 25_000; // not on a minute: the edges go to raw
const iso = (ms: number) => new Date(ms).toISOString();

function rule(spec: Record<string, unknown>): AlertRuleSpec {
  const checked = validateAlertRuleSpec({
    condition: { type: "threshold", operator: "gt", value: 10 },
    notify: [{ type: "alertmanager", name: "am", url: "http://am:9093" }],
    ...spec,
  });
  if (!checked.ok) throw new Error(formatProblems(checked.problems));
  return checked.value;
}

function planned(spec: AlertRuleSpec, catalogue = exampleCatalogue()): RuleQueries {
  const plan = ruleQueries(namespace, spec, catalogue, now);
  if (!plan.ok) throw new Error(plan.message);
  return plan.queries;
}

describe("ruleQueries: a Rollup rule", () => {
  it("asks the rollup's pipeline for its metric, grouped by the rule's groupBy, over the range ending now", () => {
    const spec = rule({
      query: {
        source: { kind: "Rollup", name: "clicks-per-minute" },
        metric: "revenue",
        groupBy: ["type"],
        filters: [{ field: "value", operator: "gt", values: ["2.5"] }],
        range: "5m",
      },
    });
    const q = planned(spec);
    expect(q.current).toEqual({
      pipeline: "clickstream",
      metrics: [{ fn: "sum", name: "revenue", field: "value" }],
      dimensions: ["type"],
      // Typed as the field is (Float64): the router refuses a string for a number.
      filter: { op: "range", field: "value", gt: 2.5 },
      timeRange: { from: iso(now - 5 * minute), to: iso(now) },
      granularity: "none",
      timezone: "UTC",
      orderBy: [],
      limit: 10_000,
      offset: 0,
    });
    expect(q.previous).toBeUndefined();
    expect(q).toMatchObject({ column: "revenue", labels: ["type"], pick: "only" });
  });

  it("is a request the router answers from the rollup, with the edges of the range from raw", () => {
    const q = planned(
      rule({
        query: { source: { kind: "Rollup", name: "clicks-per-minute" }, metric: "events", range: "5m" },
      }),
    );
    const plan = planQuery(exampleCatalogue(), q.current, now);
    if (plan.kind !== "events") throw new Error("expected an events plan");
    expect(plan.segments.map((s) => (s.source.kind === "Rollup" ? s.source.use.rollup.name : "raw"))).toEqual(
      ["raw", "clicks-per-minute", "raw"],
    );
  });

  it("carries the rollup's own filters, so the rollup's metric means what it means there", () => {
    const checkout = rollupObject(
      "checkout-per-minute",
      rollupSpec({
        granularity: "1m",
        dimensions: ["type", "url"],
        filter: [{ field: "type", operator: "eq", values: ["checkout"] }],
      }),
    );
    const catalogue = exampleCatalogue({ rollups: [checkout] });
    const q = planned(
      rule({
        query: {
          source: { kind: "Rollup", name: "checkout-per-minute" },
          metric: "events",
          filters: [{ field: "url", operator: "in", values: ["/b", "/a"] }],
        },
      }),
      catalogue,
    );
    expect(q.current.filter).toEqual({
      op: "and",
      filters: [
        { op: "eq", field: "type", value: "checkout" },
        { op: "in", field: "url", values: ["/a", "/b"] },
      ],
    });
    const plan = planQuery(catalogue, q.current, now);
    if (plan.kind !== "events") throw new Error("expected an events plan");
    expect(plan.candidates.find((c) => c.name === "checkout-per-minute")).toMatchObject({ chosen: true });
  });

  it("asks a change condition a second time, for the same range `over` earlier", () => {
    const q = planned(
      rule({
        query: { source: { kind: "Rollup", name: "clicks-per-minute" }, metric: "events", range: "15m" },
        condition: { type: "change", operator: "lt", value: -50, over: "1h", relative: true },
      }),
    );
    expect(q.current.timeRange).toEqual({ from: iso(now - 15 * minute), to: iso(now) });
    expect(q.previous?.timeRange).toEqual({ from: iso(now - 75 * minute), to: iso(now - 60 * minute) });
    expect({ ...q.previous, timeRange: undefined }).toEqual({ ...q.current, timeRange: undefined });
  });

  it.each<[string, () => ReturnType<typeof ruleQueries>, RegExp]>([
    [
      "a rollup that does not exist",
      () =>
        ruleQueries(
          namespace,
          rule({ query: { source: { kind: "Rollup", name: "nope" }, metric: "events" } }),
          exampleCatalogue(),
          now,
        ),
      /^spec\.query\.source: Rollup shop\/nope does not exist$/,
    ],
    [
      "a rollup that is not Ready",
      () =>
        ruleQueries(
          namespace,
          rule({ query: { source: { kind: "Rollup", name: "slow" }, metric: "events" } }),
          exampleCatalogue({ rollups: [rollupObject("slow", rollupSpec({}), { ready: "backfilling" })] }),
          now,
        ),
      /^spec\.query\.source: Rollup slow is not Ready: backfilling$/,
    ],
    [
      "a metric the rollup lacks",
      () =>
        ruleQueries(
          namespace,
          rule({ query: { source: { kind: "Rollup", name: "clicks-per-hour" }, metric: "users" } }),
          exampleCatalogue(),
          now,
        ),
      /^spec\.query\.metric: Rollup clicks-per-hour has no metric "users" \(has: events, revenue\)$/,
    ],
    [
      "a metric of several columns",
      () =>
        ruleQueries(
          namespace,
          rule({ query: { source: { kind: "Rollup", name: "clicks-per-minute" }, metric: "latency" } }),
          exampleCatalogue(),
          now,
        ),
      /^spec\.query\.metric: latency of Rollup clicks-per-minute has 3 result columns \(latency_p50, latency_p95, latency_p99\)/,
    ],
    [
      "a window of a pipeline that is not Ready",
      () =>
        ruleQueries(
          namespace,
          rule({
            query: {
              source: { kind: "Window", name: "clickstream", window: "events_per_minute" },
              metric: "events",
            },
          }),
          buildCatalogue(
            namespace,
            [pipelineObject("clickstream", () => {}, "no workers")],
            exampleRollupObjects(),
          ),
          now,
        ),
      /^spec\.query\.source: Pipeline clickstream is not Ready: no workers$/,
    ],
  ])("refuses %s with a message naming the field (an Error evaluation)", (_label, run, message) => {
    const plan = run();
    expect(plan.ok).toBe(false);
    if (!plan.ok) expect(plan.message).toMatch(message);
  });
});

describe("ruleQueries: a Window rule", () => {
  it("asks the live window, and the router accepts it", () => {
    const q = planned(
      rule({
        query: {
          source: { kind: "Window", name: "clickstream", window: "events_per_minute" },
          metric: "events",
          groupBy: ["type"],
          filters: [{ field: "type", operator: "ne", values: ["view"] }],
          range: "2m",
        },
      }),
    );
    expect(q.current).toMatchObject({
      pipeline: "clickstream",
      window: "events_per_minute",
      metrics: ["events"],
      dimensions: ["type"],
      filter: { op: "not", filter: { op: "eq", field: "type", value: "view" } },
      // The 2m range plus the window's 1m: an instance that ended within the range counts.
      timeRange: { from: iso(now - 3 * minute), to: iso(now) },
      granularity: "none",
    });
    expect(q).toMatchObject({ column: "events", pick: "latestWindow" });
    expect(planQuery(exampleCatalogue(), q.current, now).kind).toBe("window");
  });
});

const byType: Pick<RuleQueries, "column" | "labels" | "pick"> = {
  column: "n",
  labels: ["type"],
  pick: "only",
};

describe("seriesOf and evaluationOf", () => {
  it("labels each series by its group-by values (a missing value is no label) and reads its value", () => {
    const rows: QueryResponse["rows"] = [
      { type: "click", n: 12 },
      { type: null, n: "7" },
      { type: 3, n: null },
    ];
    expect([...seriesOf(rows, byType).values()]).toEqual([
      { labels: { type: "click" }, value: 12 },
      { labels: { type: "" }, value: 7 },
      // An empty aggregate (avg of nothing) is not 0: the state machine leaves it undetermined.
      { labels: { type: "3" }, value: Number.NaN },
    ]);
  });

  it("finds the last closed instance of a 1m window with range 1m (it started more than 1m ago)", () => {
    const q = planned(
      rule({
        query: {
          source: { kind: "Window", name: "clickstream", window: "events_per_minute" },
          metric: "events",
          groupBy: ["type"],
          range: "1m",
        },
      }),
    );
    // The instance [now-1m-5s, now-5s) closed 5 s ago; its start is inside the asked range.
    const range = q.current.timeRange;
    if (!("from" in range)) throw new Error("expected an absolute range");
    expect(Date.parse(range.from)).toBeLessThanOrEqual(now - minute - 5_000);
    expect(range).toEqual({ from: iso(now - 2 * minute), to: iso(now) });
  });

  it("takes a window series' latest instance, whatever the row order", () => {
    const rows: QueryResponse["rows"] = [
      { window_start: iso(now - 2 * minute), window_end: iso(now - minute), type: "click", n: 5 },
      { window_start: iso(now - minute), window_end: iso(now), type: "click", n: 9 },
      { window_start: iso(now - 3 * minute), window_end: iso(now - 2 * minute), type: "click", n: 1 },
    ];
    expect([...seriesOf(rows, { ...byType, pick: "latestWindow" }).values()]).toEqual([
      { labels: { type: "click" }, value: 9 },
    ]);
  });

  it("no row at all is no data; a change pairs each series with its earlier value where it had one", () => {
    const queries = {
      ...byType,
      current: { metrics: ["n"] },
      previous: { metrics: ["n"] },
    } as unknown as RuleQueries;
    expect(evaluationOf(queries, [], [{ type: "click", n: 1 }])).toEqual({ kind: "noData" });
    expect(
      evaluationOf(
        queries,
        [
          { type: "click", n: 4 },
          { type: "view", n: 8 },
        ],
        [{ type: "click", n: 10 }],
      ),
    ).toEqual({
      kind: "values",
      series: [
        { labels: { type: "click" }, value: 4, previous: 10 },
        { labels: { type: "view" }, value: 8 },
      ],
    });
  });
});
