// The window state machine of one worker (or one partition) for one window spec.
//
// Lifecycle of a window (identity: window name, group key, window start):
//   open ──(watermark ≥ end)──▶ fired: emits revision 1
//   fired ──(late event while end + allowedLateness > watermark)──▶ emits revision n + 1 on the next advance
//   ──(end + allowedLateness ≤ watermark)──▶ purged: state dropped; later events for it go to the late side output
//
// Results are upserts: a consumer keeps, per window identity, the result with the highest revision. Session
// windows can also *retract* a window: when a late event bridges two sessions that already fired, the later one is
// absorbed into the earlier one (which keeps its identity and gets a new revision) and the absorbed identity gets a
// retraction with a higher revision, so a "highest revision wins" sink drops it.
//
// A result carries both the final numbers and the serialized partial states, so results of several workers for the
// same window (tumbling/sliding) or overlapping sessions can be merged exactly with `combinePartials`.
//
// The operator never reads a clock: it only moves when the caller passes a watermark, and it emits nothing from
// `ingest` (updates of fired windows are batched until the next `advance`).

import {
  type AggregationState,
  addPrepared,
  checkValue,
  createState,
  emptyPreparedValue,
  mergeStates,
  type PreparedValue,
  prepareValue,
  resultsFor,
  serializeState,
} from "../../contracts/windows/aggregation.js";
import {
  firstWindowStart,
  isValidEventTime,
  type SessionInterval,
  SessionSet,
  windowSlide,
} from "../../contracts/windows/window-assignment.js";
import {
  type GroupValue,
  recordKey,
  type WindowResult,
  type WindowRetraction,
  type WindowUpsert,
} from "../../contracts/windows/window-results.js";
import {
  type AggregationFn,
  aggregationName,
  assertValidWindowSpec,
  MAX_EVENT_TIME_MS,
  MIN_EVENT_TIME_MS,
  type WindowSpec,
} from "../../contracts/windows/window-spec.js";
import { TimerQueue } from "./timer-queue.js";

export interface WindowEvent {
  /** Event time in epoch milliseconds (a safe integer within the `Date` range). */
  readonly timestampMs: number;
  /** Decoded event fields; group-by values and aggregation inputs are read from here by field name. */
  readonly fields: Readonly<Record<string, unknown>>;
}

export type IngestOutcome =
  /** The event updated `windows` windows (1 for tumbling and session; up to size/slide for sliding). */
  | { readonly kind: "accepted"; readonly windows: number }
  /** Too late for every window it belongs to: route the event to the late side output. */
  | {
      readonly kind: "late";
      readonly windowName: string;
      readonly timestampMs: number;
      readonly watermarkMs: number;
    }
  /** The event cannot be aggregated (bad timestamp, group-by value or aggregation input); no state changed. */
  | {
      readonly kind: "rejected";
      readonly windowName: string;
      readonly field: string | undefined;
      readonly reason: string;
    };

interface WindowOperatorStats {
  /** Events applied to at least one window. */
  readonly accepted: number;
  /** Events dropped to the late side output. */
  readonly late: number;
  /** Events refused because of a bad timestamp or field value. */
  readonly rejected: number;
  /** Windows emitted for the first time (revision 1). */
  readonly fired: number;
  /** Later revisions of already emitted windows. */
  readonly updated: number;
  /** Session windows retracted because they merged into an earlier session. */
  readonly retracted: number;
  /** Windows whose state was dropped after end + allowed lateness. */
  readonly purged: number;
}

interface WindowRecord extends SessionInterval {
  key: string;
  readonly groupKey: readonly GroupValue[];
  readonly groupKeyId: string;
  /** The group's key in `cells` and `sessions` (see `GroupLookup`). */
  readonly lookup: GroupLookup;
  readonly states: AggregationState[];
  /** Last emitted revision (0 = never emitted). */
  revision: number;
  /** Once fired, every change is emitted on the next advance. */
  fired: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Shared outcomes for the usual window counts: every event gets one per window spec. */
const ACCEPTED: readonly IngestOutcome[] = Array.from({ length: 64 }, (_, windows) =>
  Object.freeze({ kind: "accepted" as const, windows }),
);

/**
 * How an operator finds a group's state: the value itself for a single group-by field (a Map tells "1" from 1,
 * and no string is built per event), the group key id otherwise.
 */
type GroupLookup = GroupValue | string;

/** An aggregation's input: where to read it, and the slot its prepared value is kept in for the current event. */
interface AggregationInput {
  readonly fn: AggregationFn;
  readonly field: string | undefined;
  readonly name: string;
  readonly prepared: PreparedValue;
}

export class WindowOperator {
  readonly spec: WindowSpec;
  private readonly names: readonly string[];
  private readonly inputs: readonly AggregationInput[];
  /** The current event's group values (reused; copied when a window is created). */
  private readonly groupValues: GroupValue[];
  private readonly windows = new Map<string, WindowRecord>();
  /** Tumbling and sliding windows by start, then group key id: finding a window builds no key string. */
  private readonly cells = new Map<number, Map<GroupLookup, WindowRecord>>();
  private readonly sessions = new Map<GroupLookup, SessionSet<WindowRecord>>();
  private readonly timers = new TimerQueue();
  private readonly dirty = new Set<string>();
  private pendingRetractions: WindowRetraction[] = [];
  private watermark = Number.NEGATIVE_INFINITY;
  private readonly counters: Mutable<WindowOperatorStats> = {
    accepted: 0,
    late: 0,
    rejected: 0,
    fired: 0,
    updated: 0,
    retracted: 0,
    purged: 0,
  };

  constructor(spec: WindowSpec) {
    this.spec = assertValidWindowSpec(spec);
    this.names = spec.aggregations.map(aggregationName);
    this.inputs = spec.aggregations.map((agg) => ({
      fn: agg.fn,
      field: agg.fn === "count" ? undefined : agg.field,
      name: aggregationName(agg),
      prepared: emptyPreparedValue(),
    }));
    this.groupValues = spec.groupBy.map(() => null);
  }

  /** The highest watermark passed to `ingest` or `advance` so far. */
  get watermarkMs(): number {
    return this.watermark;
  }

  /** Number of windows (tumbling/sliding cells or sessions) currently holding state. */
  openKeyCount(): number {
    return this.windows.size;
  }

  /**
   * The earliest watermark at which `advance` has something to do: a window fires or is purged (Infinity: no
   * window is open). A timer may be stale (its window grew or was absorbed), so this can be early, never late.
   */
  nextDueMs(): number {
    if (this.dirty.size > 0 || this.pendingRetractions.length > 0) return Number.NEGATIVE_INFINITY;
    return this.timers.peekTime() ?? Number.POSITIVE_INFINITY;
  }

  stats(): WindowOperatorStats {
    return { ...this.counters };
  }

  private observeWatermark(watermarkMs: number): void {
    if (Number.isNaN(watermarkMs)) throw new RangeError(`window "${this.spec.name}": watermark is NaN`);
    // Watermarks only move forward; a smaller value (e.g. from a restarted tracker) is ignored.
    if (watermarkMs > this.watermark) this.watermark = watermarkMs;
  }

  /**
   * Applies one event given the current watermark. Inputs are validated first, so a rejected event changes nothing;
   * an accepted one updates every window it belongs to that has not expired. Fired windows that change are emitted
   * by the next `advance`.
   */
  ingest(event: WindowEvent, watermarkMs: number): IngestOutcome {
    this.observeWatermark(watermarkMs);
    const spec = this.spec;
    const t = event.timestampMs;
    if (!isValidEventTime(t)) {
      return this.reject(
        undefined,
        `event time ${t} is not an integer number of milliseconds in [${MIN_EVENT_TIME_MS}, ${MAX_EVENT_TIME_MS}]`,
      );
    }

    const groupValues = this.groupValues;
    for (let i = 0; i < groupValues.length; i++) {
      const field = spec.groupBy[i] ?? "";
      const value = readField(event.fields, field);
      let normalized: GroupValue;
      if (value === undefined || value === null) normalized = null;
      else if (typeof value === "string" || typeof value === "boolean") normalized = value;
      else if (typeof value === "number" && Number.isFinite(value)) normalized = value === 0 ? 0 : value;
      else return this.reject(field, `group-by value must be a string, finite number, boolean or null`);
      groupValues[i] = normalized;
    }
    const lookup: GroupLookup =
      groupValues.length === 1 ? (groupValues[0] ?? null) : JSON.stringify(groupValues);
    // Validate every input before touching state, so an event is applied entirely or not at all.
    for (const input of this.inputs) {
      if (input.field === undefined) continue;
      const value = readField(event.fields, input.field);
      const problem = checkValue(input.fn, value);
      if (problem !== undefined) return this.reject(input.field, `aggregation "${input.name}": ${problem}`);
      prepareValue(input.fn, value, input.prepared);
    }

    const applied = spec.type === "session" ? this.ingestSession(t, lookup) : this.ingestFixed(t, lookup);
    if (applied === 0) {
      this.counters.late++;
      return { kind: "late", windowName: spec.name, timestampMs: t, watermarkMs: this.watermark };
    }
    this.counters.accepted++;
    return ACCEPTED[applied] ?? { kind: "accepted", windows: applied };
  }

  private reject(field: string | undefined, reason: string): IngestOutcome {
    this.counters.rejected++;
    return { kind: "rejected", windowName: this.spec.name, field, reason };
  }

  private newRecord(start: number, end: number, lookup: GroupLookup): WindowRecord {
    const groupKeyId = JSON.stringify(this.groupValues);
    return {
      key: recordKey(start, groupKeyId),
      start,
      end,
      groupKey: [...this.groupValues],
      groupKeyId,
      lookup,
      states: this.spec.aggregations.map(createState),
      revision: 0,
      fired: false,
    };
  }

  /** Adds the current event's prepared inputs (see `ingest`) to a window. */
  private addEvent(record: WindowRecord): void {
    const { inputs } = this;
    const { states } = record;
    for (let i = 0; i < inputs.length; i++) {
      const state = states[i];
      const input = inputs[i];
      if (state === undefined || input === undefined)
        throw new Error(`window "${this.spec.name}": no state for aggregation ${i}`);
      addPrepared(state, input.prepared);
    }
    if (record.fired) this.dirty.add(record.key);
  }

  /** Tumbling and sliding windows: identities are fixed by the spec, so this only finds or creates cells. */
  private ingestFixed(t: number, lookup: GroupLookup): number {
    const spec = this.spec;
    if (spec.type === "session") throw new Error("ingestFixed called for a session window");
    const { sizeMs, allowedLatenessMs } = spec;
    const slide = windowSlide(spec);
    let applied = 0;
    for (let start = firstWindowStart(spec, t); start <= t; start += slide) {
      const end = start + sizeMs;
      // A window whose end + lateness has passed is final (and purged, or about to be): the event is late for it.
      if (end + allowedLatenessMs <= this.watermark) continue;
      let group = this.cells.get(start);
      if (group === undefined) {
        group = new Map();
        this.cells.set(start, group);
      }
      let record = group.get(lookup);
      if (record === undefined) {
        record = this.newRecord(start, end, lookup);
        group.set(lookup, record);
        this.windows.set(record.key, record);
        this.timers.push(end, record.key);
      }
      this.addEvent(record);
      applied++;
    }
    return applied;
  }

  /**
   * Session windows. An event is late when it is more than allowedLateness behind the watermark *and* does not fall
   * inside a session that is still kept. The first condition alone would drop late events inside long sessions;
   * without it an event could start a new session over the span of a session that was already purged.
   */
  private ingestSession(t: number, lookup: GroupLookup): number {
    const spec = this.spec;
    if (spec.type !== "session") throw new Error("ingestSession called for a fixed window");
    const lateness = spec.allowedLatenessMs;
    let sessions = this.sessions.get(lookup);
    const containing = sessions?.findContaining(t);
    const kept = containing !== undefined && containing.end + lateness > this.watermark;
    if (!kept && t < this.watermark - lateness) return 0;

    if (sessions === undefined) {
      sessions = new SessionSet<WindowRecord>((a, b) => this.mergeRecords(a, b));
      this.sessions.set(lookup, sessions);
    }
    const end = t + spec.gapMs;
    const only = sessions.soleOverlapping(t, end);
    if (only !== undefined && only.start <= t) {
      // Hot path (in-order events of an active session): update in place, maybe push the end out. No other
      // session overlaps [t, end), so extending cannot create an overlap.
      this.addEvent(only);
      if (end > only.end) sessions.extendEnd(only, end);
      return 1;
    }

    const fresh = this.newRecord(t, end, lookup);
    this.addEvent(fresh);
    const { merged, absorbed } = sessions.insert(fresh);
    if (absorbed.length === 0) {
      this.windows.set(fresh.key, fresh);
      this.timers.push(fresh.end, fresh.key);
      return 1;
    }
    // The merged session keeps the identity of the earliest absorbed session if it starts where the merged one
    // does; every other absorbed session that was emitted is retracted.
    const survivor = absorbed[0]?.start === merged.start ? absorbed[0] : undefined;
    for (const old of absorbed) {
      this.windows.delete(old.key);
      this.dirty.delete(old.key);
      if (old !== survivor && old.revision > 0) {
        this.pendingRetractions.push({
          kind: "retract",
          windowName: spec.name,
          windowStart: old.start,
          windowEnd: old.end,
          groupKey: old.groupKey,
          revision: old.revision + 1,
        });
      }
    }
    merged.key = recordKey(merged.start, merged.groupKeyId);
    merged.revision = survivor?.revision ?? 0;
    merged.fired = absorbed.some((old) => old.fired);
    this.windows.set(merged.key, merged);
    // A surviving identity already has a timer, which re-arms itself at the new end when it pops.
    if (survivor === undefined) this.timers.push(merged.end, merged.key);
    if (merged.fired) this.dirty.add(merged.key);
    return 1;
  }

  private mergeRecords(a: WindowRecord, b: WindowRecord): WindowRecord {
    const states = a.states.map((state, i) => {
      const other = b.states[i];
      if (other === undefined) throw new Error(`window "${this.spec.name}": session states differ in length`);
      return mergeStates(state, other);
    });
    // Identity and revision are decided by the caller, which knows which session survived.
    return {
      key: "",
      start: Math.min(a.start, b.start),
      end: Math.max(a.end, b.end),
      groupKey: a.groupKey,
      groupKeyId: a.groupKeyId,
      lookup: a.lookup,
      states,
      revision: 0,
      fired: false,
    };
  }

  /**
   * Moves the watermark and returns, in a deterministic order: retractions, windows that fire (revision 1) and
   * updates of fired windows changed since the last call. Then drops the state of windows whose
   * end + allowedLateness ≤ watermark. `advance(Infinity)` flushes everything (end of a bounded input).
   */
  advance(watermarkMs: number): WindowResult[] {
    this.observeWatermark(watermarkMs);
    const watermark = this.watermark;
    // Nothing due, changed or retracted: the common case when sessions advance after every event.
    if (
      this.dirty.size === 0 &&
      this.pendingRetractions.length === 0 &&
      (this.timers.peekTime() ?? Number.POSITIVE_INFINITY) > watermark
    )
      return [];
    const lateness = this.spec.allowedLatenessMs;
    const expired: WindowRecord[] = [];
    for (
      let timer = this.timers.popDue(watermark);
      timer !== undefined;
      timer = this.timers.popDue(watermark)
    ) {
      const record = this.windows.get(timer.key);
      if (record === undefined) continue; // purged or absorbed into another session
      if (record.end > watermark) {
        this.timers.push(record.end, record.key); // a session grew since the timer was set
        continue;
      }
      if (!record.fired) {
        record.fired = true;
        this.dirty.add(record.key);
      }
      if (record.end + lateness <= watermark) expired.push(record);
      else this.timers.push(record.end + lateness, record.key);
    }

    const out: { sortKey: string; result: WindowResult }[] = this.pendingRetractions.map((result) => ({
      sortKey: JSON.stringify(result.groupKey),
      result,
    }));
    this.counters.retracted += this.pendingRetractions.length;
    this.pendingRetractions = [];
    for (const key of this.dirty) {
      const record = this.windows.get(key);
      if (record === undefined || !record.fired) continue;
      record.revision++;
      if (record.revision === 1) this.counters.fired++;
      else this.counters.updated++;
      out.push({ sortKey: record.groupKeyId, result: this.toUpsert(record) });
    }
    this.dirty.clear();

    for (const record of expired) {
      if (this.windows.get(record.key) !== record) continue; // already handled via a duplicate timer
      this.windows.delete(record.key);
      const group = this.cells.get(record.start);
      if (group?.get(record.lookup) === record) {
        group.delete(record.lookup);
        if (group.size === 0) this.cells.delete(record.start);
      }
      const sessions = this.sessions.get(record.lookup);
      if (sessions !== undefined) {
        sessions.remove(record);
        if (sessions.size === 0) this.sessions.delete(record.lookup);
      }
      this.counters.purged++;
    }

    return out
      .sort(
        (a, b) =>
          a.result.windowStart - b.result.windowStart ||
          a.result.windowEnd - b.result.windowEnd ||
          compareStrings(a.sortKey, b.sortKey) ||
          compareStrings(a.result.kind, b.result.kind),
      )
      .map(({ result }) => result);
  }

  private toUpsert(record: WindowRecord): WindowUpsert {
    const states: Record<string, string> = {};
    const results: Record<string, number | null> = {};
    this.spec.aggregations.forEach((agg, i) => {
      const state = record.states[i];
      const name = this.names[i];
      if (state === undefined || name === undefined)
        throw new Error(`window "${this.spec.name}": state ${i} missing`);
      states[name] = serializeState(state);
      Object.assign(results, resultsFor(agg, state));
    });
    return {
      kind: "upsert",
      windowName: this.spec.name,
      windowStart: record.start,
      windowEnd: record.end,
      groupKey: [...record.groupKey],
      revision: record.revision,
      states,
      results,
    };
  }
}

/** Own properties only: a field named "constructor" or "__proto__" must not resolve to Object.prototype members. */
function readField(fields: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
