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

/** Whether JSON.stringify would escape nothing in `v`: no quote, backslash, control character or surrogate. */
function needsNoEscape(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** JSON.stringify(v) for a string, without its copy of the characters when nothing needs escaping (most values). */
const jsonString = (v: string) => (needsNoEscape(v) ? `"${v}"` : JSON.stringify(v));
const json = (type: string) => (v: RowValue) => (typeof v === "string" ? jsonString(v) : fail(type, v));
const number = (type: string) => (v: RowValue) => (typeof v === "number" ? String(v) : fail(type, v));
const isoTime = (type: string) => (v: RowValue) => (typeof v === "number" ? quotedIso(v) : fail(type, v));

const pad2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
/** `123Z"`: the end of a quoted timestamp, per millisecond of the second. */
const millisEnd = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, "0")}Z"`);
/** Years 0000..9999, where toISOString has its fixed-width form. */
const FIXED_ISO_MIN_MS = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const FIXED_ISO_END_MS = Date.UTC(10_000, 0, 1);
let cachedDay = Number.NaN;
let cachedDayPrefix = "";
let cachedSecond = Number.NaN;
let cachedSecondPrefix = "";

/**
 * `"${new Date(ms).toISOString()}"`, without a Date per value: consecutive events mostly share a second, so
 * `"YYYY-MM-DDTHH:MM:SS.` is cached (and the day's `YYYY-MM-DDT` under it) and a value is one concatenation.
 */
export function quotedIso(ms: number): string {
  if (!(Number.isSafeInteger(ms) && ms >= FIXED_ISO_MIN_MS && ms < FIXED_ISO_END_MS))
    return `"${new Date(ms).toISOString()}"`;
  const millis = ((ms % 1000) + 1000) % 1000;
  const second = (ms - millis) / 1000;
  if (second !== cachedSecond) {
    const day = Math.floor(ms / DAY_MS);
    if (day !== cachedDay) {
      cachedDay = day;
      cachedDayPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    }
    let rest = second - day * (DAY_MS / 1000);
    const seconds = rest % 60;
    rest = (rest - seconds) / 60;
    const minutes = rest % 60;
    const hours = (rest - minutes) / 60;
    cachedSecond = second;
    cachedSecondPrefix = `"${cachedDayPrefix}${pad2[hours]}:${pad2[minutes]}:${pad2[seconds]}.`;
  }
  return cachedSecondPrefix + millisEnd[millis];
}

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
