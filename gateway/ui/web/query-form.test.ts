import { describe, expect, it } from "vitest";
import { queryGranularities, relativeRangePattern } from "../../../api/v1alpha1/query.js";
import { buildQueryBody, queryGranularityChoices, rangePresetChoices } from "./query-form.js";

describe("query builder form", () => {
  it("offers exactly the query language's granularities and only valid range presets", () => {
    expect([...queryGranularityChoices].sort()).toEqual([...queryGranularities].sort());
    for (const preset of rangePresetChoices) expect(preset).toMatch(new RegExp(relativeRangePattern));
  });

  it("queries the source's pipeline; a window source names its window", () => {
    const base = { metrics: ["events"], dimensions: ["type"], range: "last_1h", granularity: "1m" };
    expect(
      buildQueryBody({ ...base, source: { kind: "Rollup", name: "clicks-hourly", pipeline: "clickstream" } }),
    ).toEqual({
      ok: true,
      body: {
        pipeline: "clickstream",
        metrics: ["events"],
        dimensions: ["type"],
        timeRange: { preset: "last_1h" },
        granularity: "1m",
      },
    });
    const window = buildQueryBody({
      ...base,
      source: { kind: "Window", name: "events_per_minute", pipeline: "clickstream" },
    });
    expect(window.ok && window.body.window).toBe("events_per_minute");
  });

  it("names the field when the form cannot make a query", () => {
    const source = { kind: "Pipeline", name: "clickstream", pipeline: "clickstream" } as const;
    expect(
      buildQueryBody({ source, metrics: [], dimensions: [], range: "last_1h", granularity: "none" }),
    ).toEqual({
      ok: false,
      message: "metrics: tick at least one metric",
    });
    expect(
      buildQueryBody({ source, metrics: ["events"], dimensions: [], range: "last_1h", granularity: "2m" }),
    ).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^granularity: 2m is not one of none, 1m/),
    });
  });
});
