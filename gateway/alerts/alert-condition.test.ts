import { describe, expect, it } from "vitest";
import { type AlertCondition, evaluateCondition } from "./alert-condition.js";

type Operator = AlertCondition["operator"];
const threshold = (operator: Operator, value: number): AlertCondition => ({
  type: "threshold",
  operator,
  value,
});
const change = (operator: Operator, value: number, relative?: boolean): AlertCondition => ({
  type: "change",
  operator,
  value,
  over: "1h",
  ...(relative === undefined ? {} : { relative }),
});

describe("evaluateCondition: threshold", () => {
  // Each operator just below, at and just above the threshold 10.
  it.each([
    ["gt", [false, false, true]],
    ["gte", [false, true, true]],
    ["lt", [true, false, false]],
    ["lte", [true, true, false]],
    ["eq", [false, true, false]],
    ["ne", [true, false, true]],
  ] as const)("%s 10 at 9.5, 10, 10.5", (operator, expected) => {
    const kinds = [9.5, 10, 10.5].map((v) => evaluateCondition(threshold(operator, 10), v).kind);
    expect(kinds).toEqual(expected.map((b) => (b ? "breaching" : "clear")));
  });

  it("reports the value it compared", () => {
    expect(evaluateCondition(threshold("gt", 10), 12)).toEqual({ kind: "breaching", observed: 12 });
    expect(evaluateCondition(threshold("gt", 10), 3)).toEqual({ kind: "clear", observed: 3 });
  });

  it("does not judge a value that is not a finite number", () => {
    expect(evaluateCondition(threshold("lt", 10), Number.NaN).kind).toBe("undetermined");
    expect(evaluateCondition(threshold("gt", 10), Number.POSITIVE_INFINITY).kind).toBe("undetermined");
  });
});

describe("evaluateCondition: change over a period", () => {
  it.each([
    // [condition, current, previous, kind, observed]
    ["rise > 5", change("gt", 5), 20, 14, "breaching", 6],
    ["rise > 5, only 5", change("gt", 5), 19, 14, "clear", 5],
    ["fall < -50 (absolute)", change("lt", -50), 40, 100, "breaching", -60],
    ["fall < -50%: 100 → 40 is -60%", change("lt", -50, true), 40, 100, "breaching", -60],
    ["fall < -50%: 100 → 60 is -40%", change("lt", -50, true), 60, 100, "clear", -40],
    ["rise > 100%: 10 → 25 is +150%", change("gt", 100, true), 25, 10, "breaching", 150],
    ["relative false is absolute", change("gt", 100, false), 25, 10, "clear", 15],
    // Relative to the magnitude: from -10 to -20 is a fall of 100%.
    ["negative baseline: -10 → -20 is -100%", change("lte", -100, true), -20, -10, "breaching", -100],
  ] as const)("%s", (_name, condition, current, previous, kind, observed) => {
    expect(evaluateCondition(condition, current, previous)).toEqual({ kind, observed });
  });

  it("cannot judge a change without the earlier value, or a relative change from zero", () => {
    const noPrevious = evaluateCondition(change("gt", 5), 20);
    expect(noPrevious).toEqual({ kind: "undetermined", reason: expect.stringContaining("1h ago") });
    expect(evaluateCondition(change("gt", 5, true), 20, 0).kind).toBe("undetermined");
    // An absolute change from zero is fine.
    expect(evaluateCondition(change("gt", 5), 20, 0)).toEqual({ kind: "breaching", observed: 20 });
    expect(evaluateCondition(change("gt", 5), 20, Number.NaN).kind).toBe("undetermined");
  });
});
