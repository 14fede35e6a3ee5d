import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPlainUtcDateTime, parseIsoTimestamp } from "./iso-time.js";
import { fullDateTime } from "./json-event.js";

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

describe("isPlainUtcDateTime", () => {
  const ajvDateTime = fullDateTime().validate;

  it.each([
    "2024-03-01T12:34:56Z",
    "2024-03-01T12:34:56.7Z",
    "2024-03-01T23:59:59.999999Z",
    "2024-02-29T00:00:00.000Z",
  ])("accepts %s", (text) => {
    expect(isPlainUtcDateTime(text)).toBe(true);
    expect(ajvDateTime(text)).toBe(true);
  });

  it.each([
    "2023-02-29T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-03-01T24:00:00Z",
    "2024-03-01T12:34:60Z",
    "2024-03-01T12:34:56.Z",
    "2024-03-01T12:34:56.7",
    "2024-03-01t12:34:56Z",
    "2024-03-01 12:34:56Z",
    "2024-03-01T12:34:56+00:00",
    "2024-03-01T12:34:56.1x2Z",
    "2024-03-01T1:34:56.12Z",
  ])("leaves %s to the full check", (text) => {
    expect(isPlainUtcDateTime(text)).toBe(false);
  });

  it("accepts only what ajv-formats' date-time accepts, and every ISO string Date prints", () => {
    const plain = fc
      .integer({ min: Date.UTC(0, 0, 1), max: Date.UTC(9999, 11, 31) })
      .map((ms) => new Date(ms).toISOString());
    // Mutations of plain strings: any character replaced by one of the characters that matter here.
    const mutated = fc
      .tuple(plain, fc.nat(), fc.constantFrom(..."09-:.TtZz+ \u00a01x"))
      .map(([text, at, c]) => text.slice(0, at % text.length) + c + text.slice((at % text.length) + 1));
    fc.assert(
      fc.property(plain, (text) => {
        expect(isPlainUtcDateTime(text)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string()), (text) => {
        if (isPlainUtcDateTime(text)) expect(ajvDateTime(text)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });
});
