/**
 * `make demo` until the runtime exists: with the stack up, prove that each service answers
 * through the client the product uses, and print what a newcomer can open next.
 */
import { randomUUID } from "node:crypto";
import { createClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import kafkajs from "kafkajs";
import {
  alertmanagerUrl,
  clickhouseUrl,
  kafkaBrokers,
  prometheusUrl,
  redisUrl,
  stackConfig,
  webhookSinkUrl,
} from "./config.js";

type Check = readonly [name: string, run: () => Promise<string>];

const checks: readonly Check[] = [
  [
    "kafka",
    async () => {
      const kafka = new kafkajs.Kafka({
        brokers: kafkaBrokers,
        clientId: "tally-demo",
        logLevel: kafkajs.logLevel.NOTHING,
      });
      const topic = `tally-demo-${randomUUID().slice(0, 8)}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: "hello from tally" }] });
      await producer.disconnect();
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
      return `produced 1 message; end offset ${ends[0]?.high ?? "?"} on ${kafkaBrokers.join(",")}`;
    },
  ],
  [
    "clickhouse",
    async () => {
      const client = createClient({
        url: clickhouseUrl,
        username: stackConfig.clickhouseUser,
        password: stackConfig.clickhousePassword,
      });
      const result = await client.query({ query: "SELECT version() AS v", format: "JSONEachRow" });
      const [row] = await result.json<{ v: string }>();
      await client.close();
      return `ClickHouse ${row?.v ?? "?"} at ${clickhouseUrl}`;
    },
  ],
  [
    "redis",
    async () => {
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
      await redis.set("tally:demo", "ok", "EX", 60);
      const value = await redis.get("tally:demo");
      const info = await redis.info("server");
      await redis.quit();
      return `SET/GET ${value}; redis ${info.match(/redis_version:(\S+)/)?.[1] ?? "?"} at ${redisUrl}`;
    },
  ],
  [
    "prometheus",
    async () => {
      const body = (await (await fetch(`${prometheusUrl}/api/v1/status/buildinfo`)).json()) as {
        data: { version: string };
      };
      return `Prometheus ${body.data.version} at ${prometheusUrl}`;
    },
  ],
  [
    "alertmanager",
    async () => {
      const body = (await (await fetch(`${alertmanagerUrl}/api/v2/status`)).json()) as {
        versionInfo: { version: string };
      };
      return `Alertmanager ${body.versionInfo.version} at ${alertmanagerUrl}, webhooks to ${webhookSinkUrl}/received`;
    },
  ],
];

let failed = 0;
for (const [name, run] of checks) {
  try {
    console.log(`[demo] ${name.padEnd(12)} ok   ${await run()}`);
  } catch (error) {
    failed += 1;
    console.log(`[demo] ${name.padEnd(12)} FAIL ${error instanceof Error ? error.message : String(error)}`);
  }
}
console.log(
  failed === 0
    ? "[demo] the local stack answers. `make stack-status` shows it, `make stack-down` stops it."
    : `[demo] ${failed} service(s) did not answer; see .tally-stack/logs/`,
);
process.exit(failed === 0 ? 0 : 1);
