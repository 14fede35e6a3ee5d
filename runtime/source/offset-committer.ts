/**
 * Offset commits with metadata, fenced against rebalances.
 *
 * Kafka checks a commit's generation and member id, not whether the member owns the partition. A worker
 * that lost a partition in a rebalance but is still in the group could therefore commit it under the
 * new generation and overwrite the new owner's progress (or its in-flight record). So every commit goes
 * through `commit()`, which refuses while the group is changing:
 *  - the fence closes synchronously when kafkajs reports a rebalance (REBALANCING) or when a JoinGroup
 *    response arrives (kafkajs re-joins without REBALANCING on some errors), i.e. before kafkajs adopts a
 *    new generation;
 *  - it opens again once the new assignment is known (GROUP_JOIN), and then each partition may only be
 *    committed by the assignment epoch it belongs to.
 * Commits use the `commitOffsetsIfNecessary(offsets)` function kafkajs hands to eachBatch, which sends one
 * OffsetCommit with the consumer's current generation and no retry: a commit issued before the fence
 * closed is sent before the JoinGroup on the same coordinator connection, so the broker applies it under
 * the old generation (or refuses it); kafkajs' `consumer.commitOffsets` would retry, and a retry could
 * cross into the new generation.
 */
import type { Offsets } from "kafkajs";

type CommitFunction = (offsets: Offsets) => Promise<void>;

export class FencedCommitError extends Error {
  override readonly name = "FencedCommitError";
}

interface OffsetCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string;
}

export class OffsetCommitter {
  private commitFn: CommitFunction | undefined;
  private fenced = true;
  private epochValue = 0;

  /** The assignment epoch: increases every time the fence closes. */
  get epoch(): number {
    return this.epochValue;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  /**
   * Called from eachBatch with its payload's commit function. The latest one wins: when kafkajs restarts a
   * crashed consumer (a broker restart does that) it builds a new runner and group membership, and the
   * old runner's function commits under a member id the coordinator no longer knows (UNKNOWN_MEMBER_ID,
   * which the writers take for a rebalance that never comes).
   */
  capture(fn: CommitFunction): void {
    this.commitFn = fn;
  }

  /** The group is changing: refuse commits until `open`. Synchronous on purpose (see above). */
  close(): void {
    if (!this.fenced) this.epochValue++;
    this.fenced = true;
  }

  /** The new assignment is known: commits of partitions initialised in this epoch may proceed. */
  open(): number {
    this.fenced = false;
    return this.epochValue;
  }

  /** Commits one partition's offset, unless fenced or `epoch` is not the current one. */
  async commit(entry: OffsetCommit, epoch: number): Promise<void> {
    const fn = this.commitFn;
    if (this.fenced || epoch !== this.epochValue) {
      throw new FencedCommitError(
        `${entry.topic}[${entry.partition}]: not committing offset ${entry.offset} while the group rebalances`,
      );
    }
    if (fn === undefined) throw new Error("no kafkajs commit function captured yet (no batch was consumed)");
    // kafkajs passes `metadata` through to OffsetCommit; its Offsets type does not list the field.
    const partition: { partition: number; offset: string; metadata: string } = {
      partition: entry.partition,
      offset: String(entry.offset),
      metadata: entry.metadata,
    };
    await fn({ topics: [{ topic: entry.topic, partitions: [partition] }] });
  }
}
