/** The reference the quantile tests compare with, computed from the values themselves. */
export interface ExactQuantile {
  /** The exact quantile: position q · (n − 1) of the sorted values, interpolated linearly (ClickHouse's `quantile`). */
  readonly value: number;
  /**
   * The error a sketch of relative accuracy α may make there: α · ((1 − f) · |x_k| + f · |x_k+1|), plus
   * `slack` times the neighbours for the rounding of the interpolation itself.
   */
  readonly bound: (alpha: number, slack?: number) => number;
}

export function exactQuantile(values: readonly number[], q: number): ExactQuantile {
  const sorted = [...values].sort((a, b) => a - b);
  const position = q * (sorted.length - 1);
  const k = Math.floor(position);
  const f = position - k;
  const low = sorted[k] ?? Number.NaN;
  const high = sorted[Math.min(k + 1, sorted.length - 1)] ?? Number.NaN;
  return {
    value: low + f * (high - low),
    bound: (alpha, slack = 1e-12) =>
      alpha * ((1 - f) * Math.abs(low) + f * Math.abs(high)) + slack * (Math.abs(low) + Math.abs(high)),
  };
}
