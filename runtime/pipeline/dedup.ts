/**
 * Deduplication by event id over an event-time horizon, per source partition (pure).
 *
 * Rule: an event is a duplicate when an event with the same id was *emitted* earlier on the partition
 * and that event's time is at or after (newest emitted event time − horizon). Only emitted events (those
 * that reached the raw table) are remembered, and the horizon is measured in event time, not wall time,
 * so the state at any offset is a function of the raw table's rows of that partition below the offset:
 * a restarted or newly assigned worker rebuilds exactly the same state from ClickHouse (see rebuild).
 *
 * Duplicates are only found within a partition: producers must key events so that retries of an event
 * land in the same partition (any stable key does; Kafka's idempotent producer retries in place).
 */
import type { RowValue } from "../decode/row.js";

export class DedupState {
  /** id → event time of its emitted event. */
  private readonly seen = new Map<string, number>();
  /**
   * Eviction order: (id, time) per `record` that stored a time, ≈ event-time order. A separate queue because
   * scanning the Map from its start walks every entry deleted since its last rehash, on every event.
   * Entries whose id was recorded again later are stale and skipped.
   */
  private queueIds: string[] = [];
  private queueTimes: number[] = [];
  private head = 0;
  /**
   * What `isDuplicate` just looked up: the live path records an accepted event right after asking about it, and
   * this saves the second lookup. `record` clears it, so only the answer for the unchanged map is ever reused.
   */
  private askedKey: string | undefined;
  private askedTime: number | undefined;

  constructor(readonly horizonMs: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** Whether `id` is a duplicate, given the newest emitted event time so far (before this event). */
  isDuplicate(id: RowValue, maxEventTimeMs: number): boolean {
    if (id === null) return false;
    const key = String(id);
    const time = this.seen.get(key);
    this.askedKey = key;
    this.askedTime = time;
    return time !== undefined && time >= maxEventTimeMs - this.horizonMs;
  }

  /** Remembers an emitted event; `maxEventTimeMs` is the newest emitted time including this one. */
  record(id: RowValue, eventTimeMs: number, maxEventTimeMs: number): void {
    if (id === null) return;
    const key = String(id);
    const previous = key === this.askedKey ? this.askedTime : this.seen.get(key);
    this.askedKey = undefined;
    if (previous === undefined || eventTimeMs > previous) {
      this.seen.set(key, eventTimeMs);
      this.queueIds.push(key);
      this.queueTimes.push(eventTimeMs);
    }
    this.evict(maxEventTimeMs);
  }

  /**
   * Drops ids that can no longer match. Stops at the first entry still inside the horizon, so an
   * out-of-order old entry may linger a little; `isDuplicate` checks the horizon itself, so lingering
   * entries never change a decision.
   */
  private evict(maxEventTimeMs: number): void {
    const cutoff = maxEventTimeMs - this.horizonMs;
    const { queueIds, queueTimes } = this;
    let head = this.head;
    while (head < queueIds.length) {
      const time = queueTimes[head] ?? cutoff;
      if (time >= cutoff) break;
      const key = queueIds[head] ?? "";
      if (this.seen.get(key) === time) this.seen.delete(key);
      head++;
    }
    // Drop the consumed prefix once it is most of the queue, so memory follows the live entries.
    if (head > 1024 && head * 2 > queueIds.length) {
      this.queueIds = queueIds.slice(head);
      this.queueTimes = queueTimes.slice(head);
      head = 0;
    }
    this.head = head;
  }
}
