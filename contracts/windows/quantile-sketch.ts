// DDSketch quantile sketch with relative-error guarantees, using @datadog/sketches-js for the index mapping.
//
// The library's logarithmic mapping (value ↔ bucket key, gamma = (1 + α) / (1 - α)) is used as is. Its DDSketch
// class is not, because partial states must merge exactly across workers and persist:
// - in 2.1.1 `DDSketch.merge` never merges the negative-value store (negative values of the other sketch are lost);
// - its dense store's bins array and offset depend on insertion history, so equal sketches do not serialize
//   equally, and `fromProto` drops min, max and sum.
// This module keeps the bins (key → count) per sign in a `Bins` store. Counts are integers, so add and merge are
// exact, commutative and associative, and the canonical encoding (ascending keys) is identical however the input
// was split and whatever form the store took in memory.
// The store is not collapsed (no bin limit): with α = 0.01 a sketch spanning 1e-9..1e9 has ~2,100 bins; every bin
// limit known to us makes merge results depend on the merge order.

import { DDSketch } from "@datadog/sketches-js";

export const DEFAULT_RELATIVE_ACCURACY = 0.01;

export class QuantileSketchError extends Error {
  readonly code:
    | "INVALID_ACCURACY"
    | "ACCURACY_MISMATCH"
    | "INVALID_VALUE"
    | "INVALID_QUANTILE"
    | "INVALID_ENCODING";

  constructor(code: QuantileSketchError["code"], message: string) {
    super(message);
    this.name = "QuantileSketchError";
    this.code = code;
  }
}

/** JSON-safe encoding; `pos`/`neg` are flattened [key, count, key, count, ...] in ascending key order. */
export interface QuantileSketchData {
  readonly alpha: number;
  readonly count: number;
  readonly zero: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly pos: readonly number[];
  readonly neg: readonly number[];
}

interface KeyMapping {
  readonly minPossible: number;
  key(value: number): number;
  value(key: number): number;
}

// One mapping per accuracy; the library's mapping is stateless once built.
const mappings = new Map<number, KeyMapping>();

function mappingFor(relativeAccuracy: number): KeyMapping {
  if (!(Number.isFinite(relativeAccuracy) && relativeAccuracy > 0 && relativeAccuracy < 1)) {
    throw new QuantileSketchError(
      "INVALID_ACCURACY",
      `relative accuracy must be in (0, 1), got ${relativeAccuracy}`,
    );
  }
  let mapping = mappings.get(relativeAccuracy);
  if (mapping === undefined) {
    mapping = new DDSketch({ relativeAccuracy }).mapping;
    mappings.set(relativeAccuracy, mapping);
  }
  return mapping;
}

export class QuantileSketch {
  readonly relativeAccuracy: number;
  private readonly mapping: KeyMapping;
  private readonly positive = new Bins();
  private readonly negative = new Bins();
  private zeroCount = 0;
  private total = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = Number.NEGATIVE_INFINITY;

  private constructor(relativeAccuracy: number) {
    this.mapping = mappingFor(relativeAccuracy);
    this.relativeAccuracy = relativeAccuracy;
  }

  static create(relativeAccuracy: number = DEFAULT_RELATIVE_ACCURACY): QuantileSketch {
    return new QuantileSketch(relativeAccuracy);
  }

  get count(): number {
    return this.total;
  }

  get min(): number | null {
    return this.total === 0 ? null : this.minValue;
  }

  get max(): number | null {
    return this.total === 0 ? null : this.maxValue;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) {
      throw new QuantileSketchError("INVALID_VALUE", `quantile sketch value ${value} is not a finite number`);
    }
    const { minPossible } = this.mapping;
    if (value > minPossible) this.positive.add(this.mapping.key(value), 1);
    else if (value < -minPossible) this.negative.add(this.mapping.key(-value), 1);
    else this.zeroCount++;
    this.total++;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  mergeFrom(other: QuantileSketch): void {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new QuantileSketchError(
        "ACCURACY_MISMATCH",
        `cannot merge a sketch with relative accuracy ${other.relativeAccuracy} into one with ${this.relativeAccuracy}`,
      );
    }
    this.positive.addAll(other.positive.sorted());
    this.negative.addAll(other.negative.sorted());
    this.zeroCount += other.zeroCount;
    this.total += other.total;
    this.minValue = Math.min(this.minValue, other.minValue);
    this.maxValue = Math.max(this.maxValue, other.maxValue);
  }

  clone(): QuantileSketch {
    const copy = new QuantileSketch(this.relativeAccuracy);
    copy.mergeFrom(this);
    return copy;
  }

  /**
   * The value at quantile q ∈ [0, 1] (null when empty), defined as ClickHouse's `quantile`/`quantiles` define it,
   * so a window and a rollup over the same values agree: the position q · (n − 1) in the sorted values,
   * interpolated linearly between the values of ranks k = ⌊q · (n − 1)⌋ and k + 1 (ReservoirSampler's
   * quantileInterpolated; ClickHouse keeps every value up to 8,192 per state, so its figure is exact there).
   * Ranks 0 and n − 1 are the exact min and max; every other rank is a bucket value within relative error α of
   * the true one, clamped to [min, max]. So with f = q · (n − 1) − k the result is within
   * α · ((1 − f) · |x₍ₖ₎| + f · |x₍ₖ₊₁₎|) of the exact interpolated quantile: relative error ≤ α when both
   * neighbours have the same sign, and exact for q = 0, q = 1 and n ≤ 2.
   */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1))
      throw new QuantileSketchError("INVALID_QUANTILE", `quantile ${q} is not in [0, 1]`);
    if (this.total === 0) return null;
    const index = q * (this.total - 1);
    const left = Math.floor(index);
    const right = left + 1;
    if (right >= this.total) return this.valueAtRank(left);
    // The same arithmetic as ClickHouse (left · (right − index) + right · (index − left)), so exact inputs give
    // the same double.
    return this.valueAtRank(left) * (right - index) + this.valueAtRank(right) * (index - left);
  }

  /** The value of 0-based integer rank r: exact at both ends, else the bucket value clamped to [min, max]. */
  private valueAtRank(rank: number): number {
    if (rank <= 0) return this.minValue;
    if (rank >= this.total - 1) return this.maxValue;
    const negativeCount = this.negative.total;
    let value: number;
    if (rank < negativeCount) {
      // Negative values are stored by magnitude: walk from the largest magnitude (most negative value) down.
      value = -this.mapping.value(keyAtRank(this.negative.sorted(), rank, true));
    } else if (rank < negativeCount + this.zeroCount) {
      value = 0;
    } else {
      value = this.mapping.value(
        keyAtRank(this.positive.sorted(), rank - negativeCount - this.zeroCount, false),
      );
    }
    return Math.min(this.maxValue, Math.max(this.minValue, value));
  }

  /** Canonical encoding: depends only on the multiset of bins, so equal sketches encode equally. */
  toData(): QuantileSketchData {
    return {
      alpha: this.relativeAccuracy,
      count: this.total,
      zero: this.zeroCount,
      min: this.min,
      max: this.max,
      pos: flatten(this.positive.sorted()),
      neg: flatten(this.negative.sorted()),
    };
  }

  static fromData(data: QuantileSketchData): QuantileSketch {
    const sketch = new QuantileSketch(data.alpha);
    const invalid = (reason: string): QuantileSketchError =>
      new QuantileSketchError("INVALID_ENCODING", `quantile sketch (alpha=${data.alpha}): ${reason}`);
    const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
    const load = (flat: readonly number[], into: Bins, sign: string): number => {
      if (flat.length % 2 !== 0) throw invalid(`${sign} bins have an odd length ${flat.length}`);
      let total = 0;
      let previous = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < flat.length; i += 2) {
        const key = flat[i] ?? Number.NaN;
        const count = flat[i + 1] ?? Number.NaN;
        if (!Number.isSafeInteger(key) || key <= previous)
          throw invalid(`${sign} bin key ${key} is not ascending`);
        if (!isCount(count) || count === 0) throw invalid(`${sign} bin ${key} has count ${count}`);
        into.add(key, count);
        previous = key;
        total += count;
      }
      return total;
    };
    if (!isCount(data.count) || !isCount(data.zero))
      throw invalid("count and zero must be non-negative integers");
    const binned = load(data.pos, sketch.positive, "positive") + load(data.neg, sketch.negative, "negative");
    if (binned + data.zero !== data.count) {
      throw invalid(`count ${data.count} != bins ${binned} + zeros ${data.zero}`);
    }
    if (data.count > 0) {
      if (
        data.min === null ||
        data.max === null ||
        !Number.isFinite(data.min) ||
        !Number.isFinite(data.max)
      ) {
        throw invalid("a non-empty sketch needs finite min and max");
      }
      if (data.min > data.max) throw invalid(`min ${data.min} > max ${data.max}`);
      sketch.minValue = data.min;
      sketch.maxValue = data.max;
    } else if (data.min !== null || data.max !== null) {
      throw invalid("an empty sketch has no min or max");
    }
    sketch.zeroCount = data.zero;
    sketch.total = data.count;
    return sketch;
  }
}

/** Non-empty bins in ascending key order: `keys[i]` holds `counts[i]` (> 0) values. */
interface SortedBins {
  readonly keys: readonly number[];
  readonly counts: readonly number[];
}

/** Widest key range kept dense (4 to 8 bytes a key): a few values 1e-300 and 1e300 apart must not cost 300 kB. */
const MAX_DENSE_SPAN = 4096;
/** Beyond it (α below ~1e-14) keys are not exact enough to be offsets from one another. */
const MAX_DENSE_KEY = 2 ** 52;
/** Keys allocated beyond a first key, and the least a dense store grows by (it grows by its length otherwise). */
const GROW_SLACK = 8;

/**
 * The bins of one sign: dense (a count per key from `offset`) while the keys span at most MAX_DENSE_SPAN, so an add
 * is an array increment where a Map costs a hash lookup and an insertion; a Map beyond that. The form is invisible
 * outside: reads go through `sorted()`, which depends only on the (key, count) multiset.
 */
class Bins {
  /** Sum of the counts. */
  total = 0;
  private counts: number[] = [];
  private offset = 0;
  private sparse: Map<number, number> | undefined;
  /** Cached between changes: a window emission reads the bins once per quantile and once to serialize. */
  private ascending: SortedBins | undefined;

  add(key: number, by: number): void {
    this.total += by;
    this.ascending = undefined;
    const i = key - this.offset;
    const counts = this.counts;
    if (i >= 0 && i < counts.length) counts[i] = (counts[i] ?? 0) + by;
    else this.addOutside(key, by);
  }

  addAll(bins: SortedBins): void {
    for (let i = 0; i < bins.keys.length; i++) this.add(bins.keys[i] ?? 0, bins.counts[i] ?? 0);
  }

  private addOutside(key: number, by: number): void {
    const sparse = this.sparse;
    if (sparse !== undefined) {
      sparse.set(key, (sparse.get(key) ?? 0) + by);
      return;
    }
    const length = this.counts.length;
    const low = length === 0 ? key : Math.min(this.offset, key);
    const high = length === 0 ? key : Math.max(this.offset + length - 1, key);
    if (high - low >= MAX_DENSE_SPAN || Math.abs(key) > MAX_DENSE_KEY) {
      const map = new Map<number, number>();
      for (let i = 0; i < length; i++) {
        const count = this.counts[i] ?? 0;
        if (count !== 0) map.set(this.offset + i, count);
      }
      map.set(key, (map.get(key) ?? 0) + by);
      this.sparse = map;
      this.counts = [];
      return;
    }
    const grow = Math.max(GROW_SLACK, length);
    // Room on the side that grew, within the span limit (low ≤ key ≤ high already fit).
    const from = key === low ? Math.max(low - grow, high - MAX_DENSE_SPAN + 1) : low;
    const to = key === high ? Math.min(high + grow, from + MAX_DENSE_SPAN - 1) : high;
    const counts = new Array<number>(to - from + 1).fill(0);
    const shift = length === 0 ? 0 : this.offset - from;
    for (let i = 0; i < length; i++) counts[shift + i] = this.counts[i] ?? 0;
    counts[key - from] = by;
    this.counts = counts;
    this.offset = from;
  }

  sorted(): SortedBins {
    this.ascending ??= this.sparse === undefined ? this.sortedDense() : sortedSparse(this.sparse);
    return this.ascending;
  }

  private sortedDense(): SortedBins {
    const counts = this.counts;
    const keys: number[] = [];
    const nonEmpty: number[] = [];
    for (let i = 0; i < counts.length; i++) {
      const count = counts[i] ?? 0;
      if (count === 0) continue;
      keys.push(this.offset + i);
      nonEmpty.push(count);
    }
    return { keys, counts: nonEmpty };
  }
}

/** A Map's bins in ascending key order (a typed array sorts numerically; filled by a loop, which allocates nothing per key). */
function sortedSparse(bins: ReadonlyMap<number, number>): SortedBins {
  const keys = new Float64Array(bins.size);
  let i = 0;
  for (const key of bins.keys()) keys[i++] = key;
  keys.sort();
  const counts = new Array<number>(keys.length);
  for (let j = 0; j < keys.length; j++) counts[j] = bins.get(keys[j] ?? 0) ?? 0;
  return { keys: Array.from(keys), counts };
}

/** [key, count, key, count, ...] in ascending key order. */
function flatten(bins: SortedBins): number[] {
  const flat = new Array<number>(bins.keys.length * 2);
  for (let i = 0; i < bins.keys.length; i++) {
    flat[2 * i] = bins.keys[i] ?? 0;
    flat[2 * i + 1] = bins.counts[i] ?? 0;
  }
  return flat;
}

/**
 * The key of the bucket holding the value of the given (0-based) rank, walking the keys in
 * ascending order, or descending when `descending`.
 */
function keyAtRank(bins: SortedBins, rank: number, descending: boolean): number {
  const { keys, counts } = bins;
  if (keys.length === 0) throw new RangeError("keyAtRank on an empty store");
  let running = 0;
  for (let i = 0; i < keys.length; i++) {
    const j = descending ? keys.length - 1 - i : i;
    running += counts[j] ?? 0;
    if (running > rank) return keys[j] ?? 0;
  }
  return keys[descending ? 0 : keys.length - 1] ?? 0;
}
