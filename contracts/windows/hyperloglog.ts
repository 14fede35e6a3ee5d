// HyperLogLog distinct counter with 2^p one-byte registers, a sparse form for small sets, and Ertl's improved
// estimator.
//
// Why not bloom-filters' HyperLogLog: it stores a register off by one (the position of the first 1-bit instead of
// its rank, so "no value" and "rank 1" collide), hashes through a 64-bit binary *string* per value, and has no
// serialization of its own. Here:
// - the hash is MurmurHash3 x86_128 (first 64 bits), stable across processes, so registers from different workers
//   merge by element-wise max, which is commutative, associative and idempotent;
// - the estimator is Ertl 2017 ("New cardinality estimation algorithms for HyperLogLog sketches", the improved
//   raw estimator), which needs no empirical bias tables and is accurate from 0 to far beyond 2^32;
// - a window with few distinct values keeps a Map of the non-zero registers instead of 2^p bytes, because most
//   (window, group) cells in a live pipeline see few distinct values.

import { type Hash64, hash64 } from "./murmur3.js";

/** `add`'s hash, reused. */
const addScratch: Hash64 = { hi: 0, lo: 0 };

export const DEFAULT_HLL_PRECISION = 14; // 16384 registers, standard error 1.04 / sqrt(16384) ≈ 0.81 %
const MIN_HLL_PRECISION = 4;
const MAX_HLL_PRECISION = 16; // register indexes fit in two bytes in the sparse encoding

export class HyperLogLogError extends Error {
  readonly code: "INVALID_PRECISION" | "PRECISION_MISMATCH" | "INVALID_ENCODING";

  constructor(code: HyperLogLogError["code"], message: string) {
    super(message);
    this.name = "HyperLogLogError";
    this.code = code;
  }
}

/** Serialized form: precision plus either sparse (index u16 BE, rank u8) triples or all registers, base64. */
export type HyperLogLogData =
  | { readonly p: number; readonly sparse: string }
  | { readonly p: number; readonly dense: string };

const ALPHA_INF = 0.5 / Math.LN2;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function checkPrecision(precision: number): void {
  if (!(Number.isInteger(precision) && precision >= MIN_HLL_PRECISION && precision <= MAX_HLL_PRECISION)) {
    throw new HyperLogLogError(
      "INVALID_PRECISION",
      `HyperLogLog precision must be an integer in [${MIN_HLL_PRECISION}, ${MAX_HLL_PRECISION}], got ${precision}`,
    );
  }
}

export class HyperLogLog {
  readonly precision: number;
  private readonly registerCount: number;
  /** Non-zero registers while there are few of them; undefined once dense. */
  private sparse: Map<number, number> | undefined;
  private dense: Uint8Array | undefined;

  private constructor(precision: number) {
    checkPrecision(precision);
    this.precision = precision;
    this.registerCount = 1 << precision;
    this.sparse = new Map();
  }

  static create(precision: number = DEFAULT_HLL_PRECISION): HyperLogLog {
    return new HyperLogLog(precision);
  }

  /** Largest register value: 64 - p hash bits remain for the rank, plus one. */
  get maxRank(): number {
    return 65 - this.precision;
  }

  /** Sparse form is kept while it is smaller than the dense array (a Map entry costs tens of bytes). */
  private get sparseLimit(): number {
    return this.registerCount >>> 5;
  }

  /** Adds a value given as its canonical string (callers tag the type, so 1 and "1" differ). */
  add(key: string): void {
    hash64(key, addScratch);
    this.addHash(addScratch.hi, addScratch.lo);
  }

  /** Adds a 64-bit hash given as two unsigned 32-bit halves: the top p bits pick the register. */
  addHash(hi: number, lo: number): void {
    const p = this.precision;
    const index = hi >>> (32 - p);
    const rest = (hi << p) >>> 0; // the remaining 32 - p bits of the high word, left-aligned
    let rank: number;
    if (rest !== 0) rank = Math.clz32(rest) + 1;
    else if (lo !== 0) rank = 32 - p + Math.clz32(lo) + 1;
    else rank = this.maxRank;
    this.raise(index, rank);
  }

  private raise(index: number, rank: number): void {
    if (this.dense !== undefined) {
      if (rank > (this.dense[index] ?? 0)) this.dense[index] = rank;
      return;
    }
    const sparse = this.sparseOrEmpty();
    if (rank > (sparse.get(index) ?? 0)) {
      sparse.set(index, rank);
      if (sparse.size > this.sparseLimit) this.densify();
    }
  }

  private sparseOrEmpty(): Map<number, number> {
    if (this.sparse === undefined) this.sparse = new Map();
    return this.sparse;
  }

  private densify(): void {
    const dense = new Uint8Array(this.registerCount);
    for (const [index, rank] of this.sparse ?? []) dense[index] = rank;
    this.dense = dense;
    this.sparse = undefined;
  }

  clone(): HyperLogLog {
    const copy = new HyperLogLog(this.precision);
    if (this.dense !== undefined) {
      copy.dense = this.dense.slice();
      copy.sparse = undefined;
    } else {
      copy.sparse = new Map(this.sparse);
    }
    return copy;
  }

  /** Union in place: register-wise max. */
  mergeFrom(other: HyperLogLog): void {
    if (other.precision !== this.precision) {
      throw new HyperLogLogError(
        "PRECISION_MISMATCH",
        `cannot merge HyperLogLog with precision ${other.precision} into one with precision ${this.precision}`,
      );
    }
    if (other.dense !== undefined) {
      if (this.dense === undefined) this.densify();
      const mine = this.dense ?? new Uint8Array(this.registerCount);
      const theirs = other.dense;
      for (let i = 0; i < mine.length; i++) {
        const rank = theirs[i] ?? 0;
        if (rank > (mine[i] ?? 0)) mine[i] = rank;
      }
      return;
    }
    for (const [index, rank] of other.sparse ?? []) this.raise(index, rank);
  }

  /** All 2^p registers (a copy), for comparisons and tests. */
  registers(): Uint8Array {
    if (this.dense !== undefined) return this.dense.slice();
    const out = new Uint8Array(this.registerCount);
    for (const [index, rank] of this.sparse ?? []) out[index] = rank;
    return out;
  }

  /** Estimated number of distinct values (not rounded). */
  estimate(): number {
    const q = 64 - this.precision;
    const m = this.registerCount;
    const histogram = new Array<number>(q + 2).fill(0);
    if (this.dense !== undefined) {
      for (const rank of this.dense) histogram[rank] = (histogram[rank] ?? 0) + 1;
    } else {
      const sparse = this.sparse ?? new Map<number, number>();
      histogram[0] = m - sparse.size;
      for (const rank of sparse.values()) histogram[rank] = (histogram[rank] ?? 0) + 1;
    }
    let z = m * tau(1 - (histogram[q + 1] ?? 0) / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + (histogram[k] ?? 0));
    z += m * sigma((histogram[0] ?? 0) / m);
    return (ALPHA_INF * m * m) / z;
  }

  /**
   * Canonical encoding: it depends only on the register values (never on whether the in-memory form is sparse or
   * dense, or on insertion order), so equal sketches serialize to equal strings.
   */
  toData(): HyperLogLogData {
    // Windows serialize on every emission, so avoid materializing 2^p registers for a sparse sketch.
    let entries: [number, number][];
    if (this.dense === undefined) {
      entries = [...(this.sparse ?? [])].sort((a, b) => a[0] - b[0]);
    } else {
      entries = [];
      const dense = this.dense;
      for (let index = 0; index < dense.length; index++) {
        const rank = dense[index] ?? 0;
        if (rank !== 0) entries.push([index, rank]);
      }
      if (entries.length * 3 >= dense.length)
        return { p: this.precision, dense: Buffer.from(dense).toString("base64") };
    }
    const bytes = new Uint8Array(entries.length * 3);
    entries.forEach(([index, rank], i) => {
      bytes[i * 3] = index >>> 8;
      bytes[i * 3 + 1] = index & 0xff;
      bytes[i * 3 + 2] = rank;
    });
    return { p: this.precision, sparse: Buffer.from(bytes).toString("base64") };
  }

  static fromData(data: HyperLogLogData): HyperLogLog {
    const hll = new HyperLogLog(data.p);
    const invalid = (reason: string): HyperLogLogError =>
      new HyperLogLogError("INVALID_ENCODING", `HyperLogLog (p=${data.p}): ${reason}`);
    const decode = (text: string): Uint8Array => {
      if (!BASE64.test(text) || text.length % 4 !== 0) throw invalid("registers are not canonical base64");
      return new Uint8Array(Buffer.from(text, "base64"));
    };
    if ("dense" in data) {
      const bytes = decode(data.dense);
      if (bytes.length !== hll.registerCount) {
        throw invalid(`dense form has ${bytes.length} registers, expected ${hll.registerCount}`);
      }
      for (const rank of bytes)
        if (rank > hll.maxRank) throw invalid(`register value ${rank} > ${hll.maxRank}`);
      hll.dense = bytes;
      hll.sparse = undefined;
      return hll;
    }
    const bytes = decode(data.sparse);
    if (bytes.length % 3 !== 0) throw invalid(`sparse form has ${bytes.length} bytes, not a multiple of 3`);
    let previous = -1;
    for (let offset = 0; offset < bytes.length; offset += 3) {
      const index = ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
      const rank = bytes[offset + 2] ?? 0;
      if (index <= previous || index >= hll.registerCount)
        throw invalid(`sparse index ${index} out of order or range`);
      if (rank === 0 || rank > hll.maxRank) throw invalid(`register ${index} has value ${rank}`);
      previous = index;
      hll.raise(index, rank);
    }
    return hll;
  }
}

/** Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1), the linear-counting-like correction for empty registers. */
function sigma(input: number): number {
  if (input === 1) return Number.POSITIVE_INFINITY;
  let x = input;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

/** Ertl's τ(x), the correction for saturated registers (value q + 1). */
function tau(input: number): number {
  if (input === 0 || input === 1) return 0;
  let x = input;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}
