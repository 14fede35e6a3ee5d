// Event-time watermarks with bounded out-of-orderness.
//
// Each source partition's watermark is (max event time seen) - maxOutOfOrdernessMs: the tracker promises that
// events with a timestamp below it are late. The pipeline watermark is the minimum over the partitions that are
// active, because a window may only fire once every partition that could still feed it has moved past its end.
//
// The wall clock is a parameter (`nowMs`) of every call that needs it, so this module stays deterministic and the
// runtime decides which clock to use (and tests use a fake one).

import type { WatermarkFloor } from "../../contracts/kafka/commit-metadata.js";

export interface WatermarkOptions {
  /** How far behind the newest event an event may arrive and still be on time. */
  readonly maxOutOfOrdernessMs: number;
  /**
   * A partition without events for longer than this (wall-clock) stops holding the pipeline watermark back, so one
   * quiet Kafka partition cannot stall every window. `Infinity` disables idleness.
   */
  readonly idleTimeoutMs: number;
}

interface PartitionWatermark {
  readonly partition: string;
  /** Newest event time seen on the partition, or null before its first event. */
  readonly maxEventTimeMs: number | null;
  /** The partition's own watermark (-Infinity before its first event). */
  readonly watermarkMs: number;
  /** Wall-clock time of the partition's last event (or of its assignment, before the first event). */
  readonly lastActivityMs: number;
  readonly idle: boolean;
}

export class WatermarkError extends Error {
  readonly code: "UNKNOWN_PARTITION" | "INVALID_OPTION" | "INVALID_EVENT_TIME";

  constructor(code: WatermarkError["code"], message: string) {
    super(message);
    this.name = "WatermarkError";
    this.code = code;
  }
}

interface PartitionState {
  maxEventTimeMs: number;
  lastActivityMs: number;
}

export class WatermarkTracker {
  private readonly maxOutOfOrdernessMs: number;
  private readonly idleTimeoutMs: number;
  private readonly partitionStates = new Map<string, PartitionState>();
  private emitted = Number.NEGATIVE_INFINITY;

  constructor(options: WatermarkOptions) {
    const { maxOutOfOrdernessMs, idleTimeoutMs } = options;
    if (!(Number.isFinite(maxOutOfOrdernessMs) && maxOutOfOrdernessMs >= 0)) {
      throw new WatermarkError(
        "INVALID_OPTION",
        `maxOutOfOrdernessMs must be a finite number >= 0, got ${maxOutOfOrdernessMs}`,
      );
    }
    if (!(idleTimeoutMs > 0)) {
      throw new WatermarkError(
        "INVALID_OPTION",
        `idleTimeoutMs must be > 0 (or Infinity), got ${idleTimeoutMs}`,
      );
    }
    this.maxOutOfOrdernessMs = maxOutOfOrdernessMs;
    this.idleTimeoutMs = idleTimeoutMs;
  }

  /**
   * Starts tracking a partition (e.g. on a Kafka assignment). Until its first event it holds the pipeline watermark
   * back, unless it stays idle for idleTimeoutMs. Re-adding a tracked partition keeps its state.
   */
  addPartition(partition: string, nowMs: number): void {
    if (!this.partitionStates.has(partition)) {
      this.partitionStates.set(partition, {
        maxEventTimeMs: Number.NEGATIVE_INFINITY,
        lastActivityMs: nowMs,
      });
    }
  }

  /** Stops tracking a partition (e.g. on revocation). The pipeline watermark does not go back as a result. */
  removePartition(partition: string): void {
    this.partitionStates.delete(partition);
  }

  /** Records an event read from the partition at wall-clock time nowMs. */
  observe(partition: string, eventTimeMs: number, nowMs: number): void {
    const state = this.partitionStates.get(partition);
    if (state === undefined) {
      throw new WatermarkError(
        "UNKNOWN_PARTITION",
        `event on partition "${partition}", which was never added`,
      );
    }
    if (!Number.isFinite(eventTimeMs)) {
      throw new WatermarkError(
        "INVALID_EVENT_TIME",
        `event time ${eventTimeMs} on partition "${partition}" is not finite`,
      );
    }
    if (eventTimeMs > state.maxEventTimeMs) state.maxEventTimeMs = eventTimeMs;
    state.lastActivityMs = Math.max(state.lastActivityMs, nowMs);
  }

  private isIdle(state: PartitionState, nowMs: number): boolean {
    return nowMs - state.lastActivityMs > this.idleTimeoutMs;
  }

  /**
   * The pipeline watermark at wall-clock time nowMs: the minimum of the active partitions' watermarks, never less
   * than a value returned before. With no active partition (none assigned, or all idle) it does not advance:
   * there is no evidence that time has moved on.
   */
  current(nowMs: number): number {
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const state of this.partitionStates.values()) {
      if (this.isIdle(state, nowMs)) continue;
      active++;
      min = Math.min(min, state.maxEventTimeMs - this.maxOutOfOrdernessMs);
    }
    if (active > 0 && min > this.emitted) this.emitted = min;
    return this.emitted;
  }

  /** Per-partition view for metrics and `kubectl describe`-style explanations. */
  partitions(nowMs: number): PartitionWatermark[] {
    return [...this.partitionStates.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([partition, state]) => ({
        partition,
        maxEventTimeMs: Number.isFinite(state.maxEventTimeMs) ? state.maxEventTimeMs : null,
        watermarkMs: state.maxEventTimeMs - this.maxOutOfOrdernessMs,
        lastActivityMs: state.lastActivityMs,
        idle: this.isIdle(state, nowMs),
      }));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Idle advance: a partition's watermark moved by processing time
// ---------------------------------------------------------------------------------------------------------------

export interface IdleAdvanceInput {
  /** Wall clock now. */
  readonly nowMs: number;
  /** Wall-clock time the partition last received a record (or was assigned). */
  readonly lastActivityMs: number;
  readonly idleTimeoutMs: number;
  readonly maxOutOfOrdernessMs: number;
  /** The partition's current watermark (event time, or an earlier floor). */
  readonly watermarkMs: number;
  /** The earliest time a window of the partition fires or is purged (Infinity: nothing open). */
  readonly nextDueMs: number;
  /**
   * Records the partition holds beyond those processed, from a high-watermark lookup made after it fell
   * silent; undefined until such a lookup answered. Silence alone is not idleness: a partition the consumer
   * has not fetched for a while (a busy worker, a slow fetch) may still have a backlog, and moving its
   * watermark to now would make that whole backlog late.
   */
  readonly backlog: number | undefined;
}

/**
 * Where an idle partition's watermark moves to, or undefined to leave it. A partition that has received no record
 * for idleTimeout of wall-clock time and has nothing left to read moves to now − maxOutOfOrderness, as if a record stamped now had arrived (a
 * record stamped now would be the newest possible in a stream whose event time follows the wall clock), so its
 * open windows fire and are written. Only when that fires or purges a window: an advance is written down (commit
 * metadata), and one that changes nothing is not worth a commit.
 */
export function idleAdvanceTarget(input: IdleAdvanceInput): number | undefined {
  if (!(input.nowMs - input.lastActivityMs >= input.idleTimeoutMs)) return undefined;
  if (input.backlog !== 0) return undefined;
  const target = input.nowMs - input.maxOutOfOrdernessMs;
  if (!(target > input.watermarkMs) || !(input.nextDueMs <= target)) return undefined;
  return target;
}

/**
 * An idle advance of a partition's watermark, kept for as long as a rebuild of the partition's state may need it.
 * The rows at offsets ≥ `offset` were processed with a watermark of at least `watermarkMs`, and the windows were
 * advanced to it before them, so a rebuild that replays them must do the same (the raw table cannot tell).
 */
// The floor's shape is part of the commit metadata (contracts/), which the operator reads too.
export type { WatermarkFloor };

/**
 * At most this many floors are kept (the commit metadata must stay well under Kafka's 4 KB limit), plus the one
 * an advance adds until the next batch.
 */
export const MAX_FLOORS = 32;

/**
 * Drops the floors no rebuild can need. Only session windows depend on the watermark each record was processed
 * under (a session fires between records); the state of tumbling and sliding windows still open at the rebuilt
 * offset does not, so without sessions only the latest floor is kept: the watermark the rebuild ends at. With sessions, a
 * floor W only fired sessions ending by W and held back records whose event time is below W +
 * maxOutOfOrderness, so once that is at or below the rebuild range's lower bound (`rebuildLowerMs`,
 * rebuild-range.ts) no replayed record or session can meet it. Beyond MAX_FLOORS the oldest go first.
 */
export function pruneFloors(
  floors: readonly WatermarkFloor[],
  sessions: boolean,
  rebuildLowerMs: number,
  maxOutOfOrdernessMs: number,
): readonly WatermarkFloor[] {
  if (!sessions) return floors.slice(-1);
  const kept = floors.filter((f) => f.watermarkMs + maxOutOfOrdernessMs > rebuildLowerMs);
  return kept.length > MAX_FLOORS ? kept.slice(-MAX_FLOORS) : kept;
}
