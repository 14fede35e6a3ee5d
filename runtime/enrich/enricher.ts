/**
 * Enrichment from reference data (a Redis hash or a ClickHouse table), cached with each lookup's TTL.
 * Lookups are I/O, the per-event path is not: a batch's keys are fetched together first (`prefetch`,
 * only the keys missing or stale in the cache), then `apply` copies cached values into each row
 * synchronously. A key the source does not have is cached as "not found" too, so a stream of unknown
 * keys does not turn into a stream of lookups.
 *
 * Replays: enrichment reads mutable reference data, so an event replayed after a crash may be enriched
 * differently than the first time. ClickHouse still drops the replayed raw batch (deduplication is by
 * token, not content), so the raw table keeps the original values; the caveat is only that the replaying
 * worker's windows may see the newer values for that one batch.
 */
import { DecodeFailure } from "../decode/decode-failure.js";
import type { FieldMapper } from "../decode/field-mapping.js";
import type { Row } from "../decode/row.js";
import { TtlCache } from "./ttl-cache.js";

/** One lookup's values for a key: source field name → raw value (coerced to the column type on apply). */
export type ReferenceRecord = Readonly<Record<string, unknown>>;

export interface LookupSource {
  readonly name: string;
  readonly keyField: string;
  readonly fields: readonly string[];
  readonly ttlMs: number;
  /** Fetches the records of `keys`; a key without a record is absent from the result. */
  fetch(keys: readonly string[]): Promise<ReadonlyMap<string, ReferenceRecord>>;
}

export class EnrichmentError extends Error {
  override readonly name = "EnrichmentError";
}

const NOT_FOUND = null;
const MAX_CACHED_KEYS = 200_000;

function keyOf(row: Row, field: string): string | undefined {
  const value = row[field];
  return value === undefined || value === null ? undefined : String(value);
}

export class Enricher {
  private readonly caches: readonly TtlCache<ReferenceRecord | typeof NOT_FOUND>[];

  constructor(
    private readonly lookups: readonly LookupSource[],
    private readonly mapper: FieldMapper,
    private readonly now: () => number = Date.now,
  ) {
    this.caches = lookups.map((l) => new TtlCache(l.ttlMs, MAX_CACHED_KEYS));
  }

  get enabled(): boolean {
    return this.lookups.length > 0;
  }

  /** Loads every key of `rows` that is not freshly cached. Throws EnrichmentError when a source fails. */
  async prefetch(rows: Iterable<Row>): Promise<void> {
    if (this.lookups.length === 0) return;
    const now = this.now();
    const wanted = this.lookups.map(() => new Set<string>());
    for (const row of rows) {
      this.lookups.forEach((lookup, i) => {
        const key = keyOf(row, lookup.keyField);
        if (key !== undefined && !this.caches[i]?.isFresh(key, now)) wanted[i]?.add(key);
      });
    }
    await Promise.all(
      this.lookups.map(async (lookup, i) => {
        const keys = [...(wanted[i] ?? [])];
        const cache = this.caches[i];
        if (keys.length === 0 || cache === undefined) return;
        let found: ReadonlyMap<string, ReferenceRecord>;
        try {
          found = await lookup.fetch(keys);
        } catch (error) {
          throw new EnrichmentError(
            `enrichment ${lookup.name}: fetching ${keys.length} keys failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
        const at = this.now();
        for (const key of keys) cache.set(key, found.get(key) ?? NOT_FOUND, at);
      }),
    );
  }

  /** Copies cached reference values into `row`; call after `prefetch` covered it. */
  apply(row: Row): DecodeFailure | undefined {
    for (let i = 0; i < this.lookups.length; i++) {
      const lookup = this.lookups[i];
      if (lookup === undefined) continue;
      const key = keyOf(row, lookup.keyField);
      const record = key === undefined ? undefined : this.caches[i]?.peek(key);
      if (record === undefined || record === NOT_FOUND) continue;
      for (const field of lookup.fields) {
        const value = this.mapper.coerce(field, record[field]);
        if (value instanceof DecodeFailure) {
          return new DecodeFailure("field", `enrichment ${lookup.name}: ${value.message}`, field);
        }
        row[field] = value;
      }
    }
    return undefined;
  }
}
