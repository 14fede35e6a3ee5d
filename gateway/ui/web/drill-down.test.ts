import { describe, expect, it } from "vitest";
import { addDrillSteps, decodeDrill, drillFilter, encodeDrill } from "./drill-down.js";

describe("drill-down", () => {
  it("adds a click's values as steps, skipping a field already drilled", () => {
    const first = addDrillSteps([], [{ field: "type", value: "purchase" }]);
    expect(first).toEqual([{ field: "type", value: "purchase" }]);
    expect(
      addDrillSteps(first, [
        { field: "type", value: "purchase" },
        { field: "url", value: "/cart" },
      ]),
    ).toEqual([
      { field: "type", value: "purchase" },
      { field: "url", value: "/cart" },
    ]);
  });

  it("filters by one eq, or by every step ANDed, or not at all", () => {
    expect(drillFilter([])).toBeUndefined();
    expect(drillFilter([{ field: "type", value: "view" }])).toEqual({
      op: "eq",
      field: "type",
      value: "view",
    });
    expect(
      drillFilter([
        { field: "type", value: "view" },
        { field: "status", value: 404 },
      ]),
    ).toEqual({
      op: "and",
      filters: [
        { op: "eq", field: "type", value: "view" },
        { op: "eq", field: "status", value: 404 },
      ],
    });
  });

  it("round-trips through the address, keeping value types", () => {
    const steps = [
      { field: "type", value: 'a,b "c"' },
      { field: "status", value: 404 },
      { field: "mobile", value: true },
    ];
    expect(decodeDrill(encodeDrill(steps))).toEqual({ ok: true, steps });
    expect(decodeDrill(encodeDrill([]))).toEqual({ ok: true, steps: [] });
  });

  it("refuses an edited address naming what is wrong", () => {
    expect(decodeDrill("{")).toEqual({ ok: false, message: "drill: not JSON" });
    expect(decodeDrill('{"a":1}')).toEqual({
      ok: false,
      message: "drill: must be a list of [field, value] pairs",
    });
    expect(decodeDrill('[["type","x"],["1bad","y"]]')).toEqual({
      ok: false,
      message: "drill[1]: the field must be a field name",
    });
    expect(decodeDrill('[["type",null]]')).toEqual({
      ok: false,
      message: "drill[0]: the value must be a string, number or boolean",
    });
  });
});
