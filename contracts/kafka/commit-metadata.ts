/**
 * What the runtime writes into Kafka's committed-offset metadata for each partition (pure). Kafka
 * stores a string with every committed offset (kafkajs: `commitOffsets([{ ..., metadata }])`, read back
 * by `admin.fetchOffsets`), atomically with the offset itself, so it is the natural per-partition record
 * of the batch in flight (the ClickHouse Kafka Connect sink keeps the same record in its own state store):
 *
 *   before inserting batch [first, last]:  offset = first,    metadata "tally/1 max=<M> inflight=<first>-<last>"
 *   after ClickHouse acknowledged it:       offset = last + 1, metadata "tally/1 max=<M'>"
 *
 * M is the partition's newest emitted event time before the batch (M' after it): the rebuild of the
 * partition's state at the committed offset needs it to bound what to read (see rebuild-range.ts).
 *
 * After an idle advance (the watermark moved by processing time, partition-processor.ts) both also carry
 * " floors=<offset>@<watermark>,...": the advances a rebuild still needs. An advance is written like a batch with no offsets of its own, at the next offset C:
 *
 *   before inserting its window rows:       offset = C, metadata "tally/1 max=<M> floors=...,C@<W> inflight=idle"
 *   after ClickHouse acknowledged them:     offset = C, metadata "tally/1 max=<M> floors=...,C@<W>"
 *
 * and a worker that finds "inflight=idle" rebuilds the state at C without the last floor, then advances to
 * it again and re-sends the same rows with the same deduplication token.
 *
 * Both may end with " sink=<ms>ms/<n>f[/parts]": how the partition's previous batch fared in ClickHouse
 * (inserts' wall time including retries, failed attempts, whether one failed with "too many parts").
 * The operator's autoscaler reads it with the offsets and holds scale-up while the sink pushes back.
 * A worker that finds an in-flight record re-reads exactly [first, last] as one batch, so the re-sent
 * insert carries the same deduplication token and ClickHouse drops it if the original landed.
 */

/** An idle advance of a partition's watermark, kept so a rebuild replays it (runtime/core/watermark.ts). */
export interface WatermarkFloor {
  /** The partition's next offset when the watermark was advanced: it holds from this offset on. */
  readonly offset: number;
  readonly watermarkMs: number;
}

export interface CommitMetadata {
  /** Newest event time emitted on the partition below the committed offset (−Infinity: none). */
  readonly maxEventTimeMs: number;
  /** The batch that was being written when this was committed, if any. */
  readonly inflight: { readonly first: number; readonly last: number } | undefined;
  /** Watermark floors left by idle advances that a rebuild at this offset needs; absent when none. */
  readonly floors?: readonly WatermarkFloor[];
  /** The last floor's advance was being written (its window rows may not have landed). */
  readonly idleAdvanceInFlight?: boolean;
  /** How the previous batch's inserts went; absent before the partition's first batch. */
  readonly sink?: SinkReport;
}

export interface SinkReport {
  /** Wall time of the batch's ClickHouse inserts, retries included. */
  readonly insertMs: number;
  /** Insert attempts that failed before the inserts succeeded. */
  readonly failedInserts: number;
  /** One of them failed with TOO_MANY_PARTS (the table merges slower than it is written). */
  readonly tooManyParts: boolean;
}

const PREFIX = "tally/1";

function formatFloors(floors: readonly WatermarkFloor[] | undefined): string {
  if (floors === undefined || floors.length === 0) return "";
  return ` floors=${floors.map((f) => `${f.offset}@${f.watermarkMs}`).join(",")}`;
}

export function formatCommitMetadata(metadata: CommitMetadata): string {
  const max = Number.isFinite(metadata.maxEventTimeMs) ? String(metadata.maxEventTimeMs) : "none";
  const inflight =
    metadata.inflight !== undefined
      ? ` inflight=${metadata.inflight.first}-${metadata.inflight.last}`
      : metadata.idleAdvanceInFlight === true
        ? " inflight=idle"
        : "";
  const sink =
    metadata.sink === undefined
      ? ""
      : ` sink=${Math.round(metadata.sink.insertMs)}ms/${metadata.sink.failedInserts}f${metadata.sink.tooManyParts ? "/parts" : ""}`;
  return `${PREFIX} max=${max}${formatFloors(metadata.floors)}${inflight}${sink}`;
}

export class CommitMetadataError extends Error {
  override readonly name = "CommitMetadataError";
}

const floorPattern = "[0-9]+@-?[0-9]+";
const pattern = new RegExp(
  `^tally/1 max=(none|-?[0-9]+)(?: floors=(${floorPattern}(?:,${floorPattern})*))?(?: inflight=(?:([0-9]+)-([0-9]+)|(idle)))?(?: sink=([0-9]+)ms/([0-9]+)f(/parts)?)?$`,
);

/**
 * Parses committed metadata. Empty or absent metadata (offsets committed by something else, e.g. an
 * offset reset) is `undefined`; anything else that is not ours is an error, since guessing could replay
 * the wrong range.
 */
export function parseCommitMetadata(
  text: string | null | undefined,
  where: string,
): CommitMetadata | undefined {
  if (text === null || text === undefined || text === "") return undefined;
  const match = pattern.exec(text);
  if (match === null) {
    throw new CommitMetadataError(
      `${where}: committed offset metadata ${JSON.stringify(text)} is not Tally's (${PREFIX} ...)`,
    );
  }
  const [, max = "none", floorList, first, last, idle, insertMs, failed, parts] = match;
  const inflight =
    first === undefined || last === undefined ? undefined : { first: Number(first), last: Number(last) };
  if (inflight !== undefined && inflight.last < inflight.first) {
    throw new CommitMetadataError(`${where}: in-flight range ${first}-${last} is empty`);
  }
  const maxEventTimeMs = max === "none" ? Number.NEGATIVE_INFINITY : Number(max);
  const floors = floorList === undefined ? undefined : parseFloors(floorList, where);
  if (idle !== undefined && floors === undefined) {
    throw new CommitMetadataError(`${where}: an idle advance is in flight but no floor is recorded`);
  }
  const sink =
    insertMs === undefined || failed === undefined
      ? undefined
      : { insertMs: Number(insertMs), failedInserts: Number(failed), tooManyParts: parts !== undefined };
  return {
    maxEventTimeMs,
    inflight,
    ...(floors === undefined ? {} : { floors }),
    ...(idle === undefined ? {} : { idleAdvanceInFlight: true }),
    ...(sink === undefined ? {} : { sink }),
  };
}

function parseFloors(text: string, where: string): WatermarkFloor[] {
  const floors = text.split(",").map((item) => {
    const [offset = "", watermark = ""] = item.split("@");
    return { offset: Number(offset), watermarkMs: Number(watermark) };
  });
  floors.forEach((f, i) => {
    const previous = floors[i - 1];
    if (previous !== undefined && !(f.offset >= previous.offset && f.watermarkMs > previous.watermarkMs)) {
      throw new CommitMetadataError(`${where}: watermark floors ${text} are not in ascending order`);
    }
  });
  return floors;
}
