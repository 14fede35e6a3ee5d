import { describe, expect, it } from "vitest";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import { coercerFor, Invalid } from "./coerce.js";

function ok(type: ColumnType, input: unknown, nullable = false): unknown {
  const value = coercerFor(type, nullable)(input);
  if (value instanceof Invalid) throw new Error(value.message);
  return value;
}
function bad(type: ColumnType, input: unknown, nullable = false): string {
  const value = coercerFor(type, nullable)(input);
  if (!(value instanceof Invalid)) throw new Error(`accepted ${JSON.stringify(value)}`);
  return value.message;
}

describe("coercerFor", () => {
  it.each<[ColumnType, unknown, unknown]>([
    ["String", "a", "a"],
    ["String", 12, "12"],
    ["String", true, "true"],
    ["String", "\uD800x", "\uFFFDx"],
    ["LowCardinality(String)", "page_view", "page_view"],
    ["UUID", "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"],
    ["Bool", true, true],
    ["Bool", "false", false],
    ["Bool", 1, true],
    ["Int32", 42, 42],
    ["Int32", "-42", -42],
    ["Int32", -0, 0],
    ["UInt32", 4_294_967_295, 4_294_967_295],
    ["Int64", "9007199254740991", 9_007_199_254_740_991],
    ["Int64", 12n, 12],
    ["UInt64", "0", 0],
    ["Float32", 0.1, Math.fround(0.1)],
    ["Float64", 0.1, 0.1],
    ["Float64", "1e3", 1000],
    ["Float64", 7n, 7],
    ["Date", "2024-03-01T12:00:00Z", Date.UTC(2024, 2, 1)],
    ["Date", Date.UTC(2024, 2, 1, 23), Date.UTC(2024, 2, 1)],
    ["DateTime", "2024-03-01T12:00:00.999Z", Date.UTC(2024, 2, 1, 12)],
    ["DateTime64(3)", "2024-03-01T12:00:00.123Z", Date.UTC(2024, 2, 1, 12, 0, 0, 123)],
    ["DateTime64(3)", 1_700_000_000_123, 1_700_000_000_123],
    ["DateTime64(3)", "1700000000123", 1_700_000_000_123],
    ["DateTime64(3)", new Date(5000), 5000],
    ["DateTime64(3)", { seconds: "1700000000", nanos: 123_456_789 }, 1_700_000_000_123],
  ])("%s accepts %s", (type, input, expected) => {
    expect(ok(type, input)).toBe(expected);
  });

  it.each<[ColumnType, unknown, RegExp]>([
    ["String", { a: 1 }, /expected a string, got object/],
    ["UUID", "not-a-uuid", /expected a UUID/],
    ["Bool", "yes", /expected a boolean/],
    ["Int32", 1.5, /safe integer/],
    ["Int32", 2_147_483_648, /out of range for Int32/],
    ["UInt32", -1, /out of range for UInt32/],
    ["Int64", "9007199254740993", /safe integer/],
    ["Float64", Number.NaN, /finite/],
    ["Float64", "abc", /expected a number/],
    ["Float32", 1e39, /overflows Float32/],
    ["Date", "1969-12-31", /out of range for Date/],
    ["DateTime", "2200-01-01T00:00:00Z", /out of range for DateTime/],
    ["DateTime64(3)", "1899-12-31T23:59:59Z", /out of range for DateTime64/],
    ["DateTime64(3)", "yesterday", /ISO-8601/],
    // Beyond what a Date can show: said as a number (toISOString would throw and stop the partition).
    ["DateTime64(3)", -8_640_000_000_000_001, /^-8640000000000001 is out of range for DateTime64\(3\)$/],
    ["Date", 86_400_000_086_400_000, /^86400000086400000 is out of range for Date$/],
  ])("%s refuses %j", (type, input, message) => {
    expect(bad(type, input)).toMatch(message);
  });

  it("treats missing and null as null only for nullable fields", () => {
    expect(ok("Float64", undefined, true)).toBeNull();
    expect(ok("Float64", null, true)).toBeNull();
    expect(bad("Float64", undefined)).toMatch(/required/);
    expect(bad("String", null)).toMatch(/required/);
  });
});
