/**
 * The collector's Kafka producers: one idempotent kafkajs producer per broker set (pipelines may use
 * different clusters), acks from all in-sync replicas, one request in flight per broker so a retried
 * request cannot reorder or double a batch. A send resolves only once the broker acknowledged every
 * message. A producer that failed is dropped; the next request connects afresh. Requests that arrive
 * while a send is out go together in the next one (send-coalescer.ts): one request in flight would
 * otherwise serve one HTTP request per broker round trip.
 */
import kafkajs from "kafkajs";
import { type KafkaConnection, kafkajsConnectionOptions } from "../../contracts/kafka/kafka-connection.js";
import { SendCoalescer } from "./send-coalescer.js";

export interface OutgoingEvent {
  readonly key: string | null;
  readonly value: string;
}

/** Where collected events are written; the HTTP layer's only I/O besides the registry. */
export interface EventSink {
  send(connection: KafkaConnection, topic: string, events: readonly OutgoingEvent[]): Promise<void>;
  close(): Promise<void>;
}

interface ProducerEntry {
  readonly producer: kafkajs.Producer;
  readonly connected: Promise<void>;
}

interface TopicEvents {
  readonly topic: string;
  readonly events: readonly OutgoingEvent[];
}

/** A send's size, as the brokers count a record batch's: keys and values. */
const bytesOf = ({ events }: TopicEvents) =>
  events.reduce((n, e) => n + e.value.length + (e.key?.length ?? 0), 0);

/** Under the brokers' default message.max.bytes (1 MiB), with room for the batch's own framing. */
const maxSendBytes = 900 * 1024;

export class KafkaEventSink implements EventSink {
  private readonly producers = new Map<string, ProducerEntry>();
  private readonly coalescers = new Map<string, SendCoalescer<TopicEvents>>();

  constructor(private readonly clientId = "tally-gateway-collector") {}

  send(connection: KafkaConnection, topic: string, events: readonly OutgoingEvent[]): Promise<void> {
    const key = JSON.stringify(connection);
    let coalescer = this.coalescers.get(key);
    if (coalescer === undefined) {
      coalescer = new SendCoalescer((group) => this.sendGroup(key, connection, group), bytesOf, maxSendBytes);
      this.coalescers.set(key, coalescer);
    }
    return coalescer.submit({ topic, events });
  }

  private async sendGroup(key: string, connection: KafkaConnection, group: readonly TopicEvents[]) {
    const entry = this.producerFor(key, connection);
    const byTopic = new Map<string, { key: string | null; value: string }[]>();
    for (const { topic, events } of group) {
      const messages = byTopic.get(topic) ?? [];
      for (const e of events) messages.push({ key: e.key, value: e.value });
      byTopic.set(topic, messages);
    }
    try {
      await entry.connected;
      await entry.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (error) {
      if (this.producers.get(key) === entry) this.producers.delete(key);
      await entry.producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const entries = [...this.producers.values()];
    this.producers.clear();
    await Promise.all(entries.map((e) => e.producer.disconnect().catch(() => undefined)));
  }

  private producerFor(key: string, connection: KafkaConnection): ProducerEntry {
    const existing = this.producers.get(key);
    if (existing !== undefined) return existing;
    const kafka = new kafkajs.Kafka({
      clientId: this.clientId,
      ...kafkajsConnectionOptions(connection),
      // Fail within seconds when the brokers are away: the client gets 503 and retries, not a hung request.
      connectionTimeout: 2_000,
      requestTimeout: 10_000,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    const entry = { producer, connected: producer.connect() };
    // A failed connect is seen by the send awaiting it; this keeps it from being an unhandled rejection.
    entry.connected.catch(() => undefined);
    this.producers.set(key, entry);
    return entry;
  }
}
