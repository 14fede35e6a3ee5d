import kafkajs from "kafkajs";
import { kafkaBrokers } from "../env/config.js";
import type { ProducedMessage } from "./clickstream-generator.js";

/** Produces each partition's messages in order, to that partition (offsets = their indexes in a fresh topic). */
export async function produce(
  topic: string,
  partitions: readonly (readonly Pick<ProducedMessage, "partition" | "key" | "value">[])[],
): Promise<void> {
  const producer = new kafkajs.Kafka({
    brokers: kafkaBrokers,
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
