import { describe, expect, it } from "vitest";
import type { Aggregation } from "../../api/v1alpha1/aggregation.js";
import { buildCatalogue, isExact, metricColumns, sameComputation } from "./source-catalogue.js";
import {
  exampleCatalogue,
  exampleRollupObjects,
  namespace,
  pipelineObject,
  rollupObject,
  rollupSpec,
} from "./testdata/catalogue-fixtures.js";

function pipelineOf(catalogue: ReturnType<typeof buildCatalogue>, name = "clickstream") {
  const pipeline = catalogue.pipelines.get(name);
  if (pipeline === undefined) throw new Error(`no pipeline ${name} in the catalogue`);
  return pipeline;
}

describe("buildCatalogue from the example manifests", () => {
  const catalogue = exampleCatalogue();
  const pipeline = pipelineOf(catalogue);

  it("places the pipeline, its three rollups (by name), its windows and nothing unusable", () => {
    expect(catalogue.namespace).toBe(namespace);
    expect(catalogue.unusable).toEqual([]);
    expect(pipeline.availability).toEqual({ ready: true });
    expect(pipeline.raw).toMatchObject({
      table: { database: "default", table: "clickstream_events" },
      eventTimeField: "ts",
      retentionDays: 90,
      allowedLatenessMs: 60_000,
    });
    expect([...pipeline.raw.fields.keys()]).toEqual([
      "event_id",
      "user_id",
      "session_id",
      "type",
      "url",
      "ts",
      "latency_ms",
      "value",
    ]);
    expect(pipeline.raw.fields.get("url")).toEqual({ type: "String", nullable: true });
    expect(pipeline.rollups.map((r) => [r.name, r.granularityMs, r.availability.ready, r.filters])).toEqual([
      ["clicks-per-day", 86_400_000, true, []],
      ["clicks-per-hour", 3_600_000, true, []],
      ["clicks-per-minute", 60_000, true, []],
    ]);
    expect(pipeline.rollups.every((r) => r.table?.database === "default" && r.conflicts.length === 0)).toBe(
      true,
    );
    expect(pipeline.windows.map((w) => [w.name, w.spec.type, w.table.table])).toEqual([
      ["events_per_minute", "tumbling", "clickstream_events_windows"],
      ["page_latency", "sliding", "clickstream_events_windows"],
      ["sessions", "session", "clickstream_events_windows"],
    ]);
  });

  it("offers the rollups' metrics plus the built-in count, exact or estimated, with their columns", () => {
    const offers = Object.fromEntries(
      [...pipeline.metrics].map(([name, o]) => [
        name,
        { fn: o.definition.fn, exact: o.exact, columns: o.columns },
      ]),
    );
    expect(offers).toEqual({
      count: { fn: "count", exact: true, columns: ["count"] },
      events: { fn: "count", exact: true, columns: ["events"] },
      revenue: { fn: "sum", exact: true, columns: ["revenue"] },
      users: { fn: "uniq", exact: false, columns: ["users"] },
      latency: { fn: "quantiles", exact: false, columns: ["latency_p50", "latency_p95", "latency_p99"] },
    });
  });
});

describe("metric definitions", () => {
  it("estimates are uniq and quantiles; quantile columns are named by percent", () => {
    const defs: Aggregation[] = [
      { fn: "count", name: "n" },
      { fn: "sum", name: "s", field: "value" },
      { fn: "avg", name: "a", field: "value" },
      { fn: "min", name: "lo", field: "ts" },
      { fn: "max", name: "hi", field: "value" },
      { fn: "uniq", name: "u", field: "user_id" },
      { fn: "quantiles", name: "q", field: "latency_ms", quantiles: [0.5, 0.999, 0.001] },
    ];
    expect(defs.map(isExact)).toEqual([true, true, true, true, true, false, false]);
    expect(metricColumns(defs[6] as Aggregation)).toEqual(["q_p50", "q_p99_9", "q_p0_1"]);
  });

  it("the same computation ignores the name and the order keys were written in", () => {
    expect(sameComputation({ fn: "count", name: "a" }, { fn: "count", name: "b" })).toBe(true);
    expect(
      sameComputation(
        { fn: "uniq", name: "users", field: "user_id" },
        JSON.parse('{"field":"user_id","name":"u","fn":"uniq"}') as Aggregation,
      ),
    ).toBe(true);
    expect(
      sameComputation({ fn: "sum", name: "x", field: "value" }, { fn: "avg", name: "x", field: "value" }),
    ).toBe(false);
    expect(
      sameComputation(
        { fn: "uniq", name: "x", field: "user_id" },
        { fn: "uniq", name: "x", field: "session_id" },
      ),
    ).toBe(false);
    expect(
      sameComputation(
        { fn: "quantiles", name: "l", field: "latency_ms", quantiles: [0.5] },
        { fn: "quantiles", name: "l", field: "latency_ms", quantiles: [0.5, 0.9] },
      ),
    ).toBe(false);
  });
});

describe("buildCatalogue from hand-made objects", () => {
  it("collects a cascade's filters down the chain", () => {
    const catalogue = buildCatalogue(
      namespace,
      [pipelineObject()],
      [
        rollupObject(
          "clicks-hourly",
          rollupSpec({ dimensions: ["url"], filter: [{ field: "type", operator: "eq", values: ["click"] }] }),
        ),
        rollupObject(
          "clicks-daily",
          rollupSpec({
            source: { kind: "Rollup", name: "clicks-hourly" },
            granularity: "1d",
            dimensions: ["url"],
            filter: [{ field: "url", operator: "ne", values: [""] }],
          }),
        ),
      ],
    );
    expect(catalogue.unusable).toEqual([]);
    expect(pipelineOf(catalogue).rollups.map((r) => [r.name, r.filters])).toEqual([
      [
        "clicks-daily",
        [
          { field: "url", operator: "ne", values: [""] },
          { field: "type", operator: "eq", values: ["click"] },
        ],
      ],
      ["clicks-hourly", [{ field: "type", operator: "eq", values: ["click"] }]],
    ]);
  });

  it("lists what it cannot place with why: invalid specs, broken and looping cascades, missing pipelines", () => {
    const catalogue = buildCatalogue(
      namespace,
      [
        pipelineObject(),
        pipelineObject("broken", (spec) => {
          spec.fields = [];
        }),
      ],
      [
        rollupObject("no-metrics", rollupSpec({ metrics: [] })),
        rollupObject("orphan", rollupSpec({ source: { kind: "Rollup", name: "gone" }, granularity: "1d" })),
        rollupObject(
          "child-of-invalid",
          rollupSpec({ source: { kind: "Rollup", name: "no-metrics" }, granularity: "1d" }),
        ),
        rollupObject("loop-a", rollupSpec({ source: { kind: "Rollup", name: "loop-b" }, granularity: "1d" })),
        rollupObject("loop-b", rollupSpec({ source: { kind: "Rollup", name: "loop-a" }, granularity: "1d" })),
        rollupObject("elsewhere", rollupSpec({ source: { kind: "Pipeline", name: "missing" } })),
        rollupObject("on-broken", rollupSpec({ source: { kind: "Pipeline", name: "broken" } })),
        rollupObject("fine", rollupSpec({})),
      ],
    );
    const reasons = Object.fromEntries(catalogue.unusable.map((u) => [`${u.kind}/${u.name}`, u.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      "Pipeline/broken",
      "Rollup/child-of-invalid",
      "Rollup/elsewhere",
      "Rollup/loop-a",
      "Rollup/loop-b",
      "Rollup/no-metrics",
      "Rollup/on-broken",
      "Rollup/orphan",
    ]);
    expect(reasons["Rollup/no-metrics"]).toMatch(/^invalid spec: .*metrics/);
    expect(reasons["Pipeline/broken"]).toMatch(/^invalid spec: .*fields/);
    expect(reasons["Rollup/orphan"]).toContain("source Rollup gone does not exist or is invalid");
    expect(reasons["Rollup/child-of-invalid"]).toContain(
      "source Rollup no-metrics does not exist or is invalid",
    );
    expect(reasons["Rollup/loop-a"]).toContain("cascade loops");
    expect(reasons["Rollup/elsewhere"]).toBe("its pipeline missing does not exist or is invalid");
    expect(reasons["Rollup/on-broken"]).toBe("its pipeline broken does not exist or is invalid");
    expect([...catalogue.pipelines.keys()]).toEqual(["clickstream"]);
    expect(pipelineOf(catalogue).rollups.map((r) => r.name)).toEqual(["fine"]);
  });

  it("a rollup that is not Ready, or Ready without a serving table, is placed but unavailable, with why", () => {
    const catalogue = buildCatalogue(
      namespace,
      [pipelineObject("clickstream", () => {}, "waiting for the raw table")],
      [
        rollupObject("creating", rollupSpec({}), { ready: "creating the serving table", table: false }),
        rollupObject("tableless", rollupSpec({}), { table: false }),
      ],
    );
    const pipeline = pipelineOf(catalogue);
    expect(pipeline.availability).toEqual({
      ready: false,
      reason: "Pipeline clickstream is not Ready: waiting for the raw table",
    });
    expect(pipeline.rollups.map((r) => [r.name, r.availability])).toEqual([
      ["creating", { ready: false, reason: "Rollup creating is not Ready: creating the serving table" }],
      ["tableless", { ready: false, reason: "Rollup tableless has no serving table yet" }],
    ]);
  });

  it("the first rollup by name fixes a metric's meaning; another definition of the name is a conflict", () => {
    const catalogue = exampleCatalogue({
      rollups: [
        rollupObject("a-sums", rollupSpec({ metrics: [{ fn: "sum", name: "total", field: "value" }] })),
        rollupObject(
          "z-odd",
          rollupSpec({
            metrics: [
              { fn: "sum", name: "events", field: "value" },
              { fn: "count", name: "total" },
              { fn: "count", name: "count" },
              // The same computations as clicks-per-minute's, written with the keys in another order.
              { name: "users", field: "user_id", fn: "uniq" },
              { quantiles: [0.5, 0.95, 0.99], field: "latency_ms", name: "latency", fn: "quantiles" },
            ],
          }),
        ),
      ],
    });
    const pipeline = pipelineOf(catalogue);
    expect(pipeline.metrics.get("events")?.definition).toEqual({ fn: "count", name: "events" });
    expect(pipeline.metrics.get("total")?.definition).toEqual({ fn: "sum", name: "total", field: "value" });
    expect(pipeline.rollups.map((r) => [r.name, r.conflicts])).toEqual([
      ["a-sums", []],
      ["clicks-per-day", []],
      ["clicks-per-hour", []],
      ["clicks-per-minute", []],
      ["z-odd", ["events", "total"]],
    ]);
  });

  it("rollups of several pipelines are placed under their own pipeline", () => {
    const catalogue = buildCatalogue(
      namespace,
      [pipelineObject("clickstream"), pipelineObject("orders")],
      [
        ...exampleRollupObjects("clickstream"),
        rollupObject("orders-hourly", rollupSpec({ source: { kind: "Pipeline", name: "orders" } })),
      ],
    );
    expect(pipelineOf(catalogue, "orders").rollups.map((r) => r.name)).toEqual(["orders-hourly"]);
    expect(pipelineOf(catalogue, "clickstream").rollups).toHaveLength(3);
    expect(pipelineOf(catalogue, "orders").metrics.has("revenue")).toBe(false);
  });
});
