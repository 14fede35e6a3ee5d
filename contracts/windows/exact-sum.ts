// Exact floating-point summation (Shewchuk's non-overlapping partials, as in Python's math.fsum).
//
// A plain `a + b` accumulator gives results that depend on the order of the additions, so a sum computed by one
// worker would differ in the last bits from the same sum split across three workers and merged. Keeping the exact
// sum as a short list of non-overlapping doubles makes add and merge exact, hence commutative and associative, and
// `value()` the correctly rounded sum — identical however the events were split or ordered.

export class ExactSum {
  /** Non-overlapping, increasing magnitude; their exact sum is the running total. */
  private partials: number[];
  /**
   * ±Infinity (or NaN) once an intermediate result overflowed the double range; the total is then reported as that
   * value. Only reachable when partial totals pass ~1.8e308, and only in that corner can the outcome depend on the
   * order of additions (1e308 + 1e308 - 1e308 overflows, 1e308 - 1e308 + 1e308 does not).
   */
  private overflow: number;

  private constructor(partials: number[], overflow: number) {
    this.partials = partials;
    this.overflow = overflow;
  }

  static zero(): ExactSum {
    return new ExactSum([], 0);
  }

  /** Rebuilds a sum from any finite terms (e.g. a deserialized expansion); invariants are re-established. */
  static of(terms: readonly number[], overflow = 0): ExactSum {
    const sum = new ExactSum([], overflow);
    for (const term of terms) sum.add(term);
    return sum;
  }

  clone(): ExactSum {
    return new ExactSum([...this.partials], this.overflow);
  }

  get overflowed(): boolean {
    return this.overflow !== 0;
  }

  get overflowValue(): number {
    return this.overflow;
  }

  add(x: number): void {
    if (!Number.isFinite(x)) throw new RangeError(`ExactSum.add: ${x} is not a finite number`);
    // The partials below the largest one add up to less than one ulp of it, so every intermediate is bounded by
    // |x| + 2|largest|. Well below the double range that bound means no overflow, and we can update in place. (Only
    // the top partial can be 0, after an exact cancellation; then the one below it is the largest.)
    const n = this.partials.length;
    const largest = Math.max(Math.abs(this.partials[n - 1] ?? 0), Math.abs(this.partials[n - 2] ?? 0));
    if (Math.abs(x) + 2 * largest < 1e308) {
      growExpansion(this.partials, x);
      return;
    }
    const candidate = [...this.partials];
    const overflowed = growExpansion(candidate, x);
    if (overflowed === undefined) this.partials = candidate;
    else this.overflow += overflowed;
  }

  /** Adds another sum exactly. */
  addSum(other: ExactSum): void {
    this.overflow += other.overflow;
    for (const term of other.partials) this.add(term);
  }

  /** The correctly rounded (half-even) value of the exact sum. */
  value(): number {
    if (this.overflow !== 0) return this.overflow;
    return roundPartials(this.partials);
  }

  /**
   * A canonical expansion of the exact sum: v1 = round(S), v2 = round(S - v1), ... until the rest is zero.
   * It depends only on the exact value, not on how it was accumulated, so two workers' serialized states compare
   * equal when their totals are equal.
   */
  canonicalTerms(): number[] {
    const terms: number[] = [];
    const work = this.clone();
    work.overflow = 0;
    // Each round removes the leading ~53 bits of the rest; doubles span ~2100 bits, so this terminates well
    // within the bound.
    for (let round = 0; round < 64; round++) {
      const head = roundPartials(work.partials);
      if (head === 0) return terms;
      if (!Number.isFinite(head)) break;
      terms.push(head);
      work.add(-head);
    }
    // Unreachable for finite sums; fall back to the raw partials (still exact, just not canonical).
    return [...this.partials].reverse();
  }
}

/**
 * Adds x to the expansion in place (Shewchuk's grow-expansion, CPython's msum). Returns the non-finite
 * intermediate if one overflowed (the array is then partially rewritten and must be discarded).
 */
function growExpansion(partials: number[], x: number): number | undefined {
  let i = 0;
  let value = x;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j] ?? 0;
    if (Math.abs(value) < Math.abs(y)) {
      const t = value;
      value = y;
      y = t;
    }
    const hi = value + y;
    if (!Number.isFinite(hi)) return hi;
    const lo = y - (hi - value);
    if (lo !== 0) partials[i++] = lo;
    value = hi;
  }
  partials.length = i;
  partials.push(value);
  return undefined;
}

/** CPython's fsum final step: sum partials from the top, with a correction so ties round half-even. */
function roundPartials(partials: readonly number[]): number {
  let n = partials.length;
  if (n === 0) return 0;
  n--;
  let hi = partials[n] ?? 0;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    n--;
    const y = partials[n] ?? 0;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  const below = partials[n - 1];
  if (n > 0 && below !== undefined && ((lo < 0 && below < 0) || (lo > 0 && below > 0))) {
    const y = lo * 2;
    const x = hi + y;
    const yr = x - hi;
    if (y === yr) hi = x;
  }
  return hi + 0;
}
