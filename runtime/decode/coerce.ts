/**
 * Coercion of decoded values to a declared column type's canonical representation (see row.ts). The
 * coercers run once per field per event, so they return the value or an `Invalid` (allocated only on
 * failure) instead of throwing. Anything that ClickHouse would clamp, wrap or reject is refused here,
 * so an insert can never fail because of one event's data: the event goes to the dead-letter topic.
 */
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import { parseIsoTimestamp } from "../../contracts/events/iso-time.js";
import type { RowValue } from "./row.js";

export class Invalid {
  constructor(readonly message: string) {}
}

export type Coercer = (value: unknown) => RowValue | Invalid;

const DAY_MS = 86_400_000;
/** ClickHouse's ranges: Date is UInt16 days, DateTime UInt32 seconds, DateTime64(3) 1900..2299. */
const DATE_MAX_MS = 65_535 * DAY_MS;
const DATETIME_MAX_MS = 4_294_967_295_000;
const DATETIME64_MIN_MS = Date.UTC(1900, 0, 1);
const DATETIME64_MAX_MS = Date.UTC(2300, 0, 1) - 1;
/** The farthest a JavaScript Date reaches either side of the epoch; toISOString throws beyond. */
const DATE_LIMIT_MS = 8.64e15;

function describe(value: unknown): string {
  if (typeof value === "string")
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return `${typeof value} ${String(value)}`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

const integerText = /^[+-]?[0-9]+$/;
const floatText = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function toInteger(value: unknown, min: number, max: number, type: string): number | Invalid {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "bigint") n = Number(value);
  else if (typeof value === "string" && integerText.test(value)) n = Number(value);
  else return new Invalid(`expected an integer for ${type}, got ${describe(value)}`);
  if (!Number.isSafeInteger(n)) {
    return new Invalid(`expected a safe integer for ${type}, got ${describe(value)}`);
  }
  if (n < min || n > max) return new Invalid(`${n} is out of range for ${type} [${min}, ${max}]`);
  return n === 0 ? 0 : n;
}

function toFloat(value: unknown, type: string): number | Invalid {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "bigint") n = Number(value);
  else if (typeof value === "string" && floatText.test(value)) n = Number(value);
  else return new Invalid(`expected a number for ${type}, got ${describe(value)}`);
  if (!Number.isFinite(n)) return new Invalid(`expected a finite number for ${type}, got ${describe(value)}`);
  return n === 0 ? 0 : n; // -0 would not survive JSON
}

/** Epoch ms from an ISO string, epoch-ms number, Date, or protobuf Timestamp ({seconds, nanos}). */
function toEpochMs(value: unknown, type: string): number | Invalid {
  if (typeof value === "string") {
    const ms = parseIsoTimestamp(value);
    if (ms !== undefined) return ms;
    if (integerText.test(value)) {
      const n = Number(value);
      if (Number.isSafeInteger(n)) return n;
    }
    return new Invalid(
      `expected an ISO-8601 timestamp or epoch milliseconds for ${type}, got ${describe(value)}`,
    );
  }
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
    if (Number.isFinite(value)) return Math.floor(value);
    return new Invalid(`expected epoch milliseconds for ${type}, got ${describe(value)}`);
  }
  if (typeof value === "bigint") {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isFinite(ms)) return ms;
  }
  if (typeof value === "object" && value !== null && "seconds" in value) {
    const { seconds, nanos } = value as { seconds: unknown; nanos?: unknown };
    const s = typeof seconds === "string" || typeof seconds === "number" ? Number(seconds) : Number.NaN;
    const ns = typeof nanos === "number" ? nanos : 0;
    if (Number.isSafeInteger(s) && Number.isInteger(ns)) return s * 1000 + Math.floor(ns / 1_000_000);
  }
  return new Invalid(
    `expected an ISO-8601 timestamp or epoch milliseconds for ${type}, got ${describe(value)}`,
  );
}

function inRange(ms: number, min: number, max: number, type: string): number | Invalid {
  if (ms < min || ms > max) {
    return new Invalid(
      `${Math.abs(ms) <= DATE_LIMIT_MS ? new Date(ms).toISOString() : String(ms)} is out of range for ${type}`,
    );
  }
  return ms;
}

const uuidText = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** String.prototype.isWellFormed/toWellFormed (ES2024, in Node 20) are not in the ES2023 lib typings. */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * A lone surrogate cannot be written as UTF-8; ClickHouse would store U+FFFD and a rebuilt event would
 * differ from the original, so it is replaced here, once, for both.
 */
function wellFormed(text: string): string {
  const s = text as unknown as WellFormedString;
  return s.isWellFormed() ? text : s.toWellFormed();
}

function toText(value: unknown): string | Invalid {
  if (typeof value === "string") return wellFormed(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return new Invalid(`expected a string, got ${describe(value)}`);
}

function baseCoercer(type: ColumnType): Coercer {
  switch (type) {
    case "String":
    case "LowCardinality(String)":
      return toText;
    case "UUID":
      return (value) =>
        typeof value === "string" && uuidText.test(value)
          ? value.toLowerCase()
          : new Invalid(`expected a UUID, got ${describe(value)}`);
    case "Bool":
      return (value) => {
        if (typeof value === "boolean") return value;
        if (value === 1 || value === "1" || value === "true") return true;
        if (value === 0 || value === "0" || value === "false") return false;
        return new Invalid(`expected a boolean, got ${describe(value)}`);
      };
    case "Int32":
      return (value) => toInteger(value, -2_147_483_648, 2_147_483_647, type);
    case "UInt32":
      return (value) => toInteger(value, 0, 4_294_967_295, type);
    case "Int64":
      return (value) => toInteger(value, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, type);
    case "UInt64":
      return (value) => toInteger(value, 0, Number.MAX_SAFE_INTEGER, type);
    case "Float32":
      return (value) => {
        const n = toFloat(value, type);
        if (n instanceof Invalid) return n;
        const f = Math.fround(n);
        return Number.isFinite(f) ? f : new Invalid(`${n} overflows Float32`);
      };
    case "Float64":
      return (value) => toFloat(value, type);
    case "Date":
      return (value) => {
        const ms = toEpochMs(value, type);
        if (ms instanceof Invalid) return ms;
        return inRange(Math.floor(ms / DAY_MS) * DAY_MS, 0, DATE_MAX_MS, type);
      };
    case "DateTime":
      return (value) => {
        const ms = toEpochMs(value, type);
        if (ms instanceof Invalid) return ms;
        return inRange(Math.floor(ms / 1000) * 1000, 0, DATETIME_MAX_MS, type);
      };
    case "DateTime64(3)":
      return (value) => {
        const ms = toEpochMs(value, type);
        if (ms instanceof Invalid) return ms;
        return inRange(ms, DATETIME64_MIN_MS, DATETIME64_MAX_MS, type);
      };
    default:
      return assertNever(type);
  }
}

/**
 * The coercer of a declared field. Missing (undefined) and null values are null for a nullable field and
 * refused for the others.
 */
export function coercerFor(type: ColumnType, nullable: boolean): Coercer {
  const base = baseCoercer(type);
  if (nullable) return (value) => (value === undefined || value === null ? null : base(value));
  return (value) =>
    value === undefined || value === null ? new Invalid("is required but missing or null") : base(value);
}

function assertNever(value: never): never {
  throw new Error(`unexpected column type ${String(value)}`);
}
