import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HyperLogLog, HyperLogLogError } from "./hyperloglog.js";

function hllOf(keys: Iterable<string>, precision?: number): HyperLogLog {
  const hll = HyperLogLog.create(precision);
  for (const key of keys) hll.add(key);
  return hll;
}

/** Registers as hex: comparing one string is much faster than a deep equality over 2^p array elements. */
function hex(hll: HyperLogLog): string {
  return Buffer.from(hll.registers()).toString("hex");
}

function range(n: number, prefix = "user-"): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

describe("HyperLogLog", () => {
  it.each([
    { n: 0, tolerance: 0 },
    { n: 1, tolerance: 0.01 },
    { n: 10, tolerance: 0.01 },
    { n: 100, tolerance: 0.02 },
    { n: 1000, tolerance: 0.03 },
    { n: 20_000, tolerance: 0.03 },
    { n: 200_000, tolerance: 0.03 },
  ])("estimates $n distinct values within $tolerance (p=14, σ≈0.81%)", ({ n, tolerance }) => {
    const estimate = hllOf(range(n)).estimate();
    expect(Math.abs(estimate - n)).toBeLessThanOrEqual(Math.max(tolerance * n, 0));
  });

  it("ignores duplicates", () => {
    const once = hllOf(range(500));
    const thrice = hllOf([...range(500), ...range(500), ...range(500)]);
    expect(hex(thrice)).toBe(hex(once));
  });

  it.each([4, 10, 16])("precision %d: register count and rough accuracy", (p) => {
    const hll = hllOf(range(5000), p);
    expect(hll.registers()).toHaveLength(2 ** p);
    const error = Math.abs(hll.estimate() - 5000) / 5000;
    expect(error).toBeLessThan(6 * (1.04 / Math.sqrt(2 ** p)));
  });

  it.each([3, 17, 14.5])("rejects precision %d", (p) => {
    expect(() => HyperLogLog.create(p)).toThrow(HyperLogLogError);
  });

  it.each([
    // hi = 0x00000000 with p=14: index 0, the remaining 18 high bits are zero, the rank comes from lo.
    { name: "rank from high word", hi: 0x00020000, lo: 0, index: 0, rank: 1 },
    { name: "rank from low word", hi: 0, lo: 0x80000000, index: 0, rank: 19 },
    { name: "all-zero rest saturates at 65 - p", hi: 0, lo: 0, index: 0, rank: 51 },
    { name: "top bits select the register", hi: 0xfffc0000, lo: 1, index: 16383, rank: 50 },
  ])("addHash: $name", ({ hi, lo, index, rank }) => {
    const hll = HyperLogLog.create(14);
    hll.addHash(hi, lo);
    const registers = hll.registers();
    expect(registers[index]).toBe(rank);
    expect(registers.reduce((n, r) => n + (r === 0 ? 0 : 1), 0)).toBe(1);
  });

  it("switches from sparse to dense without changing registers or the encoding rule", () => {
    const small = hllOf(range(100));
    expect("sparse" in small.toData()).toBe(true);
    const big = hllOf(range(20_000));
    expect("dense" in big.toData()).toBe(true);
    expect(hex(HyperLogLog.fromData(big.toData()))).toBe(hex(big));
    expect(hex(HyperLogLog.fromData(small.toData()))).toBe(hex(small));
  });

  it("refuses to merge different precisions", () => {
    expect(() => HyperLogLog.create(12).mergeFrom(HyperLogLog.create(14))).toThrow(
      /precision 14 into one with precision 12/,
    );
  });

  it.each([
    { name: "bad base64", data: { p: 14, sparse: "!!!!" }, message: /canonical base64/ },
    { name: "dense too short", data: { p: 14, dense: "AAAA" }, message: /3 registers, expected 16384/ },
    {
      name: "sparse not a multiple of 3",
      data: { p: 14, sparse: "AAAAAA==" },
      message: /not a multiple of 3/,
    },
    {
      name: "sparse rank 0",
      data: { p: 14, sparse: Buffer.from([0, 1, 0]).toString("base64") },
      message: /value 0/,
    },
    {
      name: "rank too large",
      data: { p: 14, sparse: Buffer.from([0, 1, 52]).toString("base64") },
      message: /value 52/,
    },
    {
      name: "unsorted sparse",
      data: { p: 14, sparse: Buffer.from([0, 2, 1, 0, 1, 1]).toString("base64") },
      message: /out of order/,
    },
    {
      name: "index out of range",
      data: { p: 4, sparse: Buffer.from([0, 16, 1]).toString("base64") },
      message: /range/,
    },
    { name: "bad precision", data: { p: 30, sparse: "" }, message: /precision/ },
  ])("fromData rejects $name", ({ data, message }) => {
    expect(() => HyperLogLog.fromData(data)).toThrow(message);
  });

  const keys = fc.array(fc.string({ maxLength: 6 }), { maxLength: 300 });

  it("property: merge of any split equals one sketch (identical registers and encoding), in any order", () => {
    fc.assert(
      fc.property(keys, fc.array(fc.nat(3), { maxLength: 300 }), (values, parts) => {
        const whole = hllOf(values, 10);
        const partials = [0, 1, 2, 3].map(() => HyperLogLog.create(10));
        values.forEach((v, i) => {
          partials[parts[i] ?? 0]?.add(v);
        });
        const forward = HyperLogLog.create(10);
        for (const part of partials) forward.mergeFrom(part);
        const backward = HyperLogLog.create(10);
        for (const part of [...partials].reverse()) backward.mergeFrom(part);
        expect(hex(forward)).toBe(hex(whole));
        expect(hex(backward)).toBe(hex(whole));
        expect(forward.toData()).toEqual(whole.toData());
        expect(HyperLogLog.fromData(whole.toData()).toData()).toEqual(whole.toData());
      }),
      { numRuns: 150 },
    );
  });

  it("property: merge is idempotent", () => {
    fc.assert(
      fc.property(keys, (values) => {
        const hll = hllOf(values, 8);
        const twice = hll.clone();
        twice.mergeFrom(hll);
        expect(hex(twice)).toBe(hex(hll));
      }),
      { numRuns: 100 },
    );
  });
});
