/**
 * The bench's baseline (runtime.bench.ts): a kafkajs consumer that only counts a topic's messages, run
 * as its own process like the worker and measured the same way, from the group assignment to the last
 * message: CPU of every thread of the process, and wall time. Prints one JSON line.
 *   node --import tsx test/bench/bare-consumer.ts <topic> <messages>
 */
import kafkajs from "kafkajs";
import { kafkaBrokers } from "../env/config.js";

const [topic = "", totalArg = "0"] = process.argv.slice(2);
const total = Number(totalArg);
const kafka = new kafkajs.Kafka({
  brokers: kafkaBrokers,
  clientId: "tally-bench-bare",
  logLevel: kafkajs.logLevel.NOTHING,
});
const consumer = kafka.consumer({
  groupId: `bench-bare-${process.pid}-${Date.now()}`,
  maxBytes: 16 * 1024 * 1024,
});
let cpuAt = process.cpuUsage();
let wallAt = performance.now();
consumer.on(consumer.events.GROUP_JOIN, () => {
  cpuAt = process.cpuUsage();
  wallAt = performance.now();
});
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
let counted = 0;
const measured = await new Promise<{ cpuMs: number; wallMs: number }>((resolve, reject) => {
  consumer
    .run({
      eachBatch: async ({ batch }) => {
        counted += batch.messages.length;
        if (counted >= total) {
          const cpu = process.cpuUsage(cpuAt);
          resolve({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wallAt });
        }
      },
    })
    .catch(reject);
});
console.log(JSON.stringify({ counted, ...measured }));
await consumer.disconnect();
