import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, resultCacheKey } from "./cache-key.js";

const query = {
  source: "clicks_hourly",
  metrics: ["events", "users"],
  dimensions: ["type"],
  filters: {
    and: [{ eq: { dimension: "country", value: "DE" } }, { in: { dimension: "type", values: ["a", "b"] } }],
  },
  range: { fromMs: 1_000, toMs: 2_000 },
  granularityMs: 3_600_000,
  limit: 100,
  offset: 0,
  approximate: false,
  timezone: null,
};

/** The same object with the keys of every nested object in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

describe("resultCacheKey", () => {
  it("is the namespace prefix with a hash tag, then the sha256 of the canonical JSON", () => {
    const expected = createHash("sha256").update(canonicalJson(query)).digest("hex");
    expect(resultCacheKey("shop", query)).toBe(`tally:gw:q:{shop}:${expected}`);
    expect(resultCacheKey("shop", query)).toMatch(/^tally:gw:q:\{shop\}:[0-9a-f]{64}$/);
  });

  it("does not depend on the order of object keys, at any depth", () => {
    const reordered = reverseKeys(query);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(query));
    expect(resultCacheKey("shop", reordered)).toBe(resultCacheKey("shop", query));
  });

  it("treats a field set to undefined as absent", () => {
    expect(resultCacheKey("shop", { ...query, order: undefined })).toBe(resultCacheKey("shop", query));
  });

  it("changes with any value, array order, type or the namespace", () => {
    const variants: unknown[] = [
      { ...query, source: "clicks_daily" },
      { ...query, metrics: ["users", "events"] },
      { ...query, metrics: ["events"] },
      { ...query, range: { fromMs: 1_000, toMs: 2_001 } },
      { ...query, limit: "100" },
      { ...query, approximate: true },
      { ...query, timezone: "UTC" },
      { ...query, offset: undefined },
      { ...query, extra: null },
      {
        ...query,
        filters: {
          and: [{ eq: { dimension: "country", value: "DE" } }, { in: { dimension: "type", values: ["a"] } }],
        },
      },
    ];
    const keys = new Set([resultCacheKey("shop", query), ...variants.map((v) => resultCacheKey("shop", v))]);
    expect(keys.size).toBe(variants.length + 1);
    expect(resultCacheKey("other", query)).not.toBe(resultCacheKey("shop", query));
  });

  it("does not let a string that looks like JSON collide with the structure it spells", () => {
    expect(resultCacheKey("shop", { a: '1,"b":2' })).not.toBe(resultCacheKey("shop", { a: 1, b: 2 }));
  });

  it.each([
    ["NaN", { limit: Number.NaN }, /\$\.limit is NaN/],
    ["Infinity", { range: { toMs: Number.POSITIVE_INFINITY } }, /\$\.range\.toMs is Infinity/],
    ["a Date", { at: new Date(0) }, /\$\.at is a Date/],
    ["undefined in an array", { metrics: ["a", undefined] }, /\$\.metrics\[1\] is a undefined/],
    ["a bigint", { n: 1n }, /\$\.n is a bigint/],
  ])("refuses %s, naming where it is", (_name, value, message) => {
    expect(() => resultCacheKey("shop", value)).toThrowError(message);
  });
});
