import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import type { RowValue } from "../decode/row.js";
import { ChunkedWriter } from "./chunked-writer.js";
import { decodeValue, maxJsonBytes, quotedIso, valueWriterFor } from "./json-rows.js";

/** A value's JSON text, written into a buffer of exactly its reservation (so a short one shows). */
const encoderFor = (type: ColumnType, nullable: boolean) => {
  const write = valueWriterFor(type, nullable);
  return (value: RowValue) => {
    const out = Buffer.alloc(maxJsonBytes(value));
    return out.toString("utf8", 0, write(out, 0, value));
  };
};

describe("JSON row values", () => {
  it.each<[ColumnType, boolean, string | number | boolean | null, string]>([
    ["String", false, 'a"b\n', '"a\\"b\\n"'],
    ["Bool", false, true, "true"],
    ["Int64", false, 9_007_199_254_740_991, "9007199254740991"],
    ["Float64", false, 0.1, "0.1"],
    ["Date", false, Date.UTC(2024, 2, 1), "19783"],
    ["DateTime", false, Date.UTC(2024, 2, 1, 1, 2, 3), '"2024-03-01T01:02:03.000Z"'],
    ["DateTime64(3)", false, Date.UTC(1969, 11, 31, 23, 59, 59, 999), '"1969-12-31T23:59:59.999Z"'],
    ["Float64", true, null, "null"],
  ])("%s %s %j → %s", (type, nullable, value, text) => {
    expect(encoderFor(type, nullable)(value)).toBe(text);
    expect(decodeValue(type, nullable, JSON.parse(text))).toEqual(value);
  });

  it("refuses a value of the wrong type instead of writing something ClickHouse would read differently", () => {
    expect(() => encoderFor("Int32", false)("1")).toThrow(TypeError);
    expect(() => encoderFor("String", false)(null)).toThrow(TypeError);
  });

  it("round-trips DateTime64 over ClickHouse's range and every double", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2299, 11, 31) }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (ms, x) => {
          expect(
            decodeValue("DateTime64(3)", false, JSON.parse(encoderFor("DateTime64(3)", false)(ms))),
          ).toBe(ms);
          const y = x === 0 ? 0 : x;
          expect(JSON.parse(encoderFor("Float64", false)(y))).toBe(y);
        },
      ),
    );
  });
});

describe("String values", () => {
  it("property: are JSON.stringify's text for any string, escapes and lone surrogates included", () => {
    const encode = encoderFor("String", false);
    for (const text of ["", 'a"b', "a\\b", "\u0000\u001f", "\ud800", "\udc00x", "😀", "\u2028"])
      expect(encode(text)).toBe(JSON.stringify(text));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" })), (text) => {
        expect(encode(text)).toBe(JSON.stringify(text));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("quotedIso", () => {
  it("property: equals toISOString in quotes for every representable time, in any order", () => {
    const edges = [
      -8.64e15, -62_167_219_200_001, -62_167_219_200_000, -1, 0, 253_402_300_799_999, 253_402_300_800_000,
      8.64e15,
    ];
    for (const ms of edges) expect(quotedIso(ms)).toBe(`"${new Date(ms).toISOString()}"`);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -8.64e15, max: 8.64e15 }), { maxLength: 20 }),
        fc.integer({ min: -5e9, max: 5e9 }),
        (times, base) => {
          for (const ms of [...times, ...times.map((t) => (t % 1e10) + base)])
            expect(quotedIso(ms)).toBe(`"${new Date(ms).toISOString()}"`);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("ChunkedWriter", () => {
  it("keeps every byte across chunk boundaries and counts what it holds", () => {
    const w = new ChunkedWriter(64);
    const parts = Array.from({ length: 500 }, (_, i) => `${"é".repeat(i % 7)}line ${i}\n`);
    for (const p of parts) w.write(p);
    expect(w.toBuffer().toString("utf8")).toBe(parts.join(""));
    expect(w.allocatedBytes).toBeGreaterThanOrEqual(w.length);
    expect(w.allocatedBytes).toBeLessThanOrEqual(w.length * 2 + 64);
  });

  it("refuses to keep a write that ran past the chunk it reserved", () => {
    const w = new ChunkedWriter(8);
    const out = w.reserve(4);
    expect(() => w.advanceTo(out.length + 1)).toThrow(RangeError);
    w.advanceTo(w.cursor + out.write("abcd", w.cursor, "latin1"));
    expect(w.toBuffer().toString("latin1")).toBe("abcd");
  });
});
