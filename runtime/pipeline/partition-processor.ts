/**
 * The pipeline of one source partition (pure: no I/O, no clock of its own). Messages go through
 *   decode ─▶ map fields ─▶ dedup check ─▶ enrich ─▶ transforms ─▶ complete ─▶ accept
 * and an accepted event updates the partition's dedup state, its newest event time, and its window
 * operators, and becomes a raw row of the open batch. Anything refused becomes a dead letter.
 *
 * Batches. Messages accumulate in an open batch (a contiguous offset range) until it is *cut*: by row
 * count (spec.sink.clickhouse.batch.maxRows, here), by age (the caller's timer), or exactly after a
 * given offset (`cutAfter`, used to replay an in-flight batch with its original boundaries). Cutting
 * seals the batch with every window result the batch produced (the latest revision of each window),
 * each stamped with version = the batch's last offset.
 *
 * Determinism is what makes the sinks exactly-once. Everything a batch contains is a function of
 * (the state at its first offset, its messages, its boundaries), and the state at an offset is a
 * function of the raw rows emitted below it (see `restore`), so a batch replayed after a crash has
 * the same bytes as the original:
 *  - windows are driven by this partition's own watermark (newest emitted event time minus the
 *    maximum out-of-orderness), never by a wall clock or by other partitions;
 *  - dedup remembers emitted events only, over an event-time horizon (dedup.ts);
 *  - session windows are advanced after every event, so their state is a function of the events alone
 *    and never of where batches were cut. (Advancing them only at cuts would not do: a session that
 *    fired at one cut and then merged with another keeps its fired flag, while the same events without
 *    that cut in between merge first and fire later, and a rebuild does not know where the cuts were.)
 *    Tumbling and sliding windows are advanced at cuts only: which of them have fired at a cut depends
 *    on the watermark alone, and a window due for purging that lingers until the next advance refuses
 *    late events exactly as a purged one would. Results are collected per window identity and emitted,
 *    latest revision only, at the cut.
 *
 * Idle advances. When the partition has had no record for idleTimeout, the caller may move its watermark
 * to a processing-time value between two offsets (`advanceIdle`, decided by core/watermark.ts), so the
 * open windows fire without a new record. That value is not a function of the raw rows, so the partition
 * keeps it as a *floor* (offset, watermark) that every later record's watermark is at least, and the
 * floors a rebuild still needs travel in the commit metadata (`floors`): `restore` advances the windows
 * to each floor where its offset comes, as the live path did, and so gives every replayed record the
 * same watermark and the same windows to meet.
 */

import { type WindowResult, windowIdentity } from "../../contracts/windows/window-results.js";
import { pruneFloors, type WatermarkFloor } from "../core/watermark.js";
import { WindowOperator } from "../core/window-operator.js";
import type { FailureKind } from "../decode/decode-failure.js";
import { DecodeFailure } from "../decode/decode-failure.js";
import type { MessageOrigin, Row } from "../decode/row.js";
import type { Enricher } from "../enrich/enricher.js";
import { ChunkedWriter } from "../sinks/chunked-writer.js";
import { encodeWindowRow } from "../sinks/window-rows.js";
import { DedupState } from "./dedup.js";
import type { PipelinePlan } from "./pipeline-plan.js";
import { rebuildLowerBound } from "./rebuild-range.js";

export interface SourceMessage {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface DeadLetter {
  readonly origin: MessageOrigin;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** `late`: the event is valid (and in the raw table) but too late for `window`: the late side output. */
  readonly kind: FailureKind | "late";
  readonly message: string;
  readonly field: string | undefined;
  readonly window: string | undefined;
}

export interface BatchCounters {
  /** Messages processed. */
  in: number;
  /** Raw rows emitted. */
  out: number;
  /** Dead letters for undecodable or invalid messages (late side output not included). */
  invalid: number;
  /** `invalid` by failure kind. */
  readonly invalidByKind: Record<string, number>;
  filtered: number;
  deduplicated: number;
  /** Per window: events behind the watermark that still updated a window (allowed lateness). */
  readonly lateAccepted: Record<string, number>;
  /** Per window: events too late for it (late side output). */
  readonly lateDropped: Record<string, number>;
}

export interface SealedBatch {
  readonly kind: "batch";
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly rawRows: Buffer;
  readonly rowCount: number;
  readonly windowRows: Buffer;
  readonly windowResults: readonly WindowResult[];
  readonly deadLetters: readonly DeadLetter[];
  /** Newest emitted event time before the batch (the state the batch starts from). */
  readonly maxEventTimeBeforeMs: number;
  /** Newest emitted event time after the batch. */
  readonly maxEventTimeAfterMs: number;
  /** The partition's watermark floors before the batch (the state it starts from) and after it. */
  readonly floorsBefore: readonly WatermarkFloor[];
  readonly floorsAfter: readonly WatermarkFloor[];
  /** The partition watermark the windows were advanced to at the cut. */
  readonly watermarkMs: number;
  /** Bytes the batch holds in memory (buffers and dead-letter payloads). */
  readonly bytes: number;
  /** Caller's clock when the batch's first message was processed (for latency metrics). */
  readonly openedAtMs: number;
}

/**
 * The windows an idle advance fired, at a point between two offsets: after `offset − 1`, before `offset`. Its
 * rows carry version `offset − 1`, below any later batch's, and name only windows that fire for the first time.
 */
export interface IdleAdvance {
  readonly kind: "idle-advance";
  readonly topic: string;
  readonly partition: number;
  /** The partition's next offset when it advanced. */
  readonly offset: number;
  /** The watermark it advanced to. */
  readonly watermarkMs: number;
  readonly windowRows: Buffer;
  readonly windowResults: readonly WindowResult[];
  /** Newest emitted event time (unchanged by the advance). */
  readonly maxEventTimeMs: number;
  /** The floors after the advance (the last one is this advance). */
  readonly floors: readonly WatermarkFloor[];
  readonly bytes: number;
}

type Prepared =
  | { readonly offset: number; readonly message: SourceMessage; readonly row: Row }
  | { readonly offset: number; readonly message: SourceMessage; readonly failure: DecodeFailure };

interface OpenBatch {
  readonly firstOffset: number;
  lastOffset: number;
  readonly writer: ChunkedWriter;
  rowCount: number;
  readonly deadLetters: DeadLetter[];
  deadLetterBytes: number;
  readonly maxEventTimeBeforeMs: number;
  readonly floorsBefore: readonly WatermarkFloor[];
  readonly openedAtMs: number;
}

class PartitionProcessorError extends Error {
  override readonly name = "PartitionProcessorError";
}

function newCounters(): BatchCounters {
  return {
    in: 0,
    out: 0,
    invalid: 0,
    invalidByKind: {},
    filtered: 0,
    deduplicated: 0,
    lateAccepted: {},
    lateDropped: {},
  };
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

const DEAD_LETTER_OVERHEAD_BYTES = 256;

function resultBytes(result: WindowResult): number {
  if (result.kind === "retract") return 128;
  let bytes = 256;
  for (const state of Object.values(result.states)) bytes += state.length;
  return bytes;
}

export class PartitionProcessor {
  private readonly dedup: DedupState | undefined;
  private readonly operators: readonly WindowOperator[];
  private maxEventTime = Number.NEGATIVE_INFINITY;
  /** Idle advances a rebuild may still need, in ascending order (see the header). */
  private floors: readonly WatermarkFloor[] = [];
  /** The floor the next record is processed under (−Infinity: none). */
  private floorMs = Number.NEGATIVE_INFINITY;
  private open: OpenBatch | undefined;
  private cutAfterOffset: number | undefined;
  /** The next offset this processor expects; undefined until it knows (first message or restore). */
  nextOffset: number | undefined;
  private counters = newCounters();
  /** Window results since the last cut, latest revision per window identity (insertion order kept). */
  private pending = new Map<string, WindowResult>();
  private pendingBytes = 0;
  /** The current event as the window operators read it, and its raw row's provenance: reused, not allocated per event. */
  private readonly event: { timestampMs: number; fields: Row } = { timestampMs: 0, fields: {} };
  private readonly origin: { readonly topic: string; readonly partition: number; offset: number };

  constructor(
    readonly plan: PipelinePlan,
    readonly topic: string,
    readonly partition: number,
  ) {
    this.dedup = plan.dedup === undefined ? undefined : new DedupState(plan.dedup.horizonMs);
    this.operators = plan.windows.map((spec) => new WindowOperator(spec));
    this.origin = { topic, partition, offset: 0 };
  }

  /** Newest event time emitted on the partition (−Infinity before the first). */
  get maxEventTimeMs(): number {
    return this.maxEventTime;
  }

  /** The partition's watermark: newest emitted event time minus the maximum out-of-orderness, or its floor. */
  get watermarkMs(): number {
    return Math.max(this.maxEventTime - this.plan.eventTime.maxOutOfOrdernessMs, this.floorMs);
  }

  /** The watermark floors a rebuild at the next offset needs (for the commit metadata). */
  get watermarkFloors(): readonly WatermarkFloor[] {
    return this.floors;
  }

  /** The earliest watermark at which a window fires or is purged (Infinity: none open). */
  nextDueMs(): number {
    let due = Number.POSITIVE_INFINITY;
    for (const op of this.operators) due = Math.min(due, op.nextDueMs());
    return due;
  }

  /**
   * Moves the watermark to `watermarkMs` between offsets (the partition is idle: no open batch, nothing
   * awaiting a forced cut) and returns the windows that fire. Undefined when there is nothing to move.
   */
  advanceIdle(watermarkMs: number): IdleAdvance | undefined {
    const offset = this.nextOffset;
    if (offset === undefined || offset === 0 || !(watermarkMs > this.watermarkMs)) return undefined;
    if (this.open !== undefined || this.cutAfterOffset !== undefined) {
      throw new PartitionProcessorError(`${this.where()}: idle advance while a batch is open`);
    }
    this.floorMs = watermarkMs;
    // The floors before it stay as the state before it needs them: a worker that finds this advance in flight
    // rebuilds that state and advances again.
    this.floors = [...this.prune(this.floors), { offset, watermarkMs }];
    for (const op of this.operators) for (const result of op.advance(watermarkMs)) this.collect(result);
    const results = [...this.pending.values()];
    this.pending = new Map();
    this.pendingBytes = 0;
    const writer = new ChunkedWriter(results.length === 0 ? 16 : 16 * 1024);
    for (const result of results) encodeWindowRow(writer, result, this.topic, this.partition, offset - 1);
    const windowRows = writer.toBuffer();
    return {
      kind: "idle-advance",
      topic: this.topic,
      partition: this.partition,
      offset,
      watermarkMs,
      windowRows,
      windowResults: results,
      maxEventTimeMs: this.maxEventTime,
      floors: this.floors,
      bytes: windowRows.length,
    };
  }

  private prune(floors: readonly WatermarkFloor[]): readonly WatermarkFloor[] {
    return pruneFloors(
      floors,
      this.operators.some((op) => op.spec.type === "session"),
      rebuildLowerBound(this.plan, this.maxEventTime),
      this.plan.eventTime.maxOutOfOrdernessMs,
    );
  }

  get openRows(): number {
    return this.open?.rowCount ?? 0;
  }

  get hasOpenBatch(): boolean {
    return this.open !== undefined;
  }

  /** Caller's clock when the open batch started, if there is one. */
  get openedAtMs(): number | undefined {
    return this.open?.openedAtMs;
  }

  /** Memory held by the open batch and the window results it will carry. */
  get openBytes(): number {
    const open = this.open;
    return (open === undefined ? 0 : open.writer.allocatedBytes + open.deadLetterBytes) + this.pendingBytes;
  }

  /** Windows (cells or sessions) holding state, over every window spec. */
  openWindowKeys(): number {
    return this.operators.reduce((sum, op) => sum + op.openKeyCount(), 0);
  }

  /** Events seen since the last call, for metrics. */
  takeCounters(): BatchCounters {
    const counters = this.counters;
    this.counters = newCounters();
    return counters;
  }

  /** Makes the next cut happen exactly after `offset` (replaying an in-flight batch). */
  cutAfter(offset: number): void {
    this.cutAfterOffset = offset;
  }

  /** Decodes and maps messages; changes no state, so the caller may discard what it does not apply. */
  prepare(messages: readonly SourceMessage[]): Prepared[] {
    const { decoder, mapper } = this.plan;
    return messages.map((message) => {
      const decoded = decoder.decode(message.value);
      if (decoded instanceof DecodeFailure) return { offset: message.offset, message, failure: decoded };
      const row = mapper.map(decoded);
      if (row instanceof DecodeFailure) return { offset: message.offset, message, failure: row };
      return { offset: message.offset, message, row };
    });
  }

  /** The rows of prepared messages, for the enricher's prefetch. */
  static rowsOf(prepared: readonly Prepared[]): Row[] {
    return prepared.flatMap((p) => ("row" in p ? [p.row] : []));
  }

  /**
   * Applies one prepared message (enrichment prefetched) at wall-clock `nowMs`. Returns the batch
   * sealed right after it (row-count threshold or forced cut), if any.
   */
  apply(prepared: Prepared, enricher: Enricher, nowMs: number): SealedBatch | undefined {
    const { offset, message } = prepared;
    if (this.nextOffset !== undefined && offset < this.nextOffset) {
      throw new PartitionProcessorError(
        `${this.where()}: offset ${offset} was already processed (next expected ${this.nextOffset})`,
      );
    }
    const open = this.openBatch(offset, nowMs);
    open.lastOffset = offset;
    this.nextOffset = offset + 1;
    this.counters.in++;
    this.process(prepared, message, enricher, open);
    const cutForced = this.cutAfterOffset !== undefined && offset >= this.cutAfterOffset;
    if (cutForced || (this.cutAfterOffset === undefined && open.rowCount >= this.plan.batch.maxRows)) {
      this.cutAfterOffset = undefined;
      return this.seal();
    }
    return undefined;
  }

  /** Seals the open batch now (age threshold, drain, rebalance). Not while a forced cut is pending. */
  cut(): SealedBatch | undefined {
    if (this.open === undefined || this.cutAfterOffset !== undefined) return undefined;
    return this.seal();
  }

  /** Whether a forced cut (in-flight replay) is still waiting for its last offset. */
  get awaitingForcedCut(): boolean {
    return this.cutAfterOffset !== undefined;
  }

  private where(): string {
    return `pipeline ${this.plan.namespace}/${this.plan.name} ${this.topic}[${this.partition}]`;
  }

  private openBatch(offset: number, nowMs: number): OpenBatch {
    if (this.open !== undefined) return this.open;
    this.open = {
      firstOffset: offset,
      lastOffset: offset,
      writer: new ChunkedWriter(),
      rowCount: 0,
      deadLetters: [],
      deadLetterBytes: 0,
      maxEventTimeBeforeMs: this.maxEventTime,
      floorsBefore: this.floors,
      openedAtMs: nowMs,
    };
    return this.open;
  }

  private deadLetter(
    open: OpenBatch,
    message: SourceMessage,
    kind: DeadLetter["kind"],
    text: string,
    field: string | undefined,
    window: string | undefined,
  ): void {
    if (kind !== "late") this.counters.invalidByKind[kind] = (this.counters.invalidByKind[kind] ?? 0) + 1;
    open.deadLetters.push({
      origin: { topic: this.topic, partition: this.partition, offset: message.offset },
      key: message.key,
      value: message.value,
      kind,
      message: text,
      field,
      window,
    });
    open.deadLetterBytes +=
      (message.key?.length ?? 0) + (message.value?.length ?? 0) + text.length + DEAD_LETTER_OVERHEAD_BYTES;
  }

  private process(prepared: Prepared, message: SourceMessage, enricher: Enricher, open: OpenBatch): void {
    if ("failure" in prepared) {
      this.counters.invalid++;
      const f = prepared.failure;
      this.deadLetter(open, message, f.kind, f.message, f.field, undefined);
      return;
    }
    const row = prepared.row;
    const dedup = this.plan.dedup;
    if (this.dedup !== undefined && dedup !== undefined) {
      if (this.dedup.isDuplicate(row[dedup.field] ?? null, this.maxEventTime)) {
        this.counters.deduplicated++;
        return;
      }
    }
    const enrichFailure = enricher.apply(row);
    if (enrichFailure !== undefined) {
      this.counters.invalid++;
      this.deadLetter(
        open,
        message,
        enrichFailure.kind,
        enrichFailure.message,
        enrichFailure.field,
        undefined,
      );
      return;
    }
    const transformed = this.plan.transforms.apply(row);
    if (transformed.kind === "filtered") {
      this.counters.filtered++;
      return;
    }
    if (transformed.kind === "failed") {
      this.counters.invalid++;
      const f = transformed.failure;
      this.deadLetter(open, message, f.kind, f.message, f.field, undefined);
      return;
    }
    const complete = this.plan.mapper.complete(row);
    if (complete instanceof DecodeFailure) {
      this.counters.invalid++;
      this.deadLetter(open, message, complete.kind, complete.message, complete.field, undefined);
      return;
    }
    const time = complete[this.plan.eventTime.field];
    if (typeof time !== "number") {
      this.counters.invalid++;
      this.deadLetter(
        open,
        message,
        "field",
        `event time field ${this.plan.eventTime.field} is not set`,
        this.plan.eventTime.field,
        undefined,
      );
      return;
    }
    this.accept(complete, time, open, message);
    this.origin.offset = message.offset;
    this.plan.rawEncoder.encode(open.writer, complete, this.origin);
    open.rowCount++;
    this.counters.out++;
  }

  /**
   * An emitted event's effect on the partition state. Shared by the live path and `restore`, so a
   * rebuild replays exactly what the live path did. The live path passes its batch and message, which a
   * late event becomes a dead letter of.
   */
  private accept(
    row: Row,
    time: number,
    open: OpenBatch | undefined,
    message: SourceMessage | undefined,
    collect = true,
  ): void {
    const newest = Math.max(time, this.maxEventTime);
    const dedup = this.plan.dedup;
    if (this.dedup !== undefined && dedup !== undefined)
      this.dedup.record(row[dedup.field] ?? null, time, newest);
    this.maxEventTime = newest;
    const watermark = Math.max(newest - this.plan.eventTime.maxOutOfOrdernessMs, this.floorMs);
    const event = this.event;
    event.timestampMs = time;
    event.fields = row;
    for (const op of this.operators) {
      const outcome = op.ingest(event, watermark);
      const window = op.spec.name;
      if (outcome.kind === "late") {
        this.counters.lateDropped[window] = (this.counters.lateDropped[window] ?? 0) + 1;
        if (open !== undefined && message !== undefined)
          this.deadLetter(
            open,
            message,
            "late",
            `event time ${iso(time)} is too late for window ${window}: its windows closed before watermark ${iso(watermark)} minus allowed lateness ${this.plan.eventTime.allowedLatenessMs} ms`,
            this.plan.eventTime.field,
            window,
          );
      } else if (outcome.kind === "accepted" && time < watermark) {
        this.counters.lateAccepted[window] = (this.counters.lateAccepted[window] ?? 0) + 1;
      } else if (outcome.kind === "rejected") {
        // Rows are typed before they get here, so only a value the core cannot aggregate (which coercion
        // already refuses) could land here; the event stays in the raw table and is counted as late-dropped.
        this.counters.lateDropped[window] = (this.counters.lateDropped[window] ?? 0) + 1;
      }
      // Session windows are advanced after every event (see the header); tumbling and sliding windows fire
      // at window boundaries whatever happened in between, so advancing them at the cut is enough.
      if (op.spec.type === "session") {
        const results = op.advance(watermark);
        if (collect) for (const result of results) this.collect(result);
      }
    }
  }

  private collect(result: WindowResult): void {
    const id = windowIdentity(result);
    const previous = this.pending.get(id);
    if (previous !== undefined) this.pendingBytes -= resultBytes(previous);
    this.pending.set(id, result);
    this.pendingBytes += resultBytes(result);
  }

  private seal(): SealedBatch | undefined {
    const open = this.open;
    if (open === undefined) return undefined;
    this.open = undefined;
    const watermark = this.watermarkMs;
    this.floors = this.prune(this.floors);
    // Every event already advanced the windows; this only picks up what an advance at this watermark
    // could still add (nothing, unless the operators changed outside `accept`).
    for (const op of this.operators) for (const result of op.advance(watermark)) this.collect(result);
    const results = [...this.pending.values()];
    this.pending = new Map();
    this.pendingBytes = 0;
    const windowWriter = new ChunkedWriter(results.length === 0 ? 16 : 16 * 1024);
    for (const result of results)
      encodeWindowRow(windowWriter, result, this.topic, this.partition, open.lastOffset);
    const rawRows = open.writer.toBuffer();
    const windowRows = windowWriter.toBuffer();
    return {
      kind: "batch",
      topic: this.topic,
      partition: this.partition,
      firstOffset: open.firstOffset,
      lastOffset: open.lastOffset,
      rawRows,
      rowCount: open.rowCount,
      windowRows,
      windowResults: results,
      deadLetters: open.deadLetters,
      maxEventTimeBeforeMs: open.maxEventTimeBeforeMs,
      maxEventTimeAfterMs: this.maxEventTime,
      floorsBefore: open.floorsBefore,
      floorsAfter: this.floors,
      watermarkMs: watermark,
      bytes: rawRows.length + windowRows.length + open.deadLetterBytes,
      openedAtMs: open.openedAtMs,
    };
  }

  /**
   * Rebuilds the state at offset `nextOffset` from the raw rows the partition emitted below it (in
   * offset order, every row with event time ≥ the lower bound computed by rebuild-range.ts) and the
   * watermark floors recorded with the offset. Window results produced while replaying were already
   * written before the crash and are discarded.
   */
  restore(
    rows: Iterable<{ readonly offset: number; readonly row: Row }>,
    nextOffset: number,
    floors: readonly WatermarkFloor[] = [],
  ): void {
    if (this.open !== undefined || this.nextOffset !== undefined) {
      throw new PartitionProcessorError(`${this.where()}: restore() must run on a fresh processor`);
    }
    const timeField = this.plan.eventTime.field;
    let nextFloor = 0;
    // The live path advanced every window to a floor before the record at its offset: so does the rebuild.
    const applyFloorsUpTo = (offset: number): void => {
      for (
        let floor = floors[nextFloor];
        floor !== undefined && floor.offset <= offset;
        floor = floors[++nextFloor]
      ) {
        this.floorMs = floor.watermarkMs;
        for (const op of this.operators) op.advance(this.watermarkMs);
      }
    };
    for (const { offset, row } of rows) {
      if (offset >= nextOffset) {
        throw new PartitionProcessorError(
          `${this.where()}: restore row at offset ${offset} is not below ${nextOffset}`,
        );
      }
      const time = row[timeField];
      if (typeof time !== "number") {
        throw new PartitionProcessorError(
          `${this.where()}: raw row at offset ${offset} has no event time ${timeField}`,
        );
      }
      applyFloorsUpTo(offset);
      this.accept(row, time, undefined, undefined, false);
    }
    applyFloorsUpTo(nextOffset);
    this.floors = floors;
    const watermark = this.watermarkMs;
    for (const op of this.operators) op.advance(watermark);
    this.nextOffset = nextOffset;
    this.counters = newCounters();
  }
}
