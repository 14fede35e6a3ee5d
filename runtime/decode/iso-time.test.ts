import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseIsoTimestamp } from "./iso-time.js";

describe("parseIsoTimestamp", () => {
  it.each([
    ["2024-03-01", Date.UTC(2024, 2, 1)],
    ["2024-03-01T12:34", Date.UTC(2024, 2, 1, 12, 34)],
    ["2024-03-01T12:34:56Z", Date.UTC(2024, 2, 1, 12, 34, 56)],
    ["2024-03-01 12:34:56", Date.UTC(2024, 2, 1, 12, 34, 56)],
    ["2024-03-01T12:34:56.7Z", Date.UTC(2024, 2, 1, 12, 34, 56, 700)],
    ["2024-03-01T12:34:56.78Z", Date.UTC(2024, 2, 1, 12, 34, 56, 780)],
    ["2024-03-01T12:34:56.789123456Z", Date.UTC(2024, 2, 1, 12, 34, 56, 789)],
    ["2024-03-01T12:34:56+02:00", Date.UTC(2024, 2, 1, 10, 34, 56)],
    ["2024-03-01T12:34:56-0130", Date.UTC(2024, 2, 1, 14, 4, 56)],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
  ])("%s", (text, ms) => {
    expect(parseIsoTimestamp(text)).toBe(ms);
  });

  it.each([
    "",
    "2024",
    "2024-13-01",
    "2023-02-29",
    "2024-03-01T24:00:00Z",
    "2024-03-01T12:60Z",
    "2024-03-01T12:34:56.Z",
    "2024-03-01T12:34:56ZZ",
    "2024-03-01T12:34:56+2",
    "March 1, 2024",
    "1709251200000",
  ])("refuses %j", (text) => {
    expect(parseIsoTimestamp(text)).toBeUndefined();
  });

  it("agrees with Date.prototype.toISOString for every millisecond instant it prints", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2299, 11, 31) }), (ms) => {
        expect(parseIsoTimestamp(new Date(ms).toISOString())).toBe(ms);
      }),
    );
  });
});
