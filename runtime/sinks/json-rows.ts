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
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import type { RowValue } from "../decode/row.js";

const DAY_MS = 86_400_000;

/**
 * Writes one value of a column as JSON text (UTF-8) into `out` from byte `at` and returns where it ends.
 * `out` must have `maxJsonBytes(value)` bytes free from `at`; values must be canonical (decode/row.ts).
 * Writing into the caller's buffer, rather than returning a string, is what keeps a row from costing a
 * string per value plus a line to copy.
 */
export type ValueWriter = (out: Buffer, at: number, value: RowValue) => number;

/**
 * Bytes a ValueWriter may write for `value`. Strings: JSON.stringify turns one UTF-16 unit into at most 6
 * bytes (`\u001f`, or an escaped lone surrogate), plus the quotes. Anything else: a number's shortest
 * form is at most 25 characters, a quoted ISO time at most 29 (`"+275760-09-13T00:00:00.000Z"`).
 */
export function maxJsonBytes(value: RowValue): number {
  return typeof value === "string" ? value.length * 6 + 2 : 32;
}

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

/** `bytes` at `at`. */
export function writeBytes(out: Buffer, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

/** `text`, which must be ASCII, one byte per character (short texts: cheaper than a call into Buffer.write). */
function writeAscii(out: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/**
 * JSON.stringify(v)'s bytes. Most values are plain ASCII, copied byte by byte while checking; the first
 * character that is not (non-ASCII or needing an escape) sends the whole value down the general path.
 */
function writeJsonString(out: Buffer, at: number, v: string): number {
  out[at] = 0x22;
  const start = at + 1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7f) return writeUnusualString(out, at, v);
    out[start + i] = c;
  }
  out[start + v.length] = 0x22;
  return start + v.length + 1;
}

/** JSON.stringify(v)'s bytes for a value that is not plain ASCII: without its copy when nothing needs escaping. */
function writeUnusualString(out: Buffer, at: number, v: string): number {
  if (!needsNoEscape(v)) return at + out.write(JSON.stringify(v), at, "utf8");
  out[at] = 0x22;
  const end = at + 1 + out.write(v, at + 1, "utf8");
  out[end] = 0x22;
  return end + 1;
}

/** String(n)'s bytes, digit by digit without the string for safe integers (counts, ids, offsets). */
export function writeNumber(out: Buffer, at: number, n: number): number {
  if (!Number.isSafeInteger(n)) return writeAscii(out, at, String(n));
  let rest = n;
  let start = at;
  if (rest < 0) {
    out[start++] = 0x2d;
    rest = -rest;
  }
  let end = start + 1;
  for (let t = rest; t >= 10; t = Math.floor(t / 10)) end++;
  // -0 lands here as 0 and is written "0", as String(-0) is.
  for (let i = end - 1; i >= start; i--) {
    const digit = rest % 10;
    out[i] = 0x30 + digit;
    rest = (rest - digit) / 10;
  }
  return end;
}

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

const hasFixedWidthIso = (ms: number) =>
  Number.isSafeInteger(ms) && ms >= FIXED_ISO_MIN_MS && ms < FIXED_ISO_END_MS;
const millisOf = (ms: number) => ((ms % 1000) + 1000) % 1000;

/**
 * `"YYYY-MM-DDTHH:MM:SS.` of a fixed-width time: consecutive events mostly share a second, so it is
 * cached (and the day's `YYYY-MM-DDT` under it) instead of a Date per value.
 */
function quotedSecondPrefix(ms: number): string {
  const second = (ms - millisOf(ms)) / 1000;
  if (second === cachedSecond) return cachedSecondPrefix;
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
  return cachedSecondPrefix;
}

/** `"${new Date(ms).toISOString()}"`, mostly one concatenation (see quotedSecondPrefix). */
export function quotedIso(ms: number): string {
  if (!hasFixedWidthIso(ms)) return `"${new Date(ms).toISOString()}"`;
  return quotedSecondPrefix(ms) + millisEnd[millisOf(ms)];
}

/** quotedIso(ms)'s bytes, without the concatenation: the cached prefix, then `123Z"`. */
function writeQuotedIso(out: Buffer, at: number, ms: number): number {
  if (!hasFixedWidthIso(ms)) return writeAscii(out, at, quotedIso(ms));
  const millis = millisOf(ms);
  const p = writeAscii(out, at, quotedSecondPrefix(ms));
  out[p] = 0x30 + Math.floor(millis / 100);
  out[p + 1] = 0x30 + (Math.floor(millis / 10) % 10);
  out[p + 2] = 0x30 + (millis % 10);
  out[p + 3] = 0x5a; // Z
  out[p + 4] = 0x22;
  return p + 5;
}

const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");

function baseWriter(type: ColumnType): ValueWriter {
  switch (type) {
    case "String":
    case "LowCardinality(String)":
    case "UUID":
      return (out, at, v) => (typeof v === "string" ? writeJsonString(out, at, v) : fail(type, v));
    case "Bool":
      return (out, at, v) => (typeof v === "boolean" ? writeBytes(out, at, v ? TRUE : FALSE) : fail(type, v));
    case "Int32":
    case "UInt32":
    case "Int64":
    case "UInt64":
    case "Float32":
    case "Float64":
      return (out, at, v) => (typeof v === "number" ? writeNumber(out, at, v) : fail(type, v));
    case "Date":
      return (out, at, v) =>
        typeof v === "number" ? writeNumber(out, at, Math.floor(v / DAY_MS)) : fail(type, v);
    case "DateTime":
    case "DateTime64(3)":
      return (out, at, v) => (typeof v === "number" ? writeQuotedIso(out, at, v) : fail(type, v));
    default:
      return assertNever(type);
  }
}

export function valueWriterFor(type: ColumnType, nullable: boolean): ValueWriter {
  const base = baseWriter(type);
  return nullable ? (out, at, v) => (v === null ? writeBytes(out, at, NULL) : base(out, at, v)) : base;
}

/** The canonical value of a JSON value written by `valueWriterFor` (the inverse; for tests and tools). */
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
