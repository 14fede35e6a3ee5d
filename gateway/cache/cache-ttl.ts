/**
 * How long a query result may be cached, decided from the source's freshness rather than the clock
 * alone (pure). A range that ends, with its allowed lateness, at or before the pipeline's watermark
 * can no longer change: it is settled and kept for hours. Anything else is open and kept for the
 * Rollup's `cacheTtl` (or a short default), so it refreshes as events arrive.
 */

/** For raw and window-table answers, which have no Rollup `cacheTtl`. */
export const defaultOpenTtlMs = 10_000;
export const defaultSettledTtlMs = 6 * 60 * 60 * 1000;

export interface CacheTtlInput {
  /** Exclusive end of the query's (already aligned) time range. */
  readonly rangeEndMs: number;
  /** The pipeline's watermark; undefined while it has none (nothing processed yet, or unknown). */
  readonly watermarkMs: number | undefined;
  readonly allowedLatenessMs: number;
  readonly openTtlMs: number;
  readonly settledTtlMs: number;
  readonly nowMs: number;
}

export interface CacheTtl {
  /** Whole seconds, at least 1: a TTL of 0 would mean "never expires" to some callers. */
  readonly ttlSeconds: number;
  readonly settled: boolean;
}

function requireNonNegative(field: keyof CacheTtlInput, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`computeCacheTtl: ${field} must be a finite number >= 0, got ${value}`);
  }
}

export function computeCacheTtl(input: CacheTtlInput): CacheTtl {
  requireNonNegative("allowedLatenessMs", input.allowedLatenessMs);
  requireNonNegative("openTtlMs", input.openTtlMs);
  requireNonNegative("settledTtlMs", input.settledTtlMs);
  const openSeconds = Math.max(1, Math.ceil(input.openTtlMs / 1000));
  if (input.watermarkMs === undefined || !Number.isFinite(input.watermarkMs)) {
    return { ttlSeconds: openSeconds, settled: false };
  }
  // A watermark ahead of the wall clock (events stamped in the future) must not settle a range
  // that events arriving now can still land in.
  const settledUpTo = Math.min(input.watermarkMs, input.nowMs);
  const settled = input.rangeEndMs + input.allowedLatenessMs <= settledUpTo;
  if (!settled) return { ttlSeconds: openSeconds, settled: false };
  // The open TTL is the floor: a settled result is never kept shorter than an open one.
  return { ttlSeconds: Math.max(openSeconds, Math.ceil(input.settledTtlMs / 1000)), settled: true };
}
