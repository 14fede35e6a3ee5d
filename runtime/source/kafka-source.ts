/**
 * The worker's Kafka side: one consumer in the pipeline's consumer group, batch consumption with manual
 * offsets, per-partition state, backpressure, rebalances and draining.
 *
 * Assignment. kafkajs rebalances eagerly (every partition is revoked and reassigned). When a new
 * assignment arrives (GROUP_JOIN), each assigned partition is paused at once and initialised:
 *  - its committed offset C and metadata are read (admin.fetchOffsets);
 *  - if this worker already holds the partition's state exactly at C (everything flushed and committed
 *    before the rebalance), it keeps it;
 *  - otherwise it rebuilds the state at C from the raw table (rebuild-range.ts) and, if the metadata
 *    records a batch in flight starting at C, makes the processor cut exactly where that batch ended;
 * then the partition resumes. Partitions no longer assigned are dropped: their writer stops before its
 * next commit, and what they had not committed is re-read by the next owner.
 *
 * Flush before revocation. kafkajs has no "partitions revoked" callback and re-joins as soon as it sees
 * the rebalance. So each eachBatch call heartbeats itself, before and after its work (kafkajs heartbeats
 * right after eachBatch returns, and a heartbeat due during the batch would otherwise be its own): when
 * that reports a rebalance in progress, the group is still in its old generation, and the worker cuts
 * and flushes every partition (committing under the old generation, which the coordinator accepts until
 * the join completes) before letting the error through. A rebalance noticed elsewhere (kafkajs'
 * heartbeat after an empty fetch: an idle consumer) finds at most maxDelay of uncommitted data, which
 * the next owner re-reads; the worker logs how much.
 *
 * Idle partitions. A partition that has been delivered no record for spec.eventTime.idleTimeout, that an
 * admin lookup made since then finds caught up (nothing between its position and the high watermark: silence
 * may be a fetch that has not come round yet), and that has nothing open, in flight or paused has its
 * watermark moved by processing time when that closes a window
 * (core/watermark.ts `idleAdvanceTarget`); the processor's idle advance is written like a batch
 * (partition-writer.ts), so the windows it closes are written exactly once and a restart repeats it.
 *
 * Backpressure. Buffered bytes (open batches and sealed, not yet durable ones) are checked after every
 * message against the byte budget (byte-budget.ts): at the threshold the current partition is paused
 * and the rest of its fetched messages are left unresolved (Kafka keeps them; kafkajs refetches them on
 * resume). Paused partitions resume when flushing brings the total under the resume threshold. The
 * consumer's own fetch buffers are bounded separately by maxBytes.
 *
 * Draining (SIGTERM). Stop fetching (pause everything, ignore batches in flight), cut and flush every
 * partition, commit, then leave the group — within the grace period.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "pino";
import { type CommitMetadata, parseCommitMetadata } from "../../contracts/kafka/commit-metadata.js";
import { idleAdvanceTarget, WatermarkTracker } from "../core/watermark.js";
import { type Enricher, EnrichmentError } from "../enrich/enricher.js";
import { type IdleAdvance, PartitionProcessor, type SourceMessage } from "../pipeline/partition-processor.js";
import type { PipelinePlan } from "../pipeline/pipeline-plan.js";
import { collectRebuildRows } from "../pipeline/rebuild-range.js";
import type { ResultStore } from "../sinks/clickhouse-sink.js";
import type { DeadLetterSink } from "../sinks/dead-letter-sink.js";
import type { RedisSink } from "../sinks/redis-sink.js";
import type { RuntimeMetrics } from "../worker/metrics.js";
import type { TestHooks } from "../worker/test-hooks.js";
import type { ByteBudget } from "./byte-budget.js";
import { OffsetCommitter } from "./offset-committer.js";
import { PartitionWriter, type WriterDeps } from "./partition-writer.js";

interface SourceSettings {
  /** Upper bound of one fetch response (kafkajs maxBytes); the consumer's own buffer. */
  readonly fetchMaxBytes: number;
  /** How long the group waits for a silent member before rebalancing without it. */
  readonly sessionTimeoutMs: number;
  /** Longest wait for a rebalance flush before letting kafkajs re-join. */
  readonly rebalanceFlushMs: number;
  /** kafkajs gave up (a crash it will not restart from): the worker should exit and be restarted. */
  readonly onFatal: (error: unknown) => void;
}

interface KafkaSourceOptions {
  readonly kafka: Kafka;
  readonly plan: PipelinePlan;
  readonly clickhouse: ResultStore;
  /** The live-window sink, when the pipeline has spec.sink.redis. */
  readonly redis: RedisSink | undefined;
  readonly enricher: Enricher;
  readonly deadLetters: DeadLetterSink;
  readonly budget: ByteBudget;
  readonly metrics: RuntimeMetrics;
  readonly hooks: TestHooks;
  readonly log: Logger;
  /** The partition writers' clock. */
  readonly now: () => number;
  readonly settings: SourceSettings;
}

interface PartitionState {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  epoch: number;
  readonly processor: PartitionProcessor;
  readonly writer: PartitionWriter;
  highWatermark: number | undefined;
  /** Wall-clock time of the admin lookup that last set highWatermark (0: none yet). */
  highWatermarkCheckedAtMs: number;
  /** Wall-clock time a record of the partition was last delivered (or the partition was initialised). */
  lastActivityMs: number;
}

const TICK_MS = 100;

function partitionKey(topic: string, partition: number): string {
  return `${topic}[${partition}]`;
}

function isRebalanceInProgress(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { type?: unknown }).type === "REBALANCE_IN_PROGRESS"
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KafkaSource {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly highWatermarkLookups = new Map<
    string,
    { readonly startedMs: number; inFlight: boolean }
  >();
  private readonly committer = new OffsetCommitter();
  private readonly partitions = new Map<string, PartitionState>();
  private readonly budgetPaused = new Map<string, { readonly topic: string; readonly partition: number }>();
  private readonly tracker: WatermarkTracker;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private flushingForRebalance = false;
  /** Set by a flush that eachBatch ran for the rebalance kafkajs is about to report. */
  private flushedForRebalance = false;
  private joinedOnce = false;
  private lastRedisCheck = 0;

  private readonly plan: PipelinePlan;
  private readonly clickhouse: ResultStore;
  private readonly enricher: Enricher;
  private readonly deadLetters: DeadLetterSink;
  private readonly writerDeps: Omit<WriterDeps, "committer">;
  private readonly budget: ByteBudget;
  private readonly metrics: RuntimeMetrics;
  private readonly log: Logger;
  private readonly settings: SourceSettings;

  constructor(options: KafkaSourceOptions) {
    const {
      kafka,
      plan,
      clickhouse,
      redis,
      hooks,
      metrics,
      log,
      now,
      budget,
      settings,
      enricher,
      deadLetters,
    } = options;
    this.plan = plan;
    this.clickhouse = clickhouse;
    this.enricher = enricher;
    this.deadLetters = deadLetters;
    this.writerDeps = { plan, clickhouse, redis, hooks, metrics, log, now };
    this.budget = budget;
    this.metrics = metrics;
    this.log = log;
    this.settings = settings;
    this.consumer = kafka.consumer({
      groupId: plan.consumerGroup,
      sessionTimeout: settings.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxBytes: settings.fetchMaxBytes,
      maxBytesPerPartition: Math.min(settings.fetchMaxBytes, 1024 * 1024),
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
    });
    this.admin = kafka.admin();
    this.tracker = new WatermarkTracker({
      maxOutOfOrdernessMs: plan.eventTime.maxOutOfOrdernessMs,
      idleTimeoutMs: plan.eventTime.idleTimeoutMs,
    });
    metrics.bufferBudget.set(budget.options.budgetBytes);
  }

  /** True once the consumer joined the group and is not draining (the readiness probe). */
  get ready(): boolean {
    return this.joinedOnce && !this.draining;
  }

  async start(): Promise<void> {
    const { consumer } = this;
    // Both listeners run synchronously inside kafkajs' emit, before it acts on the new generation.
    consumer.on(consumer.events.REBALANCING, () => {
      if (!this.flushedForRebalance) this.reportUnflushedRebalance();
      this.flushedForRebalance = false;
      this.committer.close();
    });
    consumer.on(consumer.events.REQUEST, (event) => {
      if (event.payload.apiName === "JoinGroup") this.committer.close();
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => {
      this.log.error({ err: event.payload.error, restart: event.payload.restart }, "kafka consumer crashed");
      if (!event.payload.restart && !this.draining) this.settings.onFatal(event.payload.error);
    });
    await this.admin.connect();
    await consumer.connect();
    await consumer
      .subscribe({
        topics: [...this.plan.topics],
        fromBeginning: this.plan.spec.source.kafka.startOffset === "earliest",
      })
      .catch((error: unknown) => {
        // kafkajs says only "This server does not host this topic-partition"; name what was asked for.
        throw new Error(
          `subscribing to spec.source.kafka.topics [${this.plan.topics.join(", ")}]: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Stop fetching, flush and commit everything, leave the group. Resolves within `graceMs`. */
  async drain(graceMs: number): Promise<{ readonly flushed: boolean }> {
    const deadline = Date.now() + graceMs;
    this.draining = true;
    this.consumer.pause(this.plan.topics.map((topic) => ({ topic })));
    for (const state of this.partitions.values()) this.cut(state);
    const flushed = await this.waitForWriters(Math.max(0, deadline - Date.now() - 2_000));
    if (this.timer !== undefined) clearInterval(this.timer);
    await Promise.allSettled([...this.partitions.values()].map((s) => s.writer.deadLetters.close()));
    await this.deadLetters.close();
    await this.writerDeps.redis?.flush(Math.max(0, Math.min(1_000, deadline - Date.now() - 1_000)));
    await Promise.race([
      Promise.allSettled([this.consumer.disconnect(), this.admin.disconnect()]),
      sleep(Math.max(0, deadline - Date.now())),
    ]);
    return { flushed };
  }

  /** The partitions this worker holds (for the Redis resync). */
  assigned(): { readonly topic: string; readonly partition: number }[] {
    return [...this.partitions.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  private totalBuffered(): number {
    let total = 0;
    for (const state of this.partitions.values())
      total += state.processor.openBytes + state.writer.queuedBytes;
    return total;
  }

  private cut(state: PartitionState): void {
    const sealed = state.processor.cut();
    if (sealed !== undefined) state.writer.enqueue(sealed);
  }

  private async waitForWriters(timeoutMs: number): Promise<boolean> {
    const all = Promise.all([...this.partitions.values()].map((s) => s.writer.idle())).then(() => true);
    return Promise.race([all, sleep(timeoutMs).then(() => false)]);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Consumption
  // -------------------------------------------------------------------------------------------------------------

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale, pause } = payload;
    this.committer.capture(commitOffsetsIfNecessary);
    if (this.draining || !isRunning() || isStale()) return;
    await this.heartbeatOrFlush(heartbeat);
    const key = partitionKey(batch.topic, batch.partition);
    const state = this.partitions.get(key);
    if (state === undefined || state.epoch !== this.committer.epoch || this.committer.isFenced) return;
    state.highWatermark = Number(batch.highWatermark);
    const next = state.processor.nextOffset;
    const messages: SourceMessage[] = [];
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (next === undefined || offset >= next) messages.push({ offset, key: m.key, value: m.value });
    }
    if (messages.length === 0) return;
    state.lastActivityMs = Date.now();

    let others = this.totalBuffered() - state.processor.openBytes - state.writer.queuedBytes;
    const held = () => others + state.processor.openBytes + state.writer.queuedBytes;
    if (this.budget.shouldPause(held())) {
      this.pauseForBudget(state, pause);
      return;
    }
    const prepared = state.processor.prepare(messages);
    if (this.enricher.enabled) {
      try {
        await this.enricher.prefetch(PartitionProcessor.rowsOf(prepared));
      } catch (error) {
        if (!(error instanceof EnrichmentError)) throw error;
        this.log.warn({ partition: key, err: error.message }, "enrichment lookup failed; retrying the batch");
        await sleep(1_000);
        return;
      }
      if (this.partitions.get(key) !== state || state.epoch !== this.committer.epoch) return;
      others = this.totalBuffered() - state.processor.openBytes - state.writer.queuedBytes;
    }
    const now = Date.now();
    let last: number | undefined;
    for (const item of prepared) {
      const sealed = state.processor.apply(item, this.enricher, now);
      last = item.offset;
      if (sealed !== undefined) state.writer.enqueue(sealed);
      if (this.budget.shouldPause(held())) {
        this.pauseForBudget(state, pause);
        break;
      }
    }
    if (last !== undefined) resolveOffset(String(last));
    this.metrics.recordCounters(state.processor.takeCounters());
    if (Number.isFinite(state.processor.maxEventTimeMs))
      this.tracker.observe(key, state.processor.maxEventTimeMs, now);
    // kafkajs heartbeats right after this returns; a heartbeat that fell due while the batch ran is
    // sent here instead, so the rebalance it may report is seen where the worker can still flush.
    await this.heartbeatOrFlush(heartbeat);
  }

  /**
   * kafkajs' heartbeat only goes out once the heartbeat interval has passed, and whichever call sends
   * it sees a rebalance first. Seen here, the worker flushes (committing under the old generation)
   * before kafkajs re-joins; seen by kafkajs itself (its heartbeat after an empty fetch), it re-joins
   * at once and the REBALANCING listener reports what was left to the next owner.
   */
  private async heartbeatOrFlush(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (error) {
      if (isRebalanceInProgress(error)) await this.flushForRebalance();
      throw error;
    }
  }

  private pauseForBudget(state: PartitionState, pause: () => void): void {
    pause();
    this.budgetPaused.set(state.key, { topic: state.topic, partition: state.partition });
    this.metrics.pausedPartitions.set(this.budgetPaused.size);
  }

  private async flushForRebalance(): Promise<void> {
    if (this.flushingForRebalance) return;
    this.flushingForRebalance = true;
    try {
      for (const state of this.partitions.values()) this.cut(state);
      const flushed = await this.waitForWriters(this.settings.rebalanceFlushMs);
      this.flushedForRebalance = true;
      this.log.info({ flushed }, "rebalance: flushed owed batches before re-joining");
    } finally {
      this.flushingForRebalance = false;
    }
  }

  /** kafkajs saw the rebalance outside eachBatch: say how much is left for the next owner to re-read. */
  private reportUnflushedRebalance(): void {
    let openBatches = 0;
    let pendingBatches = 0;
    for (const state of this.partitions.values()) {
      if (state.processor.hasOpenBatch) openBatches++;
      pendingBatches += state.writer.pending;
    }
    this.log.info(
      { openBatches, pendingBatches },
      "rebalance: kafkajs re-joins without a flush; uncommitted batches are re-read by the next owner",
    );
  }

  private tick(): void {
    const now = Date.now();
    const { maxDelayMs } = this.plan.batch;
    let openKeys = 0;
    for (const state of this.partitions.values()) {
      const opened = state.processor.openedAtMs;
      if (opened !== undefined && now - opened >= maxDelayMs && state.epoch === this.committer.epoch)
        this.cut(state);
      this.advanceIfIdle(state, now);
      openKeys += state.processor.openWindowKeys();
      const labels = { topic: state.topic, partition: String(state.partition) };
      const next = state.processor.nextOffset;
      if (state.highWatermark !== undefined && next !== undefined) {
        this.metrics.partitionLag.set(labels, Math.max(0, state.highWatermark - next));
      }
      const watermark = state.processor.watermarkMs;
      if (Number.isFinite(watermark)) this.metrics.watermarkDelay.set(labels, (now - watermark) / 1000);
    }
    const total = this.totalBuffered();
    this.budget.observe(total);
    this.metrics.bufferedBytes.set(total);
    this.metrics.bufferedBytesMax.set(this.budget.maxObservedBytes);
    this.metrics.openWindowKeys.set(openKeys);
    const pipelineWatermark = this.tracker.current(now);
    if (Number.isFinite(pipelineWatermark)) this.metrics.pipelineWatermark.set(pipelineWatermark / 1000);
    this.metrics.tickRate(now);
    if (this.budgetPaused.size > 0 && !this.draining && this.budget.shouldResume(total)) {
      const resume = [...this.budgetPaused.values()].filter((p) =>
        this.partitions.has(partitionKey(p.topic, p.partition)),
      );
      this.budgetPaused.clear();
      this.metrics.pausedPartitions.set(0);
      for (const p of resume) this.consumer.resume([{ topic: p.topic, partitions: [p.partition] }]);
    }
    if (now - this.lastRedisCheck >= 1_000) {
      this.lastRedisCheck = now;
      void this.writerDeps.redis?.recoverIfStale();
    }
  }

  /** Moves an idle partition's watermark by processing time when that closes a window (see the header). */
  private advanceIfIdle(state: PartitionState, now: number): void {
    const { processor, writer } = state;
    if (this.draining || state.epoch !== this.committer.epoch || this.budgetPaused.has(state.key)) return;
    if (processor.hasOpenBatch || processor.awaitingForcedCut || writer.pending > 0 || writer.isStopped)
      return;
    const { idleTimeoutMs } = this.plan.eventTime;
    if (!(now - state.lastActivityMs >= idleTimeoutMs)) return;
    // Silent for idleTimeout: is it caught up? Only a lookup made after it fell silent can say.
    const lookedUp = state.highWatermarkCheckedAtMs >= state.lastActivityMs + idleTimeoutMs;
    if (!lookedUp) {
      this.lookUpHighWatermarks(state.topic);
      return;
    }
    const position = processor.nextOffset;
    const target = idleAdvanceTarget({
      nowMs: now,
      lastActivityMs: state.lastActivityMs,
      idleTimeoutMs,
      maxOutOfOrdernessMs: this.plan.eventTime.maxOutOfOrdernessMs,
      watermarkMs: processor.watermarkMs,
      nextDueMs: processor.nextDueMs(),
      backlog:
        state.highWatermark === undefined || position === undefined
          ? undefined
          : Math.max(0, state.highWatermark - position),
    });
    if (target === undefined) return;
    const advance = processor.advanceIdle(target);
    if (advance !== undefined) writer.enqueue(advance);
  }

  /**
   * The topic's high watermarks from the admin API, for silent partitions (one lookup per topic in flight, at
   * most one a second). The time recorded is the lookup's start, so a record delivered while it ran makes
   * it too old to count.
   */
  private lookUpHighWatermarks(topic: string): void {
    const now = Date.now();
    const last = this.highWatermarkLookups.get(topic);
    if (last !== undefined && (last.inFlight || now - last.startedMs < 1_000)) return;
    const lookup = { startedMs: now, inFlight: true };
    this.highWatermarkLookups.set(topic, lookup);
    this.admin
      .fetchTopicOffsets(topic)
      .then((offsets) => {
        for (const { partition, high } of offsets) {
          const state = this.partitions.get(partitionKey(topic, partition));
          if (state === undefined) continue;
          state.highWatermark = Math.max(state.highWatermark ?? 0, Number(high));
          state.highWatermarkCheckedAtMs = Math.max(state.highWatermarkCheckedAtMs, lookup.startedMs);
        }
      })
      .catch((error: unknown) =>
        this.log.warn(
          { topic, err: error instanceof Error ? error.message : String(error) },
          "high-watermark lookup for idle partitions failed; their watermarks wait for the next one",
        ),
      )
      .finally(() => {
        lookup.inFlight = false;
      });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Assignment
  // -------------------------------------------------------------------------------------------------------------

  private onAssignment(assignment: Record<string, number[]>): void {
    const epoch = this.committer.epoch;
    const assigned = new Map<string, { readonly topic: string; readonly partition: number }>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) assigned.set(partitionKey(topic, partition), { topic, partition });
    }
    for (const [key, state] of this.partitions) {
      if (!assigned.has(key)) this.revoke(state);
    }
    for (const { topic, partition } of assigned.values())
      this.consumer.pause([{ topic, partitions: [partition] }]);
    this.committer.open();
    this.joinedOnce = true;
    this.metrics.assignedPartitions.set(assigned.size);
    this.log.info(
      { epoch, partitions: [...assigned.keys()] },
      "assigned partitions; initialising each from its committed offset",
    );
    for (const { topic, partition } of assigned.values()) void this.initialise(topic, partition, epoch);
  }

  private revoke(state: PartitionState): void {
    state.writer.stop();
    void state.writer.deadLetters.close();
    this.partitions.delete(state.key);
    this.budgetPaused.delete(state.key);
    this.tracker.removePartition(state.key);
    this.metrics.partitionLag.remove({ topic: state.topic, partition: String(state.partition) });
    this.metrics.watermarkDelay.remove({ topic: state.topic, partition: String(state.partition) });
  }

  private async initialise(topic: string, partition: number, epoch: number): Promise<void> {
    const key = partitionKey(topic, partition);
    for (let attempt = 0; this.committer.epoch === epoch && !this.draining; attempt++) {
      try {
        const state = await this.stateAtCommittedOffset(topic, partition, epoch);
        if (this.committer.epoch !== epoch || this.draining) return;
        const previous = this.partitions.get(key);
        if (previous !== undefined && previous !== state) this.revoke(previous);
        this.partitions.set(key, state);
        this.tracker.addPartition(key, Date.now());
        // A previous owner may have died between ClickHouse acknowledging a batch and Redis getting its
        // shares; those batches are committed and will not be replayed, so copy them from the window table.
        if (state !== previous) void this.writerDeps.redis?.resyncPartitions([{ topic, partition }]);
        if (!this.budgetPaused.has(key)) this.consumer.resume([{ topic, partitions: [partition] }]);
        return;
      } catch (error) {
        this.log.warn(
          {
            partition: key,
            attempt: attempt + 1,
            err: error instanceof Error ? error.message : String(error),
          },
          "initialising partition failed; retrying",
        );
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  private async stateAtCommittedOffset(
    topic: string,
    partition: number,
    epoch: number,
  ): Promise<PartitionState> {
    const key = partitionKey(topic, partition);
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.plan.consumerGroup, topics: [topic] });
    const entry = offsets?.partitions.find((p) => p.partition === partition);
    const committed = entry === undefined ? -1 : Number(entry.offset);
    const metadata = parseCommitMetadata(
      entry?.metadata,
      `pipeline ${this.plan.namespace}/${this.plan.name} ${key}`,
    );

    const existing = this.partitions.get(key);
    if (
      existing !== undefined &&
      !existing.writer.isStopped &&
      existing.writer.pending === 0 &&
      !existing.processor.hasOpenBatch &&
      existing.processor.nextOffset === committed &&
      metadata?.inflight === undefined &&
      metadata?.idleAdvanceInFlight !== true
    ) {
      existing.epoch = epoch;
      existing.writer.epoch = epoch;
      this.log.info({ partition: key, offset: committed }, "kept partition state across the rebalance");
      return existing;
    }

    // Before any batch: this fences the previous owner's dead-letter transactions and reads how far they got.
    const deadLetters = await this.deadLetters.open(topic, partition);
    try {
      const { processor, replay } = await this.rebuildAt(topic, partition, committed, metadata);
      const writer = new PartitionWriter(
        { ...this.writerDeps, committer: this.committer },
        topic,
        partition,
        epoch,
        deadLetters,
      );
      if (replay !== undefined) writer.enqueue(replay);
      return {
        key,
        topic,
        partition,
        epoch,
        processor,
        writer,
        highWatermark: undefined,
        highWatermarkCheckedAtMs: 0,
        lastActivityMs: Date.now(),
      };
    } catch (error) {
      await deadLetters.close();
      throw error;
    }
  }

  /**
   * The partition's processor at the committed offset, rebuilt from the raw table, and the idle advance to
   * write again if one was in flight.
   */
  private async rebuildAt(
    topic: string,
    partition: number,
    committed: number,
    metadata: CommitMetadata | undefined,
  ): Promise<{ readonly processor: PartitionProcessor; readonly replay: IdleAdvance | undefined }> {
    const processor = new PartitionProcessor(this.plan, topic, partition);
    if (committed < 0) return { processor, replay: undefined };
    const maxEventTime =
      metadata?.maxEventTimeMs ?? (await this.clickhouse.fetchMaxEventTime(topic, partition, committed));
    const started = Date.now();
    const { rows, lowerMs, extensions } = await collectRebuildRows(this.plan, maxEventTime, (from, to) =>
      this.clickhouse.fetchRebuildRows(topic, partition, committed, from, to),
    );
    const floors = metadata?.floors ?? [];
    const inFlightFloor = metadata?.idleAdvanceInFlight === true ? floors.at(-1) : undefined;
    processor.restore(rows, committed, inFlightFloor === undefined ? floors : floors.slice(0, -1));
    // The same state advanced to the same floor fires the same windows: the same rows and token.
    const replay = inFlightFloor === undefined ? undefined : processor.advanceIdle(inFlightFloor.watermarkMs);
    if (metadata?.inflight !== undefined && metadata.inflight.first === committed) {
      processor.cutAfter(metadata.inflight.last);
    }
    this.metrics.rebuilds.inc();
    this.metrics.rebuildRows.inc(rows.length);
    this.log.info(
      {
        partition: partitionKey(topic, partition),
        offset: committed,
        inflight: metadata?.inflight ?? (inFlightFloor === undefined ? null : "idle advance"),
        floors: floors.length,
        rows: rows.length,
        lower: Number.isFinite(lowerMs) ? new Date(lowerMs).toISOString() : null,
        extensions,
        ms: Date.now() - started,
      },
      "rebuilt partition state from the raw table",
    );
    return { processor, replay };
  }
}
