import { describe, expect, it } from "vitest";
import { buildCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import {
  exampleCatalogue,
  exampleRollupObjects,
  namespace,
  pipelineObject,
  rollupObject,
  rollupSpec,
} from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { describeSources } from "./describe-sources.js";

const watermark = Date.now() - 90_000;

describe("describeSources", () => {
  const { sources, unusable } = describeSources(exampleCatalogue(), new Map([["clickstream", watermark]]));
  const source = (kind: string, name: string) => {
    const found = sources.find((s) => s.kind === kind && s.name === name);
    if (found === undefined)
      throw new Error(`no ${kind} ${name} in ${JSON.stringify(sources.map((s) => s.name))}`);
    return found;
  };

  it("lists the pipeline, its rollups and its windows, each with the pipeline's freshness", () => {
    expect(sources.map((s) => [s.kind, s.name, s.pipeline, s.ready])).toEqual([
      ["Pipeline", "clickstream", "clickstream", true],
      ["Rollup", "clicks-per-day", "clickstream", true],
      ["Rollup", "clicks-per-hour", "clickstream", true],
      ["Rollup", "clicks-per-minute", "clickstream", true],
      ["Window", "events_per_minute", "clickstream", true],
      ["Window", "page_latency", "clickstream", true],
      ["Window", "sessions", "clickstream", true],
    ]);
    expect(new Set(sources.map((s) => s.watermark))).toEqual(new Set([new Date(watermark).toISOString()]));
    expect(unusable).toEqual([]);
  });

  it("describes metrics as exact or approximate, with their result columns", () => {
    expect(source("Pipeline", "clickstream")).toMatchObject({
      table: "default.clickstream_events",
      retentionDays: 90,
      dimensions: ["event_id", "user_id", "session_id", "type", "url", "ts", "latency_ms", "value"],
    });
    expect(source("Pipeline", "clickstream").metrics.map((m) => m.name)).toEqual([
      "count",
      "events",
      "revenue",
      "users",
      "latency",
    ]);
    expect(source("Rollup", "clicks-per-minute")).toMatchObject({
      granularity: "1m",
      retentionDays: 7,
      dimensions: ["type", "url"],
      table: "default.rollup_shop__clicks_per_minute_v1",
      metrics: [
        { name: "events", fn: "count", exact: true, columns: ["events"] },
        { name: "users", fn: "uniq", field: "user_id", exact: false, columns: ["users"] },
        { name: "revenue", fn: "sum", field: "value", exact: true, columns: ["revenue"] },
        {
          name: "latency",
          fn: "quantiles",
          field: "latency_ms",
          quantiles: [0.5, 0.95, 0.99],
          exact: false,
          columns: ["latency_p50", "latency_p95", "latency_p99"],
        },
      ],
    });
    expect(source("Rollup", "clicks-per-minute").metrics[0]).not.toHaveProperty("field");
    expect(source("Rollup", "clicks-per-day")).toMatchObject({ granularity: "1d", retentionDays: 730 });
    expect(source("Rollup", "clicks-per-day")).not.toHaveProperty("filter");
  });

  it("describes each window's shape, group-by and aggregations", () => {
    expect(source("Window", "events_per_minute")).toMatchObject({
      granularity: "tumbling 60s",
      dimensions: ["type"],
      table: "default.clickstream_events_windows",
      metrics: [
        { name: "events", fn: "count", exact: true, columns: ["events"] },
        { name: "users", fn: "uniq", field: "user_id", exact: false, columns: ["users"] },
        { name: "revenue", fn: "sum", field: "value", exact: true, columns: ["revenue"] },
      ],
    });
    expect(source("Window", "page_latency")).toMatchObject({
      granularity: "sliding 300s every 60s",
      dimensions: ["url"],
      metrics: [{ name: "latency", exact: false, columns: ["latency_p50", "latency_p95", "latency_p99"] }],
    });
    expect(source("Window", "sessions")).toMatchObject({
      granularity: "session gap 1800s",
      dimensions: ["user_id"],
    });
  });

  it("shows what is not ready with why, a rollup's inherited filters, and the unusable objects with reasons", () => {
    const catalogue = buildCatalogue(
      namespace,
      [pipelineObject("clickstream", () => {}, "waiting for Kafka")],
      [
        ...exampleRollupObjects(),
        rollupObject(
          "clicks",
          rollupSpec({ filter: [{ field: "type", operator: "eq", values: ["click"] }] }),
          {
            ready: "creating the serving table",
            table: false,
          },
        ),
        rollupObject(
          "clicks-daily",
          rollupSpec({ source: { kind: "Rollup", name: "clicks" }, granularity: "1d", dimensions: [] }),
        ),
        rollupObject("orphan", rollupSpec({ source: { kind: "Rollup", name: "gone" }, granularity: "1d" })),
      ],
    );
    const described = describeSources(catalogue, new Map());
    const pipeline = described.sources.find((s) => s.kind === "Pipeline");
    expect(pipeline).toMatchObject({
      ready: false,
      reason: "Pipeline clickstream is not Ready: waiting for Kafka",
    });
    expect(pipeline).not.toHaveProperty("watermark");
    expect(described.sources.filter((s) => s.kind === "Window").every((w) => !w.ready)).toBe(true);
    const clicks = described.sources.find((s) => s.name === "clicks");
    expect(clicks).toMatchObject({
      ready: false,
      reason: "Rollup clicks is not Ready: creating the serving table",
      filter: [{ field: "type", operator: "eq", values: ["click"] }],
    });
    expect(clicks).not.toHaveProperty("table");
    expect(described.sources.find((s) => s.name === "clicks-daily")).toMatchObject({
      ready: true,
      filter: [{ field: "type", operator: "eq", values: ["click"] }],
    });
    expect(described.unusable).toEqual([
      {
        kind: "Rollup",
        name: "orphan",
        reason: "Rollup orphan: its source Rollup gone does not exist or is invalid",
      },
    ]);
  });
});
