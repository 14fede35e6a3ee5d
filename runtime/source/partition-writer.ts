/**
 * Makes one partition's sealed batches durable, in order, and commits their offsets only after
 * everything a batch produced is durable. For each batch [first, last]:
 *
 *   1. commit offset `first` with metadata "inflight=first-last" (commit-metadata.ts)
 *   2. insert the raw rows            (token …/first-last/raw)
 *   3. insert the window rows         (token …/first-last/windows)
 *   4. produce the dead letters, in a transaction that also records the batch's end for them
 *      (dead-letter-sink.ts), so a replay skips letters already written
 *   5. commit offset `last + 1` (skipped when the next batch is already queued: its step 1 commits
 *      `last + 1` with its own in-flight record)
 *   6. publish the window results to Redis (fire and forget; see redis-sink.ts)
 *
 * An idle advance (the watermark moved by processing time; partition-processor.ts) is written the same way
 * at the partition's next offset C, with no rows or dead letters of its own: commit C with
 * "inflight=idle" and the new floor, insert its window rows (token …/C@<watermark>/windows), commit C
 * without it, publish to Redis. A new owner that finds "inflight=idle" advances to the same floor from the
 * same state and re-sends the same rows.
 *
 * A crash anywhere leaves either the previous batch committed (the batch is re-read and re-cut freely:
 * nothing of it was inserted) or this batch's in-flight record (it is re-read as exactly [first, last],
 * the processor rebuilt at `first` produces the same bytes, and the tokens make ClickHouse drop what
 * already landed). A failed step is retried with backoff, with the same bytes, until it succeeds or the
 * partition is revoked; meanwhile batches queue up and the byte budget pauses the partition.
 */
import type { Logger } from "pino";
import { formatCommitMetadata, type SinkReport } from "../../contracts/kafka/commit-metadata.js";
import type { IdleAdvance, SealedBatch } from "../pipeline/partition-processor.js";
import type { PipelinePlan } from "../pipeline/pipeline-plan.js";
import type { ResultStore } from "../sinks/clickhouse-sink.js";
import type { PartitionDeadLetters } from "../sinks/dead-letter-sink.js";
import type { RedisSink } from "../sinks/redis-sink.js";
import type { RuntimeMetrics } from "../worker/metrics.js";
import type { TestHooks } from "../worker/test-hooks.js";
import { FencedCommitError, type OffsetCommitter } from "./offset-committer.js";

export interface WriterDeps {
  readonly plan: PipelinePlan;
  readonly committer: OffsetCommitter;
  readonly clickhouse: ResultStore;
  readonly redis: RedisSink | undefined;
  readonly hooks: TestHooks;
  readonly metrics: RuntimeMetrics;
  readonly log: Logger;
  readonly now: () => number;
}

interface StepOutcome {
  readonly failures: number;
  readonly tooManyParts: boolean;
}

/** ClickHouse's TOO_MANY_PARTS (code 252): "Too many parts (N). Merges are processing significantly slower than inserts". */
const tooManyPartsPattern = /TOO_MANY_PARTS|Too many parts/;

/** Thrown inside the loop when the partition was revoked or the group fenced: stop without committing. */
class Stopped extends Error {}

/**
 * Kafka errors meaning "this member's generation is over" (or, for the dead-letter producer, "a newer
 * owner of the partition opened its transactional id"): retrying cannot help, the rebalance will.
 */
const generationErrors = new Set([
  "ILLEGAL_GENERATION",
  "REBALANCE_IN_PROGRESS",
  "UNKNOWN_MEMBER_ID",
  "FENCED_INSTANCE_ID",
  "INVALID_PRODUCER_EPOCH",
]);

function errorType(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "type" in error) {
    const type = (error as { type: unknown }).type;
    return typeof type === "string" ? type : undefined;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PartitionWriter {
  private readonly queue: (SealedBatch | IdleAdvance)[] = [];
  private loop: Promise<void> | undefined;
  private stopped = false;
  private bytes = 0;
  private readonly where: string;

  constructor(
    private readonly deps: WriterDeps,
    readonly topic: string,
    readonly partition: number,
    /** The assignment epoch this writer may commit in (see offset-committer.ts). */
    public epoch: number,
    /** This partition's dead letters, opened (and any earlier owner fenced) before the writer. */
    readonly deadLetters: PartitionDeadLetters,
  ) {
    this.where = `${topic}[${partition}]`;
  }

  /** Sealed batches not yet committed. */
  get pending(): number {
    return this.queue.length;
  }

  /** Bytes held by sealed batches not yet committed. */
  get queuedBytes(): number {
    return this.bytes;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  enqueue(batch: SealedBatch | IdleAdvance): void {
    if (this.stopped) return;
    this.queue.push(batch);
    this.bytes += batch.bytes;
    if (batch.kind === "batch") this.deps.metrics.batchBytes.observe(batch.bytes);
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
    });
  }

  /** How the last completed batch's inserts went: reported with every commit (commit-metadata.ts). */
  private lastSink: SinkReport | undefined;

  /** Revoked or fenced: finish the current step, then stop before the next commit. */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves once every queued batch is committed, or the writer stopped. */
  async idle(): Promise<void> {
    while (this.loop !== undefined) await this.loop;
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        const batch = this.queue[0];
        if (batch === undefined) return;
        if (batch.kind === "batch") await this.write(batch);
        else await this.writeIdleAdvance(batch);
        this.queue.shift();
        this.bytes -= batch.bytes;
      }
    } catch (error) {
      if (!(error instanceof Stopped)) {
        this.deps.log.error({ err: error, partition: this.where }, "partition writer failed; stopping it");
      }
      this.stopped = true;
    }
  }

  private async write(batch: SealedBatch): Promise<void> {
    const { committer, clickhouse, hooks, metrics } = this.deps;
    const range = `${batch.firstOffset}-${batch.lastOffset}`;
    await this.step("commit in-flight record", () =>
      committer.commit(
        {
          topic: this.topic,
          partition: this.partition,
          offset: batch.firstOffset,
          metadata: formatCommitMetadata({
            maxEventTimeMs: batch.maxEventTimeBeforeMs,
            floors: batch.floorsBefore,
            inflight: { first: batch.firstOffset, last: batch.lastOffset },
            sink: this.lastSink,
          }),
        },
        this.epoch,
      ),
    );
    hooks.reached("before-insert", batch.rowCount);
    const insertStarted = this.deps.now();
    const raw = await this.step(`insert raw rows ${range}`, async () => {
      const end = metrics.insertLatency.startTimer({ table: "raw" });
      await clickhouse.insert(batch, "raw");
      end();
    });
    hooks.reached("after-raw-insert", batch.rowCount);
    const windows = await this.step(`insert window rows ${range}`, async () => {
      const end = metrics.insertLatency.startTimer({ table: "windows" });
      await clickhouse.insert(batch, "windows");
      end();
    });
    hooks.reached("after-insert", batch.rowCount);
    this.lastSink = {
      insertMs: Math.max(0, this.deps.now() - insertStarted),
      failedInserts: raw.failures + windows.failures,
      tooManyParts: raw.tooManyParts || windows.tooManyParts,
    };
    await this.step(`produce dead letters ${range}`, async () => {
      const { written, skipped } = await this.deadLetters.write({
        lastOffset: batch.lastOffset,
        letters: batch.deadLetters,
      });
      metrics.deadLetters.inc(written);
      if (skipped > 0)
        this.deps.log.info(
          { partition: this.where, range, written, skipped },
          "replayed batch: skipped dead letters an earlier attempt had written",
        );
      hooks.reached("after-dead-letters", written);
    });
    if (this.queue.length <= 1) {
      await this.step("commit", () =>
        committer.commit(
          {
            topic: this.topic,
            partition: this.partition,
            offset: batch.lastOffset + 1,
            metadata: formatCommitMetadata({
              maxEventTimeMs: batch.maxEventTimeAfterMs,
              floors: batch.floorsAfter,
              inflight: undefined,
              sink: this.lastSink,
            }),
          },
          this.epoch,
        ),
      );
    }
    metrics.batchRows.observe(batch.rowCount);
    metrics.batchLatency.observe(Math.max(0, this.deps.now() - batch.openedAtMs) / 1000);
    this.deps.redis?.publish(
      batch.windowResults,
      this.topic,
      this.partition,
      batch.lastOffset,
      batch.watermarkMs,
    );
  }

  private async writeIdleAdvance(advance: IdleAdvance): Promise<void> {
    const { committer, clickhouse, metrics } = this.deps;
    const commit = (idleAdvanceInFlight: boolean) =>
      committer.commit(
        {
          topic: this.topic,
          partition: this.partition,
          offset: advance.offset,
          metadata: formatCommitMetadata({
            maxEventTimeMs: advance.maxEventTimeMs,
            floors: advance.floors,
            inflight: undefined,
            idleAdvanceInFlight,
            sink: this.lastSink,
          }),
        },
        this.epoch,
      );
    const label = `${advance.offset}@${new Date(advance.watermarkMs).toISOString()}`;
    await this.step("commit in-flight idle advance", () => commit(true));
    await this.step(`insert window rows of idle advance ${label}`, async () => {
      const end = metrics.insertLatency.startTimer({ table: "windows" });
      await clickhouse.insertIdleAdvance(advance);
      end();
    });
    if (this.queue.length <= 1) await this.step("commit", () => commit(false));
    this.deps.log.info(
      {
        partition: this.where,
        offset: advance.offset,
        watermark: new Date(advance.watermarkMs).toISOString(),
        windows: advance.windowResults.length,
      },
      "idle partition: advanced the watermark by processing time and wrote the windows it closed",
    );
    this.deps.redis?.publish(
      advance.windowResults,
      this.topic,
      this.partition,
      advance.offset - 1,
      advance.watermarkMs,
    );
  }

  /**
   * Runs a step until it succeeds; stops (without retrying) when revoked or fenced. Answers how many
   * attempts failed, and whether one failed because the table has too many parts.
   */
  private async step(label: string, action: () => Promise<void>): Promise<StepOutcome> {
    let tooManyParts = false;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new Stopped();
      try {
        await action();
        if (attempt > 0)
          this.deps.log.info(
            { partition: this.where, step: label, attempts: attempt + 1 },
            "sink step succeeded after retries",
          );
        return { failures: attempt, tooManyParts };
      } catch (error) {
        if (tooManyPartsPattern.test(error instanceof Error ? error.message : String(error)))
          tooManyParts = true;
        if (error instanceof FencedCommitError || generationErrors.has(errorType(error) ?? "")) {
          this.deps.log.info(
            { partition: this.where, step: label, reason: String(error) },
            "group is rebalancing; leaving the batch to the partition's next owner",
          );
          this.stopped = true;
          throw new Stopped();
        }
        this.deps.metrics.sinkRetries.inc({ step: label.split(" ").slice(0, 2).join(" ") });
        if (attempt === 0 || attempt % 10 === 0) {
          this.deps.log.warn(
            {
              partition: this.where,
              step: label,
              attempt: attempt + 1,
              err: error instanceof Error ? error.message : String(error),
            },
            "sink step failed; retrying with the same bytes",
          );
        }
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }
}
