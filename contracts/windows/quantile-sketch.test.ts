import { DDSketch } from "@datadog/sketches-js";
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

  describe("bins are the library mapping's keys whatever form the store takes (dense, grown, sparse)", () => {
    const mapping = new DDSketch({ relativeAccuracy: 0.01 }).mapping;
    /** The expected encoding, from the library's key mapping and a plain count per key. */
    function expected(xs: readonly number[]): { pos: number[]; neg: number[]; zero: number } {
      const pos = new Map<number, number>();
      const neg = new Map<number, number>();
      let zero = 0;
      for (const x of xs) {
        const bins = x > mapping.minPossible ? pos : x < -mapping.minPossible ? neg : undefined;
        if (bins === undefined) zero++;
        else {
          const key = mapping.key(Math.abs(x));
          bins.set(key, (bins.get(key) ?? 0) + 1);
        }
      }
      const flat = (bins: Map<number, number>) => [...bins].sort((a, b) => a[0] - b[0]).flat();
      return { pos: flat(pos), neg: flat(neg), zero };
    }

    it("hard-coded keys: 1, 0.995 (key 0), 2, 5, 2005, 0.5 and 1e±300 (beyond the dense span)", () => {
      // ceil(log_γ(v)) with γ = 1.01 / 0.99: log_γ(2) = 34.66, log_γ(5) = 80.5, log_γ(2005) = 380.5, log_γ(1e300) = 34537.3.
      expect(sketchOf([1, 0.995, 2, 5, 5, 2005]).toData().pos).toEqual([0, 2, 35, 1, 81, 2, 381, 1]);
      expect(sketchOf([-0.5, -2, -2]).toData().neg).toEqual([-34, 1, 35, 2]);
      const wide = sketchOf([5, 1e300, 1e-300, 5]).toData();
      expect(wide.pos).toEqual([-34537, 1, 81, 2, 34538, 1]);
      expect(Object.is(sketchOf([0.995]).toData().pos[0], 0)).toBe(true);
    });

    it("keys beyond 2^52 (α = 1e-15) are kept apart, as the library maps them", () => {
      const fine = new DDSketch({ relativeAccuracy: 1e-15 }).mapping;
      const xs = [3, 1e300, 1e300, 7e299];
      const keys = xs.map((x) => fine.key(x));
      expect(Math.abs(keys[1] ?? 0)).toBeGreaterThan(2 ** 52);
      expect(sketchOf(xs, 1e-15).toData().pos).toEqual([keys[0], 1, keys[3], 1, keys[1], 2]);
    });

    // -0 becomes 0 as prepareValue makes it (a sketch's min of 0 and -0 depends on their order).
    const spread = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.integer({ min: -3000, max: 3000 }),
      fc.constantFrom(
        0,
        1,
        -1,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        -1.7976931348623157e308,
      ),
      // Exact bucket boundaries: γ^k and its neighbours.
      fc.integer({ min: -2000, max: 2000 }).map((k) => mapping.value(k) * ((1 + mapping.gamma) / 2)),
      fc.integer({ min: -2000, max: 2000 }).map((k) => mapping.gamma ** k),
    );

    it("property: encoding, merges and round trips equal the independent count, in any insertion order", () => {
      fc.assert(
        fc.property(
          fc.array(spread, { maxLength: 300 }),
          fc.array(fc.nat(2), { maxLength: 300 }),
          (xs, parts) => {
            const want = expected(xs);
            const whole = sketchOf(xs);
            const data = whole.toData();
            expect({ pos: data.pos, neg: data.neg, zero: data.zero }).toEqual(want);
            expect(data.pos.concat(data.neg).every((n) => !Object.is(n, -0))).toBe(true);
            // Reversed, the store grows the other way.
            expect(sketchOf([...xs].reverse()).toData()).toEqual(data);
            const partials = [0, 1, 2].map(() => QuantileSketch.create());
            xs.forEach((x, i) => {
              partials[parts[i] ?? 0]?.add(x);
            });
            const merged = QuantileSketch.create();
            for (const part of partials) merged.mergeFrom(QuantileSketch.fromData(part.toData()));
            expect(merged.toData()).toEqual(data);
            expect(QuantileSketch.fromData(data).toData()).toEqual(data);
            expect(whole.clone().toData()).toEqual(data);
          },
        ),
        { numRuns: 400 },
      );
    });

    it("1,000,000 seeded values (wide and narrow, boundaries) give the library's keys and counts", () => {
      let seed = 7;
      const random = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 2 ** 32;
      };
      const xs: number[] = [];
      for (let i = 0; i < 1_000_000; i++) {
        const r = random();
        if (i % 4 === 0) xs.push((random() < 0.5 ? -1 : 1) * 10 ** (random() * 616 - 308));
        else if (i % 4 === 1) xs.push(mapping.gamma ** (Math.floor(r * 4000) - 2000));
        else xs.push(Math.round(5 + r ** 3 * 2000));
      }
      const data = sketchOf(xs).toData();
      expect({ pos: data.pos, neg: data.neg, zero: data.zero }).toEqual(expected(xs));
      // In the pipeline's shape too: many small sketches, each in its own dense range.
      for (let start = 0; start < 20_000; start += 100) {
        const slice = xs.slice(start, start + 100).filter((_, i) => i % 4 > 1);
        const small = sketchOf(slice).toData();
        expect({ pos: small.pos, neg: small.neg, zero: small.zero }).toEqual(expected(slice));
      }
    });
  });
});
