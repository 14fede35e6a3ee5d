import { describe, expect, it } from "vitest";
import {
  type AggregationSpec,
  aggregationName,
  assertValidWindowSpec,
  MAX_DURATION_MS,
  quantileLabel,
  resultNames,
  validateWindowSpec,
  type WindowSpec,
  WindowSpecError,
} from "./window-spec.js";

const base = {
  name: "w",
  groupBy: ["country"],
  aggregations: [{ fn: "count" }],
  allowedLatenessMs: 0,
} as const;

describe("quantileLabel", () => {
  it.each([
    [0.5, "p50"],
    [0.9, "p90"],
    [0.99, "p99"],
    [0.999, "p99_9"],
    [0.001, "p0_1"],
    [0.29, "p29"], // 0.29 * 100 = 28.999999999999996 in binary floating point
    [0.05, "p5"],
  ])("%d → %s", (q, label) => {
    expect(quantileLabel(q)).toBe(label);
  });
});

describe("aggregationName and resultNames", () => {
  it.each<{ spec: AggregationSpec; name: string; results: string[] }>([
    { spec: { fn: "count" }, name: "count", results: ["count"] },
    { spec: { fn: "count", as: "events" }, name: "events", results: ["events"] },
    { spec: { fn: "sum", field: "amount" }, name: "sum_amount", results: ["sum_amount"] },
    { spec: { fn: "avg", field: "amount" }, name: "avg_amount", results: ["avg_amount"] },
    { spec: { fn: "min", field: "x" }, name: "min_x", results: ["min_x"] },
    { spec: { fn: "max", field: "x", as: "peak" }, name: "peak", results: ["peak"] },
    { spec: { fn: "uniq", field: "user" }, name: "uniq_user", results: ["uniq_user"] },
    {
      spec: { fn: "quantiles", field: "latency", quantiles: [0.5, 0.99] },
      name: "quantiles_latency",
      results: ["quantiles_latency_p50", "quantiles_latency_p99"],
    },
    {
      spec: { fn: "quantiles", field: "latency", quantiles: [0.999], as: "lat" },
      name: "lat",
      results: ["lat_p99_9"],
    },
  ])("$spec.fn as $name", ({ spec, name, results }) => {
    expect(aggregationName(spec)).toBe(name);
    expect(resultNames(spec)).toEqual(results);
  });
});

describe("validateWindowSpec", () => {
  const valid: WindowSpec[] = [
    { ...base, type: "tumbling", sizeMs: 60_000 },
    { ...base, type: "sliding", sizeMs: 3_600_000, slideMs: 300_000 },
    { ...base, type: "sliding", sizeMs: 1000, slideMs: 1000 },
    { ...base, type: "session", gapMs: 1_800_000, allowedLatenessMs: 60_000 },
    { ...base, type: "tumbling", sizeMs: MAX_DURATION_MS, groupBy: [] },
    {
      ...base,
      type: "tumbling",
      sizeMs: 1,
      aggregations: [
        { fn: "count" },
        { fn: "sum", field: "a" },
        { fn: "avg", field: "a" },
        { fn: "min", field: "a" },
        { fn: "max", field: "a" },
        { fn: "uniq", field: "u" },
        { fn: "quantiles", field: "a", quantiles: [0.5, 0.9, 0.99] },
      ],
    },
  ];
  it.each(valid.map((spec) => [`${spec.type} ${JSON.stringify(spec).slice(0, 80)}`, spec] as const))(
    "accepts %s",
    (_label, spec) => {
      expect(validateWindowSpec(spec)).toEqual([]);
    },
  );

  it.each<{ name: string; spec: WindowSpec; paths: string[] }>([
    { name: "zero size", spec: { ...base, type: "tumbling", sizeMs: 0 }, paths: ["sizeMs"] },
    { name: "fractional size", spec: { ...base, type: "tumbling", sizeMs: 1.5 }, paths: ["sizeMs"] },
    {
      name: "huge size",
      spec: { ...base, type: "tumbling", sizeMs: MAX_DURATION_MS + 1 },
      paths: ["sizeMs"],
    },
    {
      name: "slide not dividing size",
      spec: { ...base, type: "sliding", sizeMs: 1000, slideMs: 300 },
      paths: ["slideMs"],
    },
    {
      name: "slide larger than size",
      spec: { ...base, type: "sliding", sizeMs: 1000, slideMs: 2000 },
      paths: ["slideMs"],
    },
    {
      name: "too many windows per event",
      spec: { ...base, type: "sliding", sizeMs: 3_600_000, slideMs: 1000 },
      paths: ["slideMs"],
    },
    {
      name: "negative slide",
      spec: { ...base, type: "sliding", sizeMs: 1000, slideMs: -1 },
      paths: ["slideMs"],
    },
    { name: "zero gap", spec: { ...base, type: "session", gapMs: 0 }, paths: ["gapMs"] },
    {
      name: "negative lateness",
      spec: { ...base, type: "tumbling", sizeMs: 1000, allowedLatenessMs: -1 },
      paths: ["allowedLatenessMs"],
    },
    {
      name: "bad window name",
      spec: { ...base, type: "tumbling", sizeMs: 1000, name: "a-b" },
      paths: ["name"],
    },
    {
      name: "duplicate group-by field",
      spec: { ...base, type: "tumbling", sizeMs: 1000, groupBy: ["a", "a"] },
      paths: ["groupBy/1"],
    },
    {
      name: "empty group-by field",
      spec: { ...base, type: "tumbling", sizeMs: 1000, groupBy: [""] },
      paths: ["groupBy/0"],
    },
    {
      name: "no aggregations",
      spec: { ...base, type: "tumbling", sizeMs: 1000, aggregations: [] },
      paths: ["aggregations"],
    },
    {
      name: "quantile out of range",
      spec: {
        ...base,
        type: "tumbling",
        sizeMs: 1000,
        aggregations: [{ fn: "quantiles", field: "x", quantiles: [0, 0.5, 1, Number.NaN] }],
      },
      paths: ["aggregations/0/quantiles/0", "aggregations/0/quantiles/2", "aggregations/0/quantiles/3"],
    },
    {
      name: "no quantiles",
      spec: {
        ...base,
        type: "tumbling",
        sizeMs: 1000,
        aggregations: [{ fn: "quantiles", field: "x", quantiles: [] }],
      },
      paths: ["aggregations/0/quantiles"],
    },
    {
      name: "duplicate output names",
      spec: {
        ...base,
        type: "tumbling",
        sizeMs: 1000,
        aggregations: [{ fn: "count" }, { fn: "sum", field: "x", as: "count" }],
      },
      paths: ["aggregations/1"],
    },
    {
      name: "field name that is not a column name",
      spec: { ...base, type: "tumbling", sizeMs: 1000, aggregations: [{ fn: "sum", field: "a.b" }] },
      paths: ["aggregations/0"],
    },
    {
      name: "empty field",
      spec: { ...base, type: "tumbling", sizeMs: 1000, aggregations: [{ fn: "sum", field: "", as: "s" }] },
      paths: ["aggregations/0/field"],
    },
  ])("rejects $name", ({ spec, paths }) => {
    const issues = validateWindowSpec(spec);
    expect(issues.map((issue) => issue.path).sort()).toEqual([...paths].sort());
  });

  it("assertValidWindowSpec throws one error naming the window and every issue", () => {
    const spec: WindowSpec = {
      ...base,
      name: "orders",
      type: "sliding",
      sizeMs: 1000,
      slideMs: 300,
      allowedLatenessMs: -5,
    };
    expect(() => assertValidWindowSpec(spec)).toThrow(WindowSpecError);
    try {
      assertValidWindowSpec(spec);
    } catch (error) {
      if (!(error instanceof WindowSpecError)) throw error;
      expect(error.code).toBe("INVALID_WINDOW_SPEC");
      expect(error.windowName).toBe("orders");
      expect(error.issues.map((issue) => issue.path)).toEqual(["allowedLatenessMs", "slideMs"]);
      expect(error.message).toContain('window "orders"');
    }
  });
});
