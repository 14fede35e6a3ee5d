import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ColumnType, columnTypes } from "../../api/v1alpha1/pipeline.js";
import type { FieldDef, MessageOrigin, Row, RowValue } from "../decode/row.js";
import { ChunkedWriter } from "./chunked-writer.js";
import { compileRawRowEncoder } from "./raw-rows.js";

const DAY_MS = 86_400_000;

/** The encoding before rows were written into the chunk: one JSON.stringify-based string per line. */
function referenceValue(type: ColumnType, nullable: boolean, v: RowValue): string {
  if (nullable && v === null) return "null";
  switch (type) {
    case "Bool":
      return v ? "true" : "false";
    case "Date":
      return String(Math.floor(Number(v) / DAY_MS));
    case "DateTime":
    case "DateTime64(3)":
      return `"${new Date(Number(v)).toISOString()}"`;
    case "String":
    case "LowCardinality(String)":
    case "UUID":
      return JSON.stringify(v);
    default:
      return String(v);
  }
}

function referenceLine(fields: readonly FieldDef[], row: Row, origin: MessageOrigin): string {
  const values = fields.map(
    (f, i) =>
      `${i === 0 ? "{" : ","}${JSON.stringify(f.name)}:${referenceValue(f.type, f.nullable, row[f.name] ?? null)}`,
  );
  return `${values.join("")},"_topic":${JSON.stringify(origin.topic)},"_partition":${origin.partition},"_offset":${origin.offset}}\n`;
}

const awkwardText = fc.string({
  unit: fc.constantFrom("a", "Z", "~", "\u007f", '"', "\\", "\n", "\u0000", "\u001f", "é", "\u2028", "€"),
});
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  awkwardText,
  // Lone and paired surrogates, in any order.
  fc.string({ unit: fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "x") }),
);
const number = fc.oneof(
  fc.double(),
  fc.maxSafeInteger(),
  fc.integer(),
  fc.constantFrom(0, -0, 5e-324, -1.7976931348623157e308, 1e21, 1e-7, 1.2345678901234567e-6, -(2 ** 53)),
);
const time = fc.integer({ min: -8.64e15, max: 8.64e15 });

function columnValue(type: ColumnType): fc.Arbitrary<RowValue> {
  switch (type) {
    case "String":
    case "LowCardinality(String)":
    case "UUID":
      return text;
    case "Bool":
      return fc.boolean();
    case "Date":
    case "DateTime":
    case "DateTime64(3)":
      return fc.oneof(time, fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2020, 0, 2) }));
    default:
      return number;
  }
}

const schema = fc.uniqueArray(
  fc.record({
    name: fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/),
    type: fc.constantFrom(...columnTypes),
    nullable: fc.boolean(),
  }),
  { minLength: 1, maxLength: 10, selector: (f) => f.name },
);

function rowOf(fields: readonly FieldDef[]): fc.Arbitrary<Row> {
  const entries = fields.map((f) => {
    const value = columnValue(f.type);
    return [f.name, f.nullable ? fc.option(value, { nil: null }) : value] as const;
  });
  return fc.record(Object.fromEntries(entries));
}

const origin = fc.record({
  topic: fc.oneof(fc.string(), fc.string({ unit: "binary" })),
  partition: fc.nat(),
  offset: fc.oneof(fc.maxSafeNat(), fc.double()),
});

describe("raw rows", () => {
  it("property: are byte for byte the JSON.stringify-based lines, across chunk boundaries", () => {
    fc.assert(
      fc.property(
        schema.chain((fields) =>
          fc.tuple(
            fc.constant(fields),
            fc.array(fc.tuple(rowOf(fields), origin), { minLength: 1, maxLength: 8 }),
            fc.integer({ min: 1, max: 300 }),
          ),
        ),
        ([fields, rows, chunkBytes]) => {
          const encoder = compileRawRowEncoder(fields);
          // Small chunks: a row often gets a chunk exactly the size of its reservation, so a reservation
          // short by a byte would fail here.
          const writer = new ChunkedWriter(chunkBytes);
          for (const [row, from] of rows) encoder.encode(writer, row, from);
          const expected = Buffer.from(rows.map(([row, from]) => referenceLine(fields, row, from)).join(""));
          expect(writer.toBuffer().equals(expected)).toBe(true);
          expect(writer.length).toBe(expected.length);
          expect(writer.allocatedBytes).toBeGreaterThanOrEqual(writer.length);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("encodes the example's row shape as before", () => {
    const fields: FieldDef[] = [
      { name: "event_id", type: "String", nullable: false },
      { name: "ts", type: "DateTime64(3)", nullable: false },
      { name: "latency_ms", type: "Float64", nullable: true },
      { name: "ok", type: "Bool", nullable: false },
      { name: "day", type: "Date", nullable: true },
    ];
    const writer = new ChunkedWriter();
    const row = { event_id: 'é"1', ts: Date.UTC(2024, 2, 1, 1, 2, 3, 4), latency_ms: null, ok: true, day: 0 };
    compileRawRowEncoder(fields).encode(writer, row, { topic: "clicks", partition: 3, offset: 42 });
    expect(writer.toBuffer().toString("utf8")).toBe(
      '{"event_id":"é\\"1","ts":"2024-03-01T01:02:03.004Z","latency_ms":null,"ok":true,"day":0,"_topic":"clicks","_partition":3,"_offset":42}\n',
    );
  });

  it("refuses a row missing a declared field", () => {
    const encoder = compileRawRowEncoder([{ name: "a", type: "String", nullable: true }]);
    expect(() => encoder.encode(new ChunkedWriter(), {}, { topic: "t", partition: 0, offset: 0 })).toThrow(
      /field a is missing/,
    );
  });
});
