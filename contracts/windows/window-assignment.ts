// Pure assignment of event timestamps to windows.
//
// Windows are half-open intervals [start, end) in epoch milliseconds. Tumbling and sliding windows are aligned to
// the epoch (start is a multiple of the slide), so every worker computes the same window identities without
// coordination, and negative timestamps (events before 1970) land in the window that contains them.

import {
  MAX_EVENT_TIME_MS,
  MIN_EVENT_TIME_MS,
  type SlidingWindowSpec,
  type TumblingWindowSpec,
} from "./window-spec.js";

interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** True for the timestamps the core accepts: safe integers within the `Date` range. */
export function isValidEventTime(timestampMs: number): boolean {
  return (
    Number.isSafeInteger(timestampMs) && timestampMs >= MIN_EVENT_TIME_MS && timestampMs <= MAX_EVENT_TIME_MS
  );
}

export class EventTimeError extends Error {
  readonly code = "INVALID_EVENT_TIME";
  readonly timestampMs: number;

  constructor(timestampMs: number) {
    super(
      `event time ${timestampMs} is not an integer number of milliseconds in [${MIN_EVENT_TIME_MS}, ${MAX_EVENT_TIME_MS}]`,
    );
    this.name = "EventTimeError";
    this.timestampMs = timestampMs;
  }
}

function requireEventTime(timestampMs: number): void {
  if (!isValidEventTime(timestampMs)) throw new EventTimeError(timestampMs);
}

/** The largest multiple of `unit` that is <= value; correct for negative values (floor, not truncation). */
export function alignDown(value: number, unit: number): number {
  const remainder = value % unit;
  // `%` keeps the dividend's sign, so a negative remainder means we truncated towards zero: step one unit down.
  // `+ 0` turns -0 into 0 so window starts never print as "-0".
  return value - remainder - (remainder < 0 ? unit : 0) + 0;
}

export function tumblingWindowFor(timestampMs: number, sizeMs: number): TimeWindow {
  requireEventTime(timestampMs);
  const start = alignDown(timestampMs, sizeMs);
  return { start, end: start + sizeMs };
}

type FixedWindowSpec =
  | Pick<TumblingWindowSpec, "type" | "sizeMs">
  | Pick<SlidingWindowSpec, "type" | "sizeMs" | "slideMs">;

/** The distance between consecutive window starts (a tumbling window slides by its size). */
export function windowSlide(spec: FixedWindowSpec): number {
  return spec.type === "tumbling" ? spec.sizeMs : spec.slideMs;
}

/**
 * The start of the earliest window containing a valid timestamp; the others start every slide after it, up to
 * and including alignDown(t, slide). Allocation-free, for the per-event path.
 */
export function firstWindowStart(spec: FixedWindowSpec, timestampMs: number): number {
  const slide = windowSlide(spec);
  // The earliest window containing t ends after t because alignDown(t, slide) > t - slide.
  return alignDown(timestampMs, slide) - (spec.sizeMs - slide);
}

/** Every sliding window that contains the timestamp, in ascending start order (sizeMs / slideMs of them). */
export function slidingWindowsFor(timestampMs: number, sizeMs: number, slideMs: number): TimeWindow[] {
  requireEventTime(timestampMs);
  const windows: TimeWindow[] = [];
  const last = alignDown(timestampMs, slideMs);
  for (
    let start = firstWindowStart({ type: "sliding", sizeMs, slideMs }, timestampMs);
    start <= last;
    start += slideMs
  ) {
    windows.push({ start, end: start + sizeMs });
  }
  return windows;
}

export function assignWindows(spec: FixedWindowSpec, timestampMs: number): TimeWindow[] {
  return spec.type === "tumbling"
    ? [tumblingWindowFor(timestampMs, spec.sizeMs)]
    : slidingWindowsFor(timestampMs, spec.sizeMs, spec.slideMs);
}

// ---------------------------------------------------------------------------------------------------------------
// Session windows
// ---------------------------------------------------------------------------------------------------------------

/** A session of one group key. `start`/`end` are mutable because sessions grow as events arrive. */
export interface SessionInterval {
  start: number;
  end: number;
}

interface SessionInsertResult<T extends SessionInterval> {
  /** The session that now covers the inserted interval (the inserted item itself when nothing overlapped). */
  readonly merged: T;
  /** Existing sessions that overlapped and were replaced by `merged`, in start order. */
  readonly absorbed: readonly T[];
}

/**
 * The sessions of one group key: disjoint half-open intervals kept sorted by start.
 *
 * Each event contributes [t, t + gap); intervals that overlap merge into one session whose state is the merge of
 * theirs. Intervals that only touch ([a, b) and [b, c)) do not merge: an event exactly `gap` after the previous
 * one starts a new session. This is stricter than Flink (which merges touching windows) and is what makes
 * "a window fires when watermark >= end" final for on-time events: an event with t >= watermark >= end can never
 * reach back into a fired session.
 *
 * Because a session is the connected component of the union of its events' intervals, inserting whole sessions
 * (e.g. partial sessions computed by different workers) yields the same sessions as inserting the events.
 */
export class SessionSet<T extends SessionInterval> {
  private readonly items: T[] = [];
  private readonly mergeItems: (a: T, b: T) => T;

  /**
   * @param mergeItems combines two overlapping sessions (their aggregate states) into a new object; the set then
   *   sets start/end of the result to the union of the intervals. (If it returns one of its arguments instead,
   *   that object is both `merged` and in `absorbed`.)
   */
  constructor(mergeItems: (a: T, b: T) => T) {
    this.mergeItems = mergeItems;
  }

  get size(): number {
    return this.items.length;
  }

  /** The sessions in start order. */
  list(): readonly T[] {
    return this.items;
  }

  /** Index of the first session whose end is > t. Ends are increasing because sessions are sorted and disjoint. */
  private firstEndingAfter(t: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const item = this.items[mid];
      if (item !== undefined && item.end > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The session with start <= t < end, if any. */
  findContaining(t: number): T | undefined {
    const item = this.items[this.firstEndingAfter(t)];
    return item !== undefined && item.start <= t ? item : undefined;
  }

  /**
   * The session overlapping [start, end) when exactly one does; undefined when none or several do. (The hot path
   * asks only this, so it builds no list.)
   */
  soleOverlapping(start: number, end: number): T | undefined {
    const index = this.firstEndingAfter(start);
    const item = this.items[index];
    if (item === undefined || item.start >= end) return undefined;
    const next = this.items[index + 1];
    return next !== undefined && next.start < end ? undefined : item;
  }

  /** Inserts a session, merging it with every session it overlaps. */
  insert(item: T): SessionInsertResult<T> {
    if (!(item.end > item.start)) throw new RangeError(`session [${item.start}, ${item.end}) is empty`);
    const first = this.firstEndingAfter(item.start);
    let last = first;
    while (last < this.items.length) {
      const next = this.items[last];
      if (next === undefined || next.start >= item.end) break;
      last++;
    }
    const absorbed = this.items.slice(first, last);
    let merged = item;
    if (absorbed.length > 0) {
      // Fold in start order so the merge sees the sessions in time order (merges are commutative anyway).
      const all = [...absorbed, item].sort((a, b) => a.start - b.start);
      let start = item.start;
      let end = item.end;
      let acc: T | undefined;
      for (const session of all) {
        start = Math.min(start, session.start);
        end = Math.max(end, session.end);
        acc = acc === undefined ? session : this.mergeItems(acc, session);
      }
      merged = acc ?? item;
      merged.start = start;
      merged.end = end;
    }
    this.items.splice(first, last - first, merged);
    return { merged, absorbed };
  }

  /**
   * Grows a session's end in place (the common case: an in-order event extends its session). Throws when the new
   * end would overlap the next session; the caller must `insert` then, so that the two merge.
   */
  extendEnd(item: T, end: number): void {
    const index = this.indexOf(item);
    if (index < 0) throw new RangeError(`session [${item.start}, ${item.end}) is not in this set`);
    const next = this.items[index + 1];
    if (next !== undefined && next.start < end) {
      throw new RangeError(
        `extending session [${item.start}, ${item.end}) to ${end} would overlap [${next.start}, ${next.end})`,
      );
    }
    if (end > item.end) item.end = end;
  }

  remove(item: T): boolean {
    const index = this.indexOf(item);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }

  private indexOf(item: T): number {
    const index = this.firstEndingAfter(item.start);
    return this.items[index] === item ? index : -1;
  }
}
