/**
 * A bounded key → value cache with a time to live (pure: the clock is a parameter). Entries are evicted
 * oldest-written first when the cache is full; an expired entry is refetched by the caller.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value if present and fresh at `nowMs`. */
  get(key: string, nowMs: number): V | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.expiresAt > nowMs ? entry.value : undefined;
  }

  /** Whether `key` holds a fresh value at `nowMs` (a cached "not found" counts as fresh). */
  isFresh(key: string, nowMs: number): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.expiresAt > nowMs;
  }

  /** The value whatever its age: used right after a prefetch, so that expiry in between changes nothing. */
  peek(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: string, value: V, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: nowMs + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
