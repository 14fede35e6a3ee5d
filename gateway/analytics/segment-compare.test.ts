import { describe, expect, it } from "vitest";
import type { QueryResponse } from "../../api/v1alpha1/query.js";
import { changePercent, comparePeriods, previousPeriod } from "./segment-compare.js";

const columns: QueryResponse["columns"] = [
  { name: "time", role: "time", type: "DateTime" },
  { name: "type", role: "dimension", type: "String" },
  { name: "n", role: "metric", type: "UInt64" },
];
const day = 86_400_000;
const t = (d: number) => new Date(Date.UTC(2026, 0, 10 + d)).toISOString();

describe("comparisons", () => {
  it("the previous period has the same length and ends where the range starts", () => {
    expect(previousPeriod({ fromMs: 10 * day, toMs: 13 * day })).toEqual({ fromMs: 7 * day, toMs: 10 * day });
  });

  it("change in percent; null for a missing value or a previous 0", () => {
    expect(changePercent(150, 100)).toBe(50);
    expect(changePercent(50, 100)).toBe(-50);
    expect(changePercent(5, 0)).toBeNull();
    expect(changePercent(5, undefined)).toBeNull();
    expect(changePercent(null, 4)).toBeNull();
  });

  it("matches rows by dimensions and by time shifted by the period; unmatched rows on either side are kept", () => {
    const current = [
      { time: t(3), type: "a", n: 12 },
      { time: t(3), type: "b", n: 5 },
    ];
    const previous = [
      { time: t(0), type: "a", n: 8 },
      { time: t(0), type: "c", n: 2 },
    ];
    expect(comparePeriods(columns, current, previous, 3 * day)).toEqual([
      { key: { time: t(3), type: "a" }, current: { n: 12 }, previous: { n: 8 }, changePercent: { n: 50 } },
      { key: { time: t(3), type: "b" }, current: { n: 5 }, previous: null, changePercent: { n: null } },
      { key: { time: t(3), type: "c" }, current: null, previous: { n: 2 }, changePercent: { n: null } },
    ]);
  });
});
