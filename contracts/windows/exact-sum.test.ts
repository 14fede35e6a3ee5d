import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExactSum } from "./exact-sum.js";

function sumOf(values: readonly number[]): ExactSum {
  const sum = ExactSum.zero();
  for (const value of values) sum.add(value);
  return sum;
}

describe("ExactSum", () => {
  it.each<{ name: string; values: number[]; expected: number }>([
    { name: "empty", values: [], expected: 0 },
    { name: "integers", values: [1, 2, 3], expected: 6 },
    { name: "0.1 + 0.2 is correctly rounded", values: [0.1, 0.2], expected: 0.30000000000000004 },
    { name: "catastrophic cancellation", values: [1e100, 1, -1e100], expected: 1 },
    {
      name: "many small values against a big one",
      values: [1e16, ...Array<number>(10).fill(1), -1e16],
      expected: 10,
    },
    { name: "Python fsum doc example", values: Array<number>(10).fill(0.1), expected: 1 },
    { name: "half-even tie across partials", values: [1, 1e-16, 1e-16], expected: 1.0000000000000002 },
    { name: "exact cancellation to zero", values: [5, -5], expected: 0 },
    { name: "negative zero normalises", values: [-0], expected: 0 },
    {
      name: "largest finite values that do not overflow",
      values: [Number.MAX_VALUE, -Number.MAX_VALUE, 1],
      expected: 1,
    },
  ])("$name", ({ values, expected }) => {
    const value = sumOf(values).value();
    expect(Object.is(value, expected)).toBe(true);
  });

  it.each<{ name: string; values: number[]; expected: number }>([
    {
      name: "positive overflow",
      values: [Number.MAX_VALUE, Number.MAX_VALUE],
      expected: Number.POSITIVE_INFINITY,
    },
    {
      name: "negative overflow",
      values: [-Number.MAX_VALUE, -Number.MAX_VALUE],
      expected: Number.NEGATIVE_INFINITY,
    },
    {
      name: "overflow both ways",
      values: [Number.MAX_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, -Number.MAX_VALUE, -Number.MAX_VALUE],
      expected: Number.NaN,
    },
  ])("$name is reported, not hidden", ({ values, expected }) => {
    const sum = sumOf(values);
    expect(sum.overflowed).toBe(true);
    expect(Object.is(sum.value(), expected)).toBe(true);
  });

  it("rejects non-finite input", () => {
    expect(() => ExactSum.zero().add(Number.NaN)).toThrow(RangeError);
    expect(() => ExactSum.zero().add(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  const doubles = fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }), {
    maxLength: 40,
  });

  it("property: order and splitting do not change the value or the canonical terms", () => {
    fc.assert(
      fc.property(doubles, fc.array(fc.nat(2), { maxLength: 40 }), (values, parts) => {
        const whole = sumOf(values);
        const reversed = sumOf([...values].reverse());
        const partials = [ExactSum.zero(), ExactSum.zero(), ExactSum.zero()];
        values.forEach((v, i) => {
          partials[parts[i] ?? 0]?.add(v);
        });
        const merged = ExactSum.zero();
        for (const part of [...partials].reverse()) merged.addSum(part);
        expect(reversed.value()).toBe(whole.value());
        expect(merged.value()).toBe(whole.value());
        expect(merged.canonicalTerms()).toEqual(whole.canonicalTerms());
        expect(ExactSum.of(whole.canonicalTerms()).value()).toBe(whole.value());
      }),
      { numRuns: 300 },
    );
  });

  it("property: equals the exact rational sum for integers and dyadic fractions", () => {
    // Values k / 2^10 with |k| < 2^40: the exact sum is representable as a BigInt numerator.
    const dyadic = fc.array(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), { maxLength: 40 });
    fc.assert(
      fc.property(dyadic, (numerators) => {
        const exact = numerators.reduce((acc, k) => acc + BigInt(k), 0n);
        const sum = sumOf(numerators.map((k) => k / 1024));
        expect(sum.value()).toBe(Number(exact) / 1024);
      }),
      { numRuns: 200 },
    );
  });

  it("canonical terms are non-overlapping and decreasing in magnitude", () => {
    const sum = sumOf([1e100, 1, 1e-100, -3e50]);
    const terms = sum.canonicalTerms();
    expect(terms.length).toBeGreaterThan(1);
    for (let i = 1; i < terms.length; i++) {
      expect(Math.abs(terms[i] ?? 0)).toBeLessThan(Math.abs(terms[i - 1] ?? 0));
    }
    expect(ExactSum.of(terms).canonicalTerms()).toEqual(terms);
  });
});
