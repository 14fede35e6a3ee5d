import { describe, expect, it } from "vitest";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import { filterLeaves } from "../../contracts/catalogue/query-filter-values.js";
import { checkFilter, conjuncts } from "./query-fields.js";
import { refusalOf } from "./testdata/query-requests.js";

const types: ColumnType[] = [
  "String",
  "LowCardinality(String)",
  "UUID",
  "Bool",
  "Int32",
  "Int64",
  "UInt32",
  "UInt64",
  "Float32",
  "Float64",
  "Date",
  "DateTime",
  "DateTime64(3)",
];
const fields = new Map(types.map((type) => [`f_${type.replace(/\W/g, "_")}`, { type }]));
const field = (type: ColumnType) => `f_${type.replace(/\W/g, "_")}`;

/** The refusal of an `eq` filter of `value` on a field of `type`, or undefined when accepted. */
function eqProblem(type: ColumnType, value: string | number | boolean) {
  const check = () => checkFilter({ op: "eq", field: field(type), value }, fields, "the test pipeline");
  try {
    check();
    return undefined;
  } catch {
    return refusalOf(check);
  }
}

describe("filter values against field types", () => {
  it.each([
    ["String", "x", true],
    ["String", 1, false],
    ["LowCardinality(String)", "", true],
    ["LowCardinality(String)", true, false],
    ["Bool", true, true],
    ["Bool", "true", false],
    ["Int32", -3, true],
    ["Int32", 1.5, false],
    ["Int64", "3", false],
    ["UInt32", 0, true],
    ["UInt32", -1, false],
    ["UInt64", 2.5, false],
    ["Float32", -1.5, true],
    ["Float64", "1.5", false],
    ["Date", "2026-01-01", true],
    ["DateTime", "2026-01-01T10:00:00Z", true],
    ["DateTime64(3)", "not a time", false],
    ["DateTime64(3)", 1_700_000_000_000, false],
  ] as const)("%s = %j accepted: %s", (type, value, accepted) => {
    const problem = eqProblem(type, value);
    if (accepted) expect(problem).toBeUndefined();
    else expect(problem).toMatchObject({ status: 400, error: "InvalidFilterValue", field: "filter.value" });
  });

  it("contains needs a string field; range an orderable one with a bound", () => {
    expect(
      refusalOf(() => checkFilter({ op: "contains", field: field("UUID"), value: "a" }, fields, "p")),
    ).toMatchObject({ error: "InvalidFilter", field: "filter.op" });
    expect(
      refusalOf(() => checkFilter({ op: "range", field: field("Bool"), gt: true }, fields, "p")),
    ).toMatchObject({ error: "InvalidFilter", field: "filter.op" });
    expect(() =>
      checkFilter({ op: "contains", field: field("LowCardinality(String)"), value: "a" }, fields, "p"),
    ).not.toThrow();
  });
});

describe("filter trees", () => {
  const a: QueryFilter = { op: "eq", field: "x", value: 1 };
  const b: QueryFilter = { op: "in", field: "y", values: [1] };
  const c: QueryFilter = { op: "contains", field: "z", value: "q" };

  it("leaves carry their request path", () => {
    const tree: QueryFilter = {
      op: "or",
      filters: [a, { op: "not", filter: { op: "and", filters: [b, c] } }],
    };
    expect(filterLeaves(tree).map((l) => [l.leaf.field, l.path])).toEqual([
      ["x", "filter.filters[0]"],
      ["y", "filter.filters[1].filter.filters[0]"],
      ["z", "filter.filters[1].filter.filters[1]"],
    ]);
    expect(filterLeaves(undefined)).toEqual([]);
  });

  it("conjuncts flatten nested ands but not ors or nots", () => {
    const or: QueryFilter = { op: "or", filters: [a, b] };
    expect(
      conjuncts({ op: "and", filters: [a, { op: "and", filters: [b, { op: "and", filters: [c] }] }, or] }),
    ).toEqual([a, b, c, or]);
    expect(conjuncts(or)).toEqual([or]);
    expect(conjuncts(undefined)).toEqual([]);
  });
});
