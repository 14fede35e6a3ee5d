import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ColumnType } from "../../operator/api/v1alpha1/pipeline.js";
import { encoderFor, RowBinaryWriter } from "./row-binary.js";
import { RowBinaryReader } from "./row-binary-reader.js";

function bytes(write: (w: RowBinaryWriter) => void): string {
  const w = new RowBinaryWriter(8);
  write(w);
  return w.toBuffer().toString("hex");
}

describe("RowBinaryWriter", () => {
  it.each([
    ["Int32 -1", (w: RowBinaryWriter) => w.int32(-1), "ffffffff"],
    ["Int64 -2", (w: RowBinaryWriter) => w.int64(-2), "feffffffffffffff"],
    ["UInt64 2^40+1", (w: RowBinaryWriter) => w.int64(2 ** 40 + 1), "0100000000010000"],
    ["String 'ab'", (w: RowBinaryWriter) => w.string("ab"), "026162"],
    ["String 'é'", (w: RowBinaryWriter) => w.string("é"), "02c3a9"],
    ["empty String", (w: RowBinaryWriter) => w.string(""), "00"],
    [
      "UUID",
      (w: RowBinaryWriter) => w.uuid("61f0c404-5cb3-11e7-907b-a6006ad3dba0"),
      "e711b35c04c4f061a0dbd36a00a67b90",
    ],
  ])("%s", (_label, write, hex) => {
    expect(bytes(write)).toBe(hex);
  });

  it("writes a 200-character string with a 2-byte length, whatever was reserved", () => {
    const text = "x".repeat(200);
    const out = new RowBinaryWriter(8);
    out.string(text);
    const buffer = out.toBuffer();
    expect(buffer.subarray(0, 2).toString("hex")).toBe("c801");
    expect(buffer.length).toBe(202);
  });

  it("grows in chunks and counts what it holds", () => {
    const w = new RowBinaryWriter(1024);
    for (let i = 0; i < 1000; i++) w.int64(i);
    expect(w.length).toBe(8000);
    expect(w.allocatedBytes).toBeGreaterThanOrEqual(8000);
    expect(w.allocatedBytes).toBeLessThanOrEqual(8000 + 2 * 1024);
  });

  const samples: [ColumnType, fc.Arbitrary<string | number | boolean>][] = [
    ["String", fc.string({ unit: "grapheme" })],
    ["UUID", fc.uuid()],
    ["Bool", fc.boolean()],
    ["Int32", fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })],
    ["UInt32", fc.integer({ min: 0, max: 2 ** 32 - 1 })],
    ["Int64", fc.maxSafeInteger()],
    ["UInt64", fc.maxSafeNat()],
    ["Float32", fc.float({ noNaN: true, noDefaultInfinity: true })],
    ["Float64", fc.double({ noNaN: true, noDefaultInfinity: true })],
    ["Date", fc.integer({ min: 0, max: 65_535 }).map((d) => d * 86_400_000)],
    ["DateTime", fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((s) => s * 1000)],
    ["DateTime64(3)", fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2299, 11, 31) })],
  ];
  it.each(samples)("round-trips %s values (nullable too)", (type, values) => {
    fc.assert(
      fc.property(fc.array(fc.option(values, { nil: null })), (list) => {
        const w = new RowBinaryWriter(16);
        const plain = encoderFor(type, false);
        const nullable = encoderFor(type, true);
        for (const v of list) {
          nullable(w, v);
          if (v !== null) plain(w, v);
        }
        const r = new RowBinaryReader(w.toBuffer());
        for (const v of list) {
          expect(r.value(type, true)).toEqual(v);
          if (v !== null) expect(r.value(type, false)).toEqual(v);
        }
        expect(r.done).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
