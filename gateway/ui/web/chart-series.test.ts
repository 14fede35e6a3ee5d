import { describe, expect, it } from "vitest";
import type { QueryResponse } from "../../../api/v1alpha1/query.js";
import { chartModel, lastValue, rankedRows, rowKey, statValues, timeAxisRange } from "./chart-series.js";

type Answer = Pick<QueryResponse, "columns" | "rows">;
const t = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
const s = (minute: number) => Date.UTC(2026, 0, 1, 0, minute) / 1000;

const byType: Answer = {
  columns: [
    { name: "time", role: "time", type: "DateTime" },
    { name: "type", role: "dimension", type: "String" },
    { name: "events", role: "metric", type: "UInt64" },
  ],
  rows: [
    { time: t(2), type: "view", events: 5 },
    { time: t(0), type: "view", events: 3 },
    { time: t(0), type: "click", events: 1 },
    { time: t(1), type: "click", events: 2 },
  ],
};

describe("snapshot → chart series", () => {
  it("aligns one series per dimension value on the sorted bucket times, a missing bucket a gap", () => {
    expect(chartModel(byType)).toEqual({
      kind: "time",
      xs: [s(0), s(1), s(2)],
      series: [
        { label: "click", metric: "events", key: [{ field: "type", value: "click" }], values: [1, 2, null] },
        { label: "view", metric: "events", key: [{ field: "type", value: "view" }], values: [3, null, 5] },
      ],
    });
  });

  it("names series by metric and values when there are several metrics; no dimension: the metric", () => {
    const model = chartModel({
      columns: [
        { name: "window_start", role: "time", type: "DateTime64(3)" },
        { name: "window_end", role: "time", type: "DateTime64(3)" },
        { name: "events", role: "metric", type: "UInt64" },
        { name: "users", role: "metric", type: "Float64" },
      ],
      rows: [{ window_start: t(0), window_end: t(1), events: 4, users: "2" }],
    });
    expect(model).toEqual({
      kind: "time",
      xs: [s(0)],
      series: [
        { label: "events", metric: "events", key: [], values: [4] },
        { label: "users", metric: "users", key: [], values: [2] },
      ],
    });
  });

  it("makes categories from rows without a time column; a null dimension cannot be drilled", () => {
    const answer: Answer = {
      columns: [
        { name: "url", role: "dimension", type: "String" },
        { name: "device", role: "dimension", type: "String" },
        { name: "events", role: "metric", type: "UInt64" },
      ],
      rows: [
        { url: "/a", device: "ios", events: 7 },
        { url: "/b", device: null, events: 9 },
      ],
    };
    expect(chartModel(answer)).toEqual({
      kind: "categories",
      categories: [
        {
          label: "/a / ios",
          key: [
            { field: "url", value: "/a" },
            { field: "device", value: "ios" },
          ],
        },
        { label: "/b / (null)", key: undefined },
      ],
      series: [{ metric: "events", values: [7, 9] }],
    });
    expect(rankedRows(answer).map((r) => [r.label, r.value])).toEqual([
      ["/b / (null)", 9],
      ["/a / ios", 7],
    ]);
    expect(rowKey(answer, { url: "/a", device: "ios", events: 1 })).toEqual([
      { field: "url", value: "/a" },
      { field: "device", value: "ios" },
    ]);
  });

  it("reads a stat from the newest row and the last value of a series past its gaps", () => {
    expect(statValues(byType)).toEqual([{ metric: "events", value: 5 }]);
    expect(statValues({ columns: [{ name: "users", role: "metric", type: "UInt64" }], rows: [] })).toEqual([
      { metric: "users", value: null },
    ]);
    expect(lastValue([1, 2, null])).toBe(2);
    expect(lastValue([null])).toBeNull();
  });

  it("pads the time axis by half the smallest bucket, and a lone bucket by half an hour", () => {
    expect(timeAxisRange([s(0), s(1), s(3)])).toEqual([s(0) - 30, s(3) + 30]);
    expect(timeAxisRange([s(5)])).toEqual([s(5) - 1800, s(5) + 1800]);
  });
});
