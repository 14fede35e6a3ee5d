import { randomUUID } from "node:crypto";
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaBrokers } from "../env/config.js";

// What the product needs from the broker through kafkajs: consumer groups with committed offsets,
// admin offset reads (the autoscaler's lag signal), the idempotent producer and transactions.
const kafka = new kafkajs.Kafka({
  brokers: kafkaBrokers,
  clientId: "tally-kafka-int-test",
  logLevel: kafkajs.logLevel.ERROR,
});
const admin = kafka.admin();

beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
});

function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

describe("Kafka broker through kafkajs", () => {
  it("round-trips 100,000 messages through a consumer group and commits every offset", async () => {
    const topic = uniqueTopic("roundtrip");
    const groupId = `${topic}-group`;
    const total = 100_000;
    const partitions = 4;
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const batch = 5_000;
    for (let start = 0; start < total; start += batch) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: batch }, (_, i) => ({
          key: `user-${(start + i) % 997}`,
          value: JSON.stringify({ seq: start + i }),
        })),
      });
    }
    await producer.disconnect();

    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.reduce((sum, p) => sum + Number(p.high), 0)).toBe(total);

    const seen = new Set<number>();
    let received = 0;
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch: b, resolveOffset, commitOffsetsIfNecessary }) => {
            for (const message of b.messages) {
              const value = message.value?.toString("utf8") ?? "";
              seen.add((JSON.parse(value) as { seq: number }).seq);
              received += 1;
              resolveOffset(message.offset);
            }
            await commitOffsetsIfNecessary();
            if (received >= total) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect(); // commits what was resolved

    expect(received).toBe(total);
    expect(seen.size).toBe(total);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committedTotal = committed
      .flatMap((t) => t.partitions)
      .reduce((sum, p) => sum + Number(p.offset), 0);
    expect(committedTotal).toBe(total);
    // Lag per partition, as the autoscaler computes it: end offset minus committed offset.
    for (const end of ends) {
      const done = committed[0]?.partitions.find((p) => p.partition === end.partition);
      expect(Number(end.high) - Number(done?.offset)).toBe(0);
    }
  });

  it("commits a transaction atomically and hides an aborted one from read_committed consumers", async () => {
    const topic = uniqueTopic("tx");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({
      transactionalId: `${topic}-tx`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();

    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: "kept-1" }, { value: "kept-2" }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: "aborted" }] });
    await aborted.abort();
    const last = await producer.transaction();
    await last.send({ topic, messages: [{ value: "kept-3" }] });
    await last.commit();
    await producer.disconnect();

    const values: string[] = [];
    const consumer = kafka.consumer({ groupId: `${topic}-group`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(message.value?.toString("utf8") ?? "");
            if (values.includes("kept-3")) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(values).toEqual(["kept-1", "kept-2", "kept-3"]);
  });

  it("lets admin reset a group's offsets, which is how a pipeline replays from a point", async () => {
    const topic = uniqueTopic("reset");
    const groupId = `${topic}-group`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.setOffsets({
      groupId,
      topic,
      partitions: [
        { partition: 0, offset: "0" },
        { partition: 1, offset: "0" },
      ],
    });
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]?.partitions.map((p) => p.offset).sort()).toEqual(["0", "0"]);
  });
});
