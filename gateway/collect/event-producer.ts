/**
 * The collector's Kafka producers: one idempotent kafkajs producer per broker set (pipelines may use
 * different clusters), acks from all in-sync replicas, one request in flight per broker so a retried
 * request cannot reorder or double a batch. A send resolves only once the broker acknowledged every
 * message. A producer that failed is dropped; the next request connects afresh.
 */
import kafkajs from "kafkajs";
import { type KafkaConnection, kafkajsConnectionOptions } from "../../contracts/kafka/kafka-connection.js";

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

export class KafkaEventSink implements EventSink {
  private readonly producers = new Map<string, ProducerEntry>();

  constructor(private readonly clientId = "tally-gateway-collector") {}

  async send(connection: KafkaConnection, topic: string, events: readonly OutgoingEvent[]): Promise<void> {
    const key = JSON.stringify(connection);
    const entry = this.producerFor(key, connection);
    try {
      await entry.connected;
      await entry.producer.send({
        topic,
        acks: -1,
        messages: events.map((e) => ({ key: e.key, value: e.value })),
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
