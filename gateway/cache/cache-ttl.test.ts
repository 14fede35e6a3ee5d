import { describe, expect, it } from "vitest";
import { type CacheTtlInput, computeCacheTtl, defaultOpenTtlMs, defaultSettledTtlMs } from "./cache-ttl.js";

const now = 1_000_000_000_000;
const base: CacheTtlInput = {
  rangeEndMs: now - 3_600_000,
  watermarkMs: now - 60_000,
  allowedLatenessMs: 300_000,
  openTtlMs: 30_000,
  settledTtlMs: defaultSettledTtlMs,
  nowMs: now,
};

describe("computeCacheTtl", () => {
  it("settles a range that ends, with its lateness, before the watermark: the long TTL", () => {
    expect(computeCacheTtl(base)).toEqual({ ttlSeconds: 21_600, settled: true });
  });

  it("keeps a range open while the watermark has not passed its end plus the allowed lateness", () => {
    const end = base.watermarkMs as number;
    expect(computeCacheTtl({ ...base, rangeEndMs: end - 299_999 })).toEqual({
      ttlSeconds: 30,
      settled: false,
    });
    expect(computeCacheTtl({ ...base, rangeEndMs: end + 1 })).toEqual({ ttlSeconds: 30, settled: false });
  });

  it("settles exactly at the boundary: rangeEnd + allowedLateness == watermark", () => {
    const watermarkMs = base.rangeEndMs + base.allowedLatenessMs;
    expect(computeCacheTtl({ ...base, watermarkMs })).toEqual({ ttlSeconds: 21_600, settled: true });
    expect(computeCacheTtl({ ...base, watermarkMs: watermarkMs - 1 })).toEqual({
      ttlSeconds: 30,
      settled: false,
    });
  });

  it("treats a pipeline without a watermark as open", () => {
    expect(computeCacheTtl({ ...base, watermarkMs: undefined })).toEqual({ ttlSeconds: 30, settled: false });
    expect(computeCacheTtl({ ...base, watermarkMs: Number.NaN })).toEqual({ ttlSeconds: 30, settled: false });
  });

  it("does not settle on a watermark ahead of the wall clock", () => {
    // Events stamped an hour ahead pushed the watermark into the future; the range still reaches past now.
    const future = { ...base, rangeEndMs: now + 1000, allowedLatenessMs: 0, watermarkMs: now + 3_600_000 };
    expect(computeCacheTtl(future)).toEqual({ ttlSeconds: 30, settled: false });
    expect(computeCacheTtl({ ...future, rangeEndMs: now - 1000 })).toEqual({
      ttlSeconds: 21_600,
      settled: true,
    });
  });

  it("with zero lateness settles a range ending at the watermark", () => {
    const input = { ...base, allowedLatenessMs: 0, rangeEndMs: base.watermarkMs as number };
    expect(computeCacheTtl(input).settled).toBe(true);
  });

  it("never gives an open range less than 1 s, and rounds partial seconds up", () => {
    expect(computeCacheTtl({ ...base, watermarkMs: undefined, openTtlMs: 0 }).ttlSeconds).toBe(1);
    expect(computeCacheTtl({ ...base, watermarkMs: undefined, openTtlMs: 400 }).ttlSeconds).toBe(1);
    expect(computeCacheTtl({ ...base, watermarkMs: undefined, openTtlMs: 1_500 }).ttlSeconds).toBe(2);
    expect(computeCacheTtl({ ...base, watermarkMs: undefined, openTtlMs: defaultOpenTtlMs }).ttlSeconds).toBe(
      10,
    );
  });

  it("keeps a settled result at least as long as an open one", () => {
    expect(computeCacheTtl({ ...base, openTtlMs: 86_400_000, settledTtlMs: 60_000 })).toEqual({
      ttlSeconds: 86_400,
      settled: true,
    });
    expect(computeCacheTtl({ ...base, settledTtlMs: 0 })).toEqual({ ttlSeconds: 30, settled: true });
  });

  it.each([
    ["allowedLatenessMs", { allowedLatenessMs: -1 }],
    ["openTtlMs", { openTtlMs: Number.POSITIVE_INFINITY }],
    ["settledTtlMs", { settledTtlMs: Number.NaN }],
  ] as const)("refuses a bad %s, naming it", (field, change) => {
    expect(() => computeCacheTtl({ ...base, ...change })).toThrowError(new RegExp(`${field} must be`));
  });
});
