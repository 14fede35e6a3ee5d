import { describe, expect, it } from "vitest";
import { type FunnelRow, funnelSteps, histogramEdges, shapeFunnelResult } from "./funnel-result.js";

const row = (over: Partial<FunnelRow>): FunnelRow => ({
  is_total: 0,
  other: false,
  value: null,
  steps: [],
  converted: 0,
  median_ms: null,
  min_ms: 0,
  bin_ms: 1,
  histogram: [],
  ...over,
});

describe("funnel result shaping", () => {
  it("conversion from the first and the previous step, and drop-off", () => {
    expect(funnelSteps(["a", "b", "c"], [10, 4, 1])).toEqual([
      { index: 0, name: "a", count: 10, conversionFromFirst: 1, conversionFromPrevious: 1, dropOff: 0 },
      { index: 1, name: "b", count: 4, conversionFromFirst: 0.4, conversionFromPrevious: 0.4, dropOff: 6 },
      { index: 2, name: "c", count: 1, conversionFromFirst: 0.1, conversionFromPrevious: 0.25, dropOff: 3 },
    ]);
  });

  it("no entity: counts 0 and conversions null, not NaN; missing counts are 0", () => {
    const steps = funnelSteps(["a", "b"], []);
    expect(steps.map((s) => [s.count, s.conversionFromFirst, s.conversionFromPrevious])).toEqual([
      [0, null, null],
      [0, null, null],
    ]);
  });

  it("histogram edges: bins + 1, equal widths from the fastest conversion", () => {
    expect(histogramEdges(100, 25, 4)).toEqual([100, 125, 150, 175, 200]);
  });

  it("buckets: most entities first, then by value (null last), Other last; the total row gives the steps", () => {
    const rows = [
      row({ value: "b", steps: [5, 1], converted: 1, median_ms: 7 }),
      row({ other: true, steps: [9, 2] }),
      row({ value: null, steps: [5, 0] }),
      row({ value: "a", steps: [5, 3] }),
      row({ value: "z", steps: [6, 0] }),
      row({
        is_total: 1,
        steps: [30, 6],
        converted: 6,
        median_ms: 12.5,
        min_ms: 3,
        bin_ms: 2,
        histogram: [4, 2],
      }),
    ];
    const shaped = shapeFunnelResult(["x", "y"], rows, true, 2);
    expect(shaped.breakdown?.map((b) => [b.value, b.other])).toEqual([
      ["z", false],
      ["a", false],
      ["b", false],
      [null, false],
      [null, true],
    ]);
    expect(shaped.steps.map((s) => s.count)).toEqual([30, 6]);
    expect(shaped.timeToConvert).toEqual({
      converted: 6,
      medianMs: 12.5,
      histogram: { edgesMs: [3, 5, 7], counts: [4, 2] },
    });
    expect(shaped.breakdown?.[2]?.medianMs).toBe(7);
  });

  it("nobody converted: no median and an empty histogram; no breakdown key without a breakdown", () => {
    const shaped = shapeFunnelResult(["x", "y"], [row({ is_total: 1, steps: [3, 0] })], false, 10);
    expect(shaped.timeToConvert).toEqual({
      converted: 0,
      medianMs: null,
      histogram: { edgesMs: [], counts: [] },
    });
    expect("breakdown" in shaped).toBe(false);
  });
});
