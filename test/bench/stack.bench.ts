/**
 * Baselines of the local stack that later benchmarks divide by: how fast a bare kafkajs consumer
 * drains a topic (the client's ceiling for the runtime), how fast JSON.parse reads the same
 * bytes, and what the ClickHouse HTTP front costs over calling the chdb engine in-process.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@clickhouse/client";
import { Session } from "chdb";
import kafkajs from "kafkajs";
import { clickhouseUrl, kafkaBrokers, stackConfig } from "../env/config.js";
import { type BenchFigure, perSecond } from "./bench-figure.js";

const events = 200_000;

function clickEvent(i: number): string {
  return JSON.stringify({
    event_id: `e-${i}`,
    user_id: `u-${i % 5000}`,
    session_id: `s-${i % 20000}`,
    type: ["page_view", "click", "add_to_cart", "purchase"][i % 4],
    url: `/products/${i % 300}`,
    ts: new Date(1_700_000_000_000 + i * 10).toISOString(),
    value: (i % 97) * 1.5,
  });
}

async function kafkaBaselines(payloads: readonly string[]): Promise<BenchFigure[]> {
  const kafka = new kafkajs.Kafka({
    brokers: kafkaBrokers,
    clientId: "tally-bench",
    logLevel: kafkajs.logLevel.ERROR,
  });
  const topic = `bench-baseline-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  for (let start = 0; start < payloads.length; start += 10_000) {
    await producer.send({
      topic,
      messages: payloads.slice(start, start + 10_000).map((value) => ({ value })),
    });
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-bare`, maxBytes: 16 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let counted = 0;
  let firstAt = 0;
  const elapsedMs = await new Promise<number>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          if (firstAt === 0) firstAt = performance.now();
          counted += batch.messages.length;
          if (counted >= payloads.length) resolve(performance.now() - firstAt);
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();

  const bytes = payloads.map((p) => Buffer.from(p));
  const parseStart = performance.now();
  let checksum = 0;
  for (const b of bytes) checksum += (JSON.parse(b.toString("utf8")) as { value: number }).value;
  const parseMs = performance.now() - parseStart;
  if (Number.isNaN(checksum)) throw new Error("JSON.parse baseline produced NaN");

  const bare = perSecond(counted, elapsedMs);
  const parse = perSecond(bytes.length, parseMs);
  return [
    { name: "stack.kafka_bare_consumer_msgs_per_s", value: bare, unit: "msg/s" },
    { name: "stack.json_parse_msgs_per_s", value: parse, unit: "msg/s" },
    { name: "stack.bare_consumer_vs_json_parse_ratio", value: bare / parse, unit: "ratio" },
  ];
}

async function clickhouseInsertCost(payloads: readonly string[]): Promise<BenchFigure[]> {
  const ddl =
    "CREATE TABLE IF NOT EXISTS bench_events (event_id String, user_id String, session_id String, type String, url String, ts DateTime64(3), value Float64) ENGINE = MergeTree ORDER BY (type, ts)";
  const body = payloads.join("\n");

  const client = createClient({
    url: clickhouseUrl,
    username: stackConfig.clickhouseUser,
    password: stackConfig.clickhousePassword,
    database: "default",
  });
  await client.command({ query: "DROP TABLE IF EXISTS bench_events" });
  await client.command({ query: ddl });
  // Rows as the runtime holds them (objects), parsed before the clock starts.
  const rows = payloads.map((p) => JSON.parse(p) as object);
  const httpStart = performance.now();
  await client.insert({ table: "bench_events", values: rows, format: "JSONEachRow" });
  const httpMs = performance.now() - httpStart;
  await client.command({ query: "DROP TABLE bench_events" });
  await client.close();

  const dir = mkdtempSync(join(tmpdir(), "tally-bench-chdb-"));
  const session = new Session(dir);
  try {
    session.query(ddl);
    const directStart = performance.now();
    session.query(`INSERT INTO bench_events FORMAT JSONEachRow ${body}`);
    const directMs = performance.now() - directStart;
    const http = perSecond(payloads.length, httpMs);
    const direct = perSecond(payloads.length, directMs);
    return [
      { name: "stack.clickhouse_http_insert_rows_per_s", value: http, unit: "rows/s" },
      { name: "stack.clickhouse_inprocess_insert_rows_per_s", value: direct, unit: "rows/s" },
      { name: "stack.clickhouse_http_vs_inprocess_insert_ratio", value: http / direct, unit: "ratio" },
    ];
  } finally {
    session.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runBench(): Promise<readonly BenchFigure[]> {
  const payloads = Array.from({ length: events }, (_, i) => clickEvent(i));
  return [...(await kafkaBaselines(payloads)), ...(await clickhouseInsertCost(payloads))];
}
