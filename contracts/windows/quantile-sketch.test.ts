import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ExactQuantile, exactQuantile } from "../../test/support/exact-quantile.js";
import { QuantileSketch, QuantileSketchError } from "./quantile-sketch.js";

function sketchOf(values: readonly number[], alpha?: number): QuantileSketch {
  const sketch = QuantileSketch.create(alpha);
  for (const v of values) sketch.add(v);
  return sketch;
}

function withinBound(actual: number, exact: ExactQuantile, alpha: number): boolean {
  return Math.abs(actual - exact.value) <= exact.bound(alpha) + 1e-300;
}

function withinRelative(actual: number, expected: number, alpha: number): boolean {
  return Math.abs(actual - expected) <= alpha * Math.abs(expected) + 1e-300;
}

describe("QuantileSketch", () => {
  it("empty sketch has no quantiles, min or max", () => {
    const sketch = QuantileSketch.create();
    expect(sketch.quantile(0.5)).toBeNull();
    expect(sketch.min).toBeNull();
    expect(sketch.max).toBeNull();
    expect(sketch.count).toBe(0);
  });

  const uniform = Array.from({ length: 1000 }, (_, i) => i + 1);
  const mixed = [-1000, -10, -0.5, 0, 0, 0.001, 3, 3, 50, 1e6];
  it.each([
    { name: "1..1000 median", values: uniform, q: 0.5 },
    { name: "1..1000 p99", values: uniform, q: 0.99 },
    { name: "1..1000 p1", values: uniform, q: 0.01 },
    { name: "single value", values: [42], q: 0.5 },
    { name: "mixed signs p10 (negative side)", values: mixed, q: 0.1 },
    { name: "mixed signs p30 (zero)", values: mixed, q: 0.3 },
    { name: "mixed signs median", values: mixed, q: 0.5 },
    { name: "mixed signs p95", values: mixed, q: 0.95 },
    { name: "tiny values", values: [1e-9, 2e-9, 3e-9], q: 0.5 },
    { name: "huge values", values: [1e300, 2e300, 3e300], q: 0.5 },
  ])("$name is within the documented bound of the exact interpolated quantile", ({ values, q }) => {
    const estimate = sketchOf(values).quantile(q);
    expect(estimate).not.toBeNull();
    expect(withinBound(estimate ?? Number.NaN, exactQuantile(values, q), 0.01)).toBe(true);
  });

  it("interpolates between neighbouring ranks as ClickHouse's quantiles does (issue 11: {-13, 109})", () => {
    // ClickHouse: SELECT quantiles(0.5, 0.95)(x) FROM values('x Int32', -13, 109) → [48, 102.9].
    const sketch = sketchOf([-13, 109]);
    expect(sketch.quantile(0.5)).toBe(48);
    expect(sketch.quantile(0.95)).toBeCloseTo(102.9, 10);
    // Three values: p25 is halfway between the first two, p90 80% of the way from the second to the third.
    const three = sketchOf([10, 20, 40]);
    expect(Math.abs((three.quantile(0.25) ?? 0) - 15)).toBeLessThanOrEqual(0.01 * 15);
    expect(Math.abs((three.quantile(0.9) ?? 0) - 36)).toBeLessThanOrEqual(0.01 * (0.2 * 20 + 0.8 * 40));
  });

  it("q=0 and q=1 return the exact min and max (results are clamped to them)", () => {
    const sketch = sketchOf([3.3, 7.7, 100.1]);
    expect(sketch.quantile(0)).toBe(3.3);
    expect(sketch.quantile(1)).toBe(100.1);
  });

  it("merges negative values (the library's DDSketch.merge drops them)", () => {
    const a = sketchOf([5]);
    a.mergeFrom(sketchOf([-5, -7]));
    expect(a.count).toBe(3);
    expect(withinRelative(a.quantile(0) ?? 0, -7, 0.01)).toBe(true);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])("rejects value %d", (v) => {
    expect(() => QuantileSketch.create().add(v)).toThrow(QuantileSketchError);
  });

  it.each([-0.1, 1.1, Number.NaN])("rejects quantile %d", (q) => {
    expect(() => sketchOf([1]).quantile(q)).toThrow(/not in \[0, 1\]/);
  });

  it.each([0, 1, -0.5])("rejects relative accuracy %d", (alpha) => {
    expect(() => QuantileSketch.create(alpha)).toThrow(/relative accuracy/);
  });

  it("refuses to merge sketches of different accuracy", () => {
    expect(() => QuantileSketch.create(0.01).mergeFrom(QuantileSketch.create(0.02))).toThrow(
      /0.02 into one with 0.01/,
    );
  });

  it.each([
    { name: "count mismatch", patch: { count: 5 }, message: /count 5 != bins/ },
    { name: "odd bins", patch: { pos: [1] }, message: /odd length/ },
    { name: "unsorted keys", patch: { pos: [5, 1, 4, 1], count: 2 }, message: /not ascending/ },
    { name: "zero count bin", patch: { pos: [5, 0], count: 0, min: null, max: null }, message: /count 0/ },
    { name: "min > max", patch: { min: 10, max: 1 }, message: /min 10 > max 1/ },
    { name: "missing min", patch: { min: null }, message: /finite min and max/ },
  ])("fromData rejects $name", ({ patch, message }) => {
    const data = { ...sketchOf([2]).toData(), ...patch };
    expect(() => QuantileSketch.fromData(data)).toThrow(message);
  });

  const values = fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), {
    maxLength: 150,
  });

  it("property: merge of any split is identical to one sketch (bins, counts, min, max, encoding)", () => {
    fc.assert(
      fc.property(values, fc.array(fc.nat(3), { maxLength: 150 }), (xs, parts) => {
        const whole = sketchOf(xs);
        const partials = [0, 1, 2, 3].map(() => QuantileSketch.create());
        xs.forEach((x, i) => {
          partials[parts[i] ?? 0]?.add(x);
        });
        const merged = QuantileSketch.create();
        for (const part of [...partials].reverse()) merged.mergeFrom(part);
        expect(merged.toData()).toEqual(whole.toData());
        expect(QuantileSketch.fromData(whole.toData()).toData()).toEqual(whole.toData());
        for (const q of [0, 0.25, 0.5, 0.9, 1]) expect(merged.quantile(q)).toBe(whole.quantile(q));
      }),
      { numRuns: 150 },
    );
  });

  it("property: every quantile is within the documented bound of the exact interpolated one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, q) => {
          const estimate = sketchOf(xs).quantile(q) ?? Number.NaN;
          const exact = exactQuantile(xs, q);
          // Values below the mapping's smallest distinguishable magnitude (~1e-308) count as zero.
          const tiny = (v: number) => Math.abs(v) < 1e-300;
          if (xs.some(tiny))
            expect(Math.abs(estimate - exact.value)).toBeLessThan(exact.bound(0.01) + 1e-290);
          else expect(withinBound(estimate, exact, 0.01)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("property: reads between adds and merges see every value so far (sorted bins are cached between changes)", () => {
    fc.assert(
      fc.property(values, values, fc.array(fc.nat(150), { maxLength: 5 }), (xs, ys, readAt) => {
        const sketch = QuantileSketch.create();
        const seen: number[] = [];
        xs.forEach((x, i) => {
          if (readAt.includes(i)) {
            expect(sketch.toData()).toEqual(sketchOf(seen).toData());
            expect(sketch.quantile(0.5)).toBe(sketchOf(seen).quantile(0.5));
          }
          sketch.add(x);
          seen.push(x);
        });
        expect(sketch.quantile(0.9)).toBe(sketchOf(seen).quantile(0.9));
        sketch.mergeFrom(sketchOf(ys));
        const all = [...seen, ...ys];
        expect(sketch.toData()).toEqual(sketchOf(all).toData());
        for (const q of [0, 0.1, 0.5, 0.99, 1]) expect(sketch.quantile(q)).toBe(sketchOf(all).quantile(q));
      }),
      { numRuns: 100 },
    );
  });
});
