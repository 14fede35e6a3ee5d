/**
 * The dead-letter topic: every message that could not become a row (and every event too late for a
 * window: the late side output), with its original key and value and headers saying why and where it
 * came from:
 *   tally.pipeline         <namespace>/<name>
 *   tally.topic            source topic
 *   tally.partition        source partition
 *   tally.offset           source offset
 *   tally.error.kind       decode | schema | field | transform | late
 *   tally.error            the reason, naming the field or window concerned
 *   tally.error.field      the field concerned, when there is one
 *   tally.window           the window, for `late`
 *
 * Exactly once. A batch's dead letters are produced in one Kafka transaction together with an offset
 * commit, in the side consumer group `<consumer group>.dead-letters`, of the batch's end (last + 1) for
 * its source partition: the letters and the record "written through here" become visible atomically.
 * A replayed batch (a crash after its letters but before its source offsets were committed) finds its
 * range below that record and skips what was written. The transactional id is per source partition
 * (`<consumer group>:<topic>:<partition>`), and a new owner opens it before reading anything, which
 * fences the previous owner: its open transaction is aborted (or completed) first, and it can no longer
 * commit one. Consumers of the topic see each letter once when they read committed records
 * (`isolation.level=read_committed`; kafkajs' default, not kcat's or kafka-console-consumer's).
 * Without spec.deadLetter the records are logged instead, never silently dropped.
 */
import kafkajs, { type IHeaders, type Kafka, type Message, type Producer } from "kafkajs";
import type { DeadLetter } from "../pipeline/partition-processor.js";

export const deadLetterHeaders = {
  pipeline: "tally.pipeline",
  topic: "tally.topic",
  partition: "tally.partition",
  offset: "tally.offset",
  kind: "tally.error.kind",
  error: "tally.error",
  field: "tally.error.field",
  window: "tally.window",
} as const;

function deadLetterMessage(letter: DeadLetter, pipeline: string): Message {
  const headers: IHeaders = {
    [deadLetterHeaders.pipeline]: pipeline,
    [deadLetterHeaders.topic]: letter.origin.topic,
    [deadLetterHeaders.partition]: String(letter.origin.partition),
    [deadLetterHeaders.offset]: String(letter.origin.offset),
    [deadLetterHeaders.kind]: letter.kind,
    [deadLetterHeaders.error]: letter.message,
  };
  if (letter.field !== undefined) headers[deadLetterHeaders.field] = letter.field;
  if (letter.window !== undefined) headers[deadLetterHeaders.window] = letter.window;
  return { key: letter.key, value: letter.value, headers };
}

/** The consumer group whose committed offsets say how far each partition's dead letters were written. */
function deadLetterProgressGroup(consumerGroup: string): string {
  return `${consumerGroup}.dead-letters`;
}

/** One transactional id per source partition; topic names cannot contain ':', so ids cannot collide. */
function deadLetterTransactionalId(consumerGroup: string, topic: string, partition: number): string {
  return `${consumerGroup}:${topic}:${partition}`;
}

/** The letters of one sealed batch, whose source offsets end at lastOffset. */
interface DeadLetterBatch {
  readonly lastOffset: number;
  readonly letters: readonly DeadLetter[];
}

interface DeadLetterOutcome {
  /** Letters produced now. */
  readonly written: number;
  /** Letters an earlier attempt (or owner) had already written, skipped. */
  readonly skipped: number;
}

/** One source partition's dead letters, held by the partition's current owner. */
export interface PartitionDeadLetters {
  /** Produces the batch's letters not yet written; answers only once they are durable. */
  write(batch: DeadLetterBatch): Promise<DeadLetterOutcome>;
  close(): Promise<void>;
}

export interface DeadLetterSink {
  /** Takes over a source partition's dead letters (fencing any earlier owner) before its first batch. */
  open(topic: string, partition: number): Promise<PartitionDeadLetters>;
  close(): Promise<void>;
}

interface TransactionalDeadLetterOptions {
  readonly topic: string;
  /** `<namespace>/<name>`, for the tally.pipeline header. */
  readonly pipeline: string;
  readonly consumerGroup: string;
  /** Called with the number of letters sent inside the transaction, just before it commits (tests crash here). */
  readonly beforeCommit: (letters: number) => void;
}

export function transactionalDeadLetterSink(
  kafka: Kafka,
  options: TransactionalDeadLetterOptions,
): DeadLetterSink {
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  const progressGroup = deadLetterProgressGroup(options.consumerGroup);

  async function writtenThrough(topic: string, partition: number): Promise<number> {
    connected ??= admin.connect();
    await connected;
    const [offsets] = await admin.fetchOffsets({ groupId: progressGroup, topics: [topic] });
    const entry = offsets?.partitions.find((p) => p.partition === partition);
    return Math.max(0, Number(entry?.offset ?? -1));
  }

  return {
    async open(topic, partition) {
      const channel = new TransactionalPartitionChannel(kafka, options, topic, partition, () =>
        writtenThrough(topic, partition),
      );
      await channel.takeOver();
      return channel;
    },
    async close() {
      if (connected !== undefined) await admin.disconnect().catch(() => {});
    },
  };
}

class TransactionalPartitionChannel implements PartitionDeadLetters {
  private producer: Producer | undefined;
  /** Source offsets below this have their letters in the topic. */
  private through = 0;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: TransactionalDeadLetterOptions,
    private readonly topic: string,
    private readonly partition: number,
    private readonly readWrittenThrough: () => Promise<number>,
  ) {}

  /**
   * Opens the partition's transactional producer (InitProducerId fences the previous owner and settles
   * its open transaction), then reads how far letters were written: in that order, so no earlier owner
   * can move the record afterwards.
   */
  async takeOver(): Promise<Producer> {
    const producer = this.kafka.producer({
      transactionalId: deadLetterTransactionalId(this.options.consumerGroup, this.topic, this.partition),
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // kafkajs' default since v2, named so that it does not warn about the change in every pod's log.
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    try {
      await producer.connect();
      // kafkajs initialises the producer id on its first transaction; aborting an empty one sends nothing else.
      await (await producer.transaction()).abort();
      this.through = await this.readWrittenThrough();
    } catch (error) {
      await producer.disconnect().catch(() => {});
      throw error;
    }
    this.producer = producer;
    return producer;
  }

  async write(batch: DeadLetterBatch): Promise<DeadLetterOutcome> {
    if (this.closed) throw new Error(`dead letters of ${this.topic}[${this.partition}]: channel closed`);
    // After a failed attempt the transaction's outcome is unknown: a fresh producer settles it, and the
    // record is re-read before deciding what is still owed.
    const producer = this.producer ?? (await this.takeOver());
    const owed = batch.letters.filter((l) => l.origin.offset >= this.through);
    const skipped = batch.letters.length - owed.length;
    if (owed.length === 0) return { written: 0, skipped };
    const transaction = await producer.transaction();
    try {
      await transaction.send({
        topic: this.options.topic,
        acks: -1,
        messages: owed.map((l) => deadLetterMessage(l, this.options.pipeline)),
      });
      this.options.beforeCommit(owed.length);
      await transaction.sendOffsets({
        consumerGroupId: deadLetterProgressGroup(this.options.consumerGroup),
        topics: [
          {
            topic: this.topic,
            partitions: [{ partition: this.partition, offset: String(batch.lastOffset + 1) }],
          },
        ],
      });
      await transaction.commit();
    } catch (error) {
      this.producer = undefined;
      await producer.disconnect().catch(() => {});
      throw error;
    }
    this.through = batch.lastOffset + 1;
    return { written: owed.length, skipped };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.producer?.disconnect().catch(() => {});
    this.producer = undefined;
  }
}

export function loggingDeadLetterSink(log: (letter: DeadLetter) => void): DeadLetterSink {
  const channel: PartitionDeadLetters = {
    async write(batch) {
      for (const letter of batch.letters) log(letter);
      return { written: batch.letters.length, skipped: 0 };
    },
    async close() {},
  };
  return {
    async open() {
      return channel;
    },
    async close() {},
  };
}
