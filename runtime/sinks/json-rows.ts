/**
 * Rows for ClickHouse as JSONEachRow text (pure). The bytes of a batch are a function of its values
 * alone: keys in a fixed order, numbers in JavaScript's shortest round-trip form (ClickHouse reads them
 * back exactly), strings JSON-escaped, date-times as ISO-8601 UTC with `Z` (read with
 * date_time_input_format = best_effort, so no server or column time zone is involved). A replayed batch
 * is therefore byte-identical to the original.
 *
 * Why not RowBinary: the local ClickHouse stand-in (chdb's raw insert) rejects binary data containing
 * two consecutive line feeds, which any Int64 or Float64 may; JSON lines never contain an empty line.
 */
import type { ColumnType } from "../../operator/api/v1alpha1/pipeline.js";
import type { RowValue } from "../decode/row.js";

const DAY_MS = 86_400_000;

/** Renders one value of a column as JSON text; values must be canonical (decode/row.ts). */
export type ValueEncoder = (value: RowValue) => string;

function fail(type: string, value: RowValue): never {
  throw new TypeError(`JSON row ${type}: unexpected value ${JSON.stringify(value)}`);
}

const json = (type: string) => (v: RowValue) => (typeof v === "string" ? JSON.stringify(v) : fail(type, v));
const number = (type: string) => (v: RowValue) => (typeof v === "number" ? String(v) : fail(type, v));
const isoTime = (type: string) => (v: RowValue) =>
  typeof v === "number" ? `"${new Date(v).toISOString()}"` : fail(type, v);

function baseEncoder(type: ColumnType): ValueEncoder {
  switch (type) {
    case "String":
    case "LowCardinality(String)":
    case "UUID":
      return json(type);
    case "Bool":
      return (v) => (typeof v === "boolean" ? (v ? "true" : "false") : fail(type, v));
    case "Int32":
    case "UInt32":
    case "Int64":
    case "UInt64":
    case "Float32":
    case "Float64":
      return number(type);
    case "Date":
      return (v) => (typeof v === "number" ? String(Math.floor(v / DAY_MS)) : fail(type, v));
    case "DateTime":
    case "DateTime64(3)":
      return isoTime(type);
    default:
      return assertNever(type);
  }
}

export function encoderFor(type: ColumnType, nullable: boolean): ValueEncoder {
  const base = baseEncoder(type);
  return nullable ? (v) => (v === null ? "null" : base(v)) : base;
}

/** The canonical value of a JSON value written by `encoderFor` (the inverse; for tests and tools). */
export function decodeValue(type: ColumnType, nullable: boolean, value: unknown): RowValue {
  if (nullable && value === null) return null;
  switch (type) {
    case "DateTime":
    case "DateTime64(3)":
      return typeof value === "string" ? Date.parse(value) : fail(type, null);
    case "Date":
      return typeof value === "number" ? value * DAY_MS : fail(type, null);
    default:
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
      return fail(type, null);
  }
}

/** Settings every JSONEachRow insert needs so the text reads back as exactly these values. */
export const jsonInsertSettings = { date_time_input_format: "best_effort" } as const;

function assertNever(value: never): never {
  throw new Error(`unexpected column type ${String(value)}`);
}
