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
 * A worker that finds an in-flight record re-reads exactly [first, last] as one batch, so the re-sent
 * insert carries the same deduplication token and ClickHouse drops it if the original landed.
 */

export interface CommitMetadata {
  /** Newest event time emitted on the partition below the committed offset (−Infinity: none). */
  readonly maxEventTimeMs: number;
  /** The batch that was being written when this was committed, if any. */
  readonly inflight: { readonly first: number; readonly last: number } | undefined;
}

const PREFIX = "tally/1";

export function formatCommitMetadata(metadata: CommitMetadata): string {
  const max = Number.isFinite(metadata.maxEventTimeMs) ? String(metadata.maxEventTimeMs) : "none";
  const inflight =
    metadata.inflight === undefined ? "" : ` inflight=${metadata.inflight.first}-${metadata.inflight.last}`;
  return `${PREFIX} max=${max}${inflight}`;
}

export class CommitMetadataError extends Error {
  override readonly name = "CommitMetadataError";
}

const pattern = /^tally\/1 max=(none|-?[0-9]+)(?: inflight=([0-9]+)-([0-9]+))?$/;

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
  const [, max = "none", first, last] = match;
  const inflight =
    first === undefined || last === undefined ? undefined : { first: Number(first), last: Number(last) };
  if (inflight !== undefined && inflight.last < inflight.first) {
    throw new CommitMetadataError(`${where}: in-flight range ${first}-${last} is empty`);
  }
  return { maxEventTimeMs: max === "none" ? Number.NEGATIVE_INFINITY : Number(max), inflight };
}
