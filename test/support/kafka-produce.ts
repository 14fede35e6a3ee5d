import { setTimeout as sleep } from "node:timers/promises";
import kafkajs from "kafkajs";
import { e2eTarget } from "../e2e/target.js";
import type { ProducedMessage } from "./clickstream-generator.js";

/** Produces each partition's messages in order, to that partition (offsets = their indexes in a fresh topic). */
export async function produce(
  topic: string,
  partitions: readonly (readonly Pick<ProducedMessage, "partition" | "key" | "value">[])[],
): Promise<void> {
  const producer = new kafkajs.Kafka({
    brokers: [...e2eTarget.host.kafkaBrokers],
    clientId: "tally-test-producer",
    logLevel: kafkajs.logLevel.ERROR,
  }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (const messages of partitions) {
      for (let start = 0; start < messages.length; start += 2_000) {
        await producer.send({
          topic,
          acks: -1,
          messages: messages
            .slice(start, start + 2_000)
            .map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
        });
      }
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Produces a live stream on a schedule: each partition's messages in `chunks` slices, slice k of every
 * partition at `startMs + k * chunkMs` (wall clock), so a clickstream generated with event times from
 * `startMs` at `chunkMs` per slice arrives as it happens. Resolves with the number of messages sent.
 */
export async function produceOnSchedule(
  topic: string,
  partitions: readonly (readonly Pick<ProducedMessage, "partition" | "key" | "value">[])[],
  schedule: { readonly startMs: number; readonly chunks: number; readonly chunkMs: number },
): Promise<number> {
  // The live stream rides out a broker restart (the e2e suite restarts Kafka while it flows): retries
  // for about a minute, and the idempotent producer keeps a retried send from landing twice.
  const producer = new kafkajs.Kafka({
    brokers: [...e2eTarget.host.kafkaBrokers],
    clientId: "tally-test-producer",
    logLevel: kafkajs.logLevel.ERROR,
    retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 3_000 },
  }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let sent = 0;
  try {
    for (let k = 0; k < schedule.chunks; k++) {
      const due = schedule.startMs + k * schedule.chunkMs;
      if (due > Date.now()) await sleep(due - Date.now());
      const last = k === schedule.chunks - 1;
      const slice = partitions.flatMap((messages) => {
        const size = Math.ceil(messages.length / schedule.chunks);
        return last ? messages.slice(k * size) : messages.slice(k * size, (k + 1) * size);
      });
      if (slice.length === 0) continue;
      await producer.send({
        topic,
        acks: -1,
        messages: slice.map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
      });
      sent += slice.length;
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
}
