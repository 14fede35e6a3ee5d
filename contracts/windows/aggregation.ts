// Mergeable partial aggregate states for window aggregations.
//
// A state summarises the events one worker saw for one (window, group, aggregation). States from different
// workers and partitions merge into the state of the union of their events, whatever the split: merge is
// commutative and associative, and for every function the result is identical (not just close) to a single
// worker's — sums are exact (see exact-sum.ts), HyperLogLog registers merge by max, DDSketch bins by addition.
//
// States serialize to a compact JSON string (versioned, tagged with the function) so they can be stored in Redis
// or a ClickHouse String column and merged later by another process. Serialization is canonical: equal states
// give equal strings.

import { ExactSum } from "./exact-sum.js";
import { DEFAULT_HLL_PRECISION, HyperLogLog, type HyperLogLogData } from "./hyperloglog.js";
import { hash64 } from "./murmur3.js";
import { DEFAULT_RELATIVE_ACCURACY, QuantileSketch, type QuantileSketchData } from "./quantile-sketch.js";
import {
  AGGREGATION_FNS,
  type AggregationFn,
  type AggregationSpec,
  aggregationName,
  assertNever,
  quantileLabel,
} from "./window-spec.js";

/** Serialization format version; bump on any incompatible change and keep reading the old one. */
const STATE_FORMAT_VERSION = 1;

interface CountState {
  readonly fn: "count";
  n: number;
}
interface SumState {
  readonly fn: "sum";
  readonly sum: ExactSum;
}
interface AvgState {
  readonly fn: "avg";
  readonly sum: ExactSum;
  n: number;
}
interface MinState {
  readonly fn: "min";
  value: number | null;
}
interface MaxState {
  readonly fn: "max";
  value: number | null;
}
interface UniqState {
  readonly fn: "uniq";
  readonly hll: HyperLogLog;
}
interface QuantilesState {
  readonly fn: "quantiles";
  readonly sketch: QuantileSketch;
}

export type AggregationState =
  | CountState
  | SumState
  | AvgState
  | MinState
  | MaxState
  | UniqState
  | QuantilesState;

export class AggregationError extends Error {
  readonly code: "INVALID_VALUE" | "STATE_MISMATCH" | "INVALID_STATE";
  /** The aggregation function involved, when known. */
  readonly fn: AggregationFn | undefined;

  constructor(
    code: AggregationError["code"],
    fn: AggregationFn | undefined,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "AggregationError";
    this.code = code;
    this.fn = fn;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// create / add
// ---------------------------------------------------------------------------------------------------------------

export function createState(spec: AggregationSpec): AggregationState {
  switch (spec.fn) {
    case "count":
      return { fn: "count", n: 0 };
    case "sum":
      return { fn: "sum", sum: ExactSum.zero() };
    case "avg":
      return { fn: "avg", sum: ExactSum.zero(), n: 0 };
    case "min":
      return { fn: "min", value: null };
    case "max":
      return { fn: "max", value: null };
    case "uniq":
      return { fn: "uniq", hll: HyperLogLog.create(DEFAULT_HLL_PRECISION) };
    case "quantiles":
      return { fn: "quantiles", sketch: QuantileSketch.create(DEFAULT_RELATIVE_ACCURACY) };
    default:
      return assertNever(spec);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === "string")
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number") return `number ${value}`;
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Why `value` cannot be added to an aggregation of function `fn`, or undefined when it can. Missing values
 * (undefined or null) are acceptable and ignored, as SQL aggregates ignore NULL; `count` counts events, not values.
 * Numbers must be finite; strings are not parsed (decoding and schema validation happen before windows).
 */
export function checkValue(fn: AggregationFn, value: unknown): string | undefined {
  if (fn === "count" || value === undefined || value === null) return undefined;
  if (fn === "uniq") {
    if (typeof value === "string" || typeof value === "boolean") return undefined;
    if (typeof value === "number" && Number.isFinite(value)) return undefined;
    return `uniq needs a string, finite number or boolean, got ${describeValue(value)}`;
  }
  if (typeof value === "number" && Number.isFinite(value)) return undefined;
  return `${fn} needs a finite number, got ${describeValue(value)}`;
}

/**
 * The string the HyperLogLog hashes: tagged by type so that 1 and "1" are different values, with numbers in
 * JavaScript's shortest round-trip form (so 1 and 1.0 are the same value, and -0 is 0).
 */
export function uniqKey(value: string | number | boolean): string {
  if (typeof value === "string") return `s:${value}`;
  if (typeof value === "number") return `n:${String(value)}`;
  return value ? "b:1" : "b:0";
}

/**
 * One event's value for one aggregation, prepared once (hashed for uniq) and then added to every window the event
 * updates. Mutable: the window operator reuses one per aggregation across events.
 */
export interface PreparedValue {
  /** False for a missing value (undefined or null), which only `count` counts. */
  present: boolean;
  /** The number, for sum, avg, min, max and quantiles (-0 already turned into 0). */
  x: number;
  /** uniq: the two halves of the value's 64-bit hash. */
  hi: number;
  lo: number;
}

export function emptyPreparedValue(): PreparedValue {
  return { present: false, x: 0, hi: 0, lo: 0 };
}

/** Fills `into` from a value that `checkValue(fn, value)` accepted. */
export function prepareValue(fn: AggregationFn, value: unknown, into: PreparedValue): void {
  into.present = false;
  if (fn === "count" || value === undefined || value === null) return;
  if (fn === "uniq") {
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return;
    hash64(uniqKey(value), into);
    into.present = true;
    return;
  }
  if (typeof value !== "number") return;
  into.x = value === 0 ? 0 : value; // -0 → 0: JSON cannot carry -0, and min(0, -0) must not depend on order
  into.present = true;
}

/** Adds a prepared value to the state in place. */
export function addPrepared(state: AggregationState, value: PreparedValue): void {
  if (state.fn === "count") {
    state.n++;
    return;
  }
  if (!value.present) return;
  const x = value.x;
  switch (state.fn) {
    case "uniq":
      state.hll.addHash(value.hi, value.lo);
      return;
    case "sum":
      state.sum.add(x);
      return;
    case "avg":
      state.sum.add(x);
      state.n++;
      return;
    case "min":
      if (state.value === null || x < state.value) state.value = x;
      return;
    case "max":
      if (state.value === null || x > state.value) state.value = x;
      return;
    case "quantiles":
      state.sketch.add(x);
      return;
    default:
      assertNever(state);
  }
}

/** Adds one event's value to the state in place. Throws AggregationError for a value `checkValue` rejects. */
export function addValue(state: AggregationState, value: unknown): void {
  const problem = checkValue(state.fn, value);
  if (problem !== undefined) throw new AggregationError("INVALID_VALUE", state.fn, problem);
  const prepared = emptyPreparedValue();
  prepareValue(state.fn, value, prepared);
  addPrepared(state, prepared);
}

// ---------------------------------------------------------------------------------------------------------------
// merge
// ---------------------------------------------------------------------------------------------------------------

function mismatch(a: AggregationState, b: AggregationState): AggregationError {
  return new AggregationError("STATE_MISMATCH", a.fn, `cannot merge a ${b.fn} state into a ${a.fn} state`);
}

/** The state of the union of both inputs' events. Pure: neither input is modified. */
export function mergeStates(a: AggregationState, b: AggregationState): AggregationState {
  switch (a.fn) {
    case "count":
      if (b.fn !== "count") throw mismatch(a, b);
      return { fn: "count", n: a.n + b.n };
    case "sum": {
      if (b.fn !== "sum") throw mismatch(a, b);
      const sum = a.sum.clone();
      sum.addSum(b.sum);
      return { fn: "sum", sum };
    }
    case "avg": {
      if (b.fn !== "avg") throw mismatch(a, b);
      const sum = a.sum.clone();
      sum.addSum(b.sum);
      return { fn: "avg", sum, n: a.n + b.n };
    }
    case "min":
      if (b.fn !== "min") throw mismatch(a, b);
      return {
        fn: "min",
        value: a.value === null ? b.value : b.value === null ? a.value : Math.min(a.value, b.value),
      };
    case "max":
      if (b.fn !== "max") throw mismatch(a, b);
      return {
        fn: "max",
        value: a.value === null ? b.value : b.value === null ? a.value : Math.max(a.value, b.value),
      };
    case "uniq": {
      if (b.fn !== "uniq") throw mismatch(a, b);
      const hll = a.hll.clone();
      wrap("uniq", () => hll.mergeFrom(b.hll));
      return { fn: "uniq", hll };
    }
    case "quantiles": {
      if (b.fn !== "quantiles") throw mismatch(a, b);
      const sketch = a.sketch.clone();
      wrap("quantiles", () => sketch.mergeFrom(b.sketch));
      return { fn: "quantiles", sketch };
    }
    default:
      return assertNever(a);
  }
}

function wrap<T>(fn: AggregationFn, action: () => T): T {
  try {
    return action();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new AggregationError("STATE_MISMATCH", fn, `${fn}: ${message}`, error);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// results
// ---------------------------------------------------------------------------------------------------------------

/** JSON has no Infinity/NaN: a sum that overflowed the double range is reported as null. */
function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * The final number of a scalar state: count, sum (0 when empty), avg/min/max (null when empty), uniq (estimate
 * rounded to an integer). For quantiles use `quantileResult`.
 */
function scalarResult(state: Exclude<AggregationState, QuantilesState>): number | null {
  switch (state.fn) {
    case "count":
      return state.n;
    case "sum":
      return finiteOrNull(state.sum.value());
    case "avg":
      return state.n === 0 ? null : finiteOrNull(state.sum.value() / state.n);
    case "min":
    case "max":
      return state.value;
    case "uniq":
      return Math.round(state.hll.estimate());
    default:
      return assertNever(state);
  }
}

function quantileResult(state: QuantilesState, q: number): number | null {
  return state.sketch.quantile(q);
}

/**
 * The named result columns of one aggregation, e.g. { count: 3 } or { latency_p50: 12.1, latency_p99: 80.4 }.
 * Names follow `resultNames` in window-spec.ts.
 */
export function resultsFor(spec: AggregationSpec, state: AggregationState): Record<string, number | null> {
  const name = aggregationName(spec);
  const mismatchError = (): AggregationError =>
    new AggregationError(
      "STATE_MISMATCH",
      spec.fn,
      `aggregation "${name}" is ${spec.fn} but its state is ${state.fn}`,
    );
  if (state.fn === "quantiles") {
    if (spec.fn !== "quantiles") throw mismatchError();
    const out: Record<string, number | null> = {};
    for (const q of spec.quantiles) out[`${name}_${quantileLabel(q)}`] = quantileResult(state, q);
    return out;
  }
  if (state.fn !== spec.fn) throw mismatchError();
  return { [name]: scalarResult(state) };
}

// ---------------------------------------------------------------------------------------------------------------
// serialize / deserialize
// ---------------------------------------------------------------------------------------------------------------

/** Non-finite numbers (an overflowed sum) travel as strings, since JSON has no Infinity/NaN. */
function encodeSpecial(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

/** Compact, canonical JSON: equal states produce equal strings. */
export function serializeState(state: AggregationState): string {
  const v = STATE_FORMAT_VERSION;
  switch (state.fn) {
    case "count":
      return JSON.stringify({ v, fn: "count", n: state.n });
    case "sum":
    case "avg": {
      const terms = state.sum.canonicalTerms();
      const overflow = state.sum.overflowed ? { o: encodeSpecial(state.sum.overflowValue) } : {};
      return JSON.stringify(
        state.fn === "sum"
          ? { v, fn: "sum", s: terms, ...overflow }
          : { v, fn: "avg", n: state.n, s: terms, ...overflow },
      );
    }
    case "min":
    case "max":
      return JSON.stringify({ v, fn: state.fn, x: state.value });
    case "uniq":
      return JSON.stringify({ v, fn: "uniq", ...state.hll.toData() });
    case "quantiles":
      return JSON.stringify({ v, fn: "quantiles", ...state.sketch.toData() });
    default:
      return assertNever(state);
  }
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isAggregationFn(value: unknown): value is AggregationFn {
  return typeof value === "string" && (AGGREGATION_FNS as readonly string[]).includes(value);
}

function isFiniteNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((x) => typeof x === "number" && Number.isFinite(x));
}

/**
 * Parses a serialized state, validating everything (it may come from another process or an older release).
 * With `expected`, also checks the function, so a state stored under the wrong column is caught here.
 */
export function deserializeState(text: string, expected?: AggregationFn): AggregationState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AggregationError("INVALID_STATE", expected, "serialized state is not JSON", error);
  }
  if (!isRecord(parsed))
    throw new AggregationError("INVALID_STATE", expected, "serialized state is not an object");
  const fn = parsed.fn;
  if (!isAggregationFn(fn))
    throw new AggregationError("INVALID_STATE", expected, `unknown state function ${String(fn)}`);
  if (expected !== undefined && fn !== expected) {
    throw new AggregationError("STATE_MISMATCH", expected, `expected a ${expected} state, got ${fn}`);
  }
  const invalid = (reason: string, cause?: unknown): AggregationError =>
    new AggregationError("INVALID_STATE", fn, `${fn} state: ${reason}`, cause);
  if (parsed.v !== STATE_FORMAT_VERSION) throw invalid(`unsupported format version ${String(parsed.v)}`);

  const count = (key: string): number => {
    const n = parsed[key];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw invalid(`"${key}" is not a count`);
    return n;
  };
  const exactSum = (): ExactSum => {
    const terms = parsed.s;
    if (!isFiniteNumberArray(terms)) throw invalid(`"s" is not an array of finite numbers`);
    const o = parsed.o;
    let overflow = 0;
    if (o !== undefined) {
      if (o !== "Infinity" && o !== "-Infinity" && o !== "NaN") throw invalid(`"o" is ${String(o)}`);
      overflow = Number(o);
    }
    return ExactSum.of(terms, overflow);
  };
  const extreme = (): number | null => {
    const x = parsed.x;
    if (x === null) return null;
    if (typeof x !== "number" || !Number.isFinite(x)) throw invalid(`"x" is not a finite number or null`);
    return x;
  };

  switch (fn) {
    case "count":
      return { fn, n: count("n") };
    case "sum":
      return { fn, sum: exactSum() };
    case "avg":
      return { fn, sum: exactSum(), n: count("n") };
    case "min":
    case "max":
      return fn === "min" ? { fn, value: extreme() } : { fn, value: extreme() };
    case "uniq": {
      const p = parsed.p;
      const sparse = parsed.sparse;
      const dense = parsed.dense;
      if (typeof p !== "number") throw invalid(`"p" is not a number`);
      let data: HyperLogLogData;
      if (typeof sparse === "string" && dense === undefined) data = { p, sparse };
      else if (typeof dense === "string" && sparse === undefined) data = { p, dense };
      else throw invalid(`needs exactly one of "sparse" and "dense"`);
      try {
        return { fn, hll: HyperLogLog.fromData(data) };
      } catch (error) {
        throw invalid(error instanceof Error ? error.message : String(error), error);
      }
    }
    case "quantiles": {
      const { alpha, count: total, zero, min, max, pos, neg } = parsed;
      const nullableNumber = (x: unknown): x is number | null => x === null || typeof x === "number";
      if (
        typeof alpha !== "number" ||
        typeof total !== "number" ||
        typeof zero !== "number" ||
        !nullableNumber(min) ||
        !nullableNumber(max) ||
        !isFiniteNumberArray(pos) ||
        !isFiniteNumberArray(neg)
      ) {
        throw invalid("fields alpha, count, zero, min, max, pos, neg are missing or mistyped");
      }
      const data: QuantileSketchData = { alpha, count: total, zero, min, max, pos, neg };
      try {
        return { fn, sketch: QuantileSketch.fromData(data) };
      } catch (error) {
        throw invalid(error instanceof Error ? error.message : String(error), error);
      }
    }
    default:
      return assertNever(fn);
  }
}

/** A deep copy (used when a state must outlive further in-place adds to the original). */
export function cloneState(state: AggregationState): AggregationState {
  switch (state.fn) {
    case "count":
      return { fn: "count", n: state.n };
    case "sum":
      return { fn: "sum", sum: state.sum.clone() };
    case "avg":
      return { fn: "avg", sum: state.sum.clone(), n: state.n };
    case "min":
      return { fn: "min", value: state.value };
    case "max":
      return { fn: "max", value: state.value };
    case "uniq":
      return { fn: "uniq", hll: state.hll.clone() };
    case "quantiles":
      return { fn: "quantiles", sketch: state.sketch.clone() };
    default:
      return assertNever(state);
  }
}
