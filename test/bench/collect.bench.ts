/**
 * The event collector at 50 concurrent senders (issue 14; the seed's target: ingestion p95 under
 * 100 ms), on the local stack. The gateway runs in a process of its own (gateway-bench-server.ts with
 * `collector`: the real fastify app, token table, collector and idempotent Kafka producer, acks from all
 * in-sync replicas) and the senders here, over keep-alive connections. Each sender posts a batch of 20
 * valid clickstream events (what the browser tracker sends by default), waits for the 202, and posts
 * the next, for 20 s (TALLY_BENCH_COLLECT_SECONDS) after a 3 s warm-up that is not measured.
 *
 *  - gateway.collect_p50_ms, gateway.collect_p95_ms: request latency at the sender, from sending to
 *    the last byte of the 202 (which the gateway sends only once the brokers acknowledged).
 *  - gateway.collect_events_per_s: events accepted (acknowledged) per second over the measured phase.
 *  - gateway.collect_requests_per_s: the same in requests.
 *
 * Any other answer than 202 fails the bench, and at the end the topic must hold exactly the events
 * acknowledged (none lost, none doubled by the producer's retries).
 */
import { randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { loadavg } from "node:os";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import {
  createTopics,
  kafkaClient,
  pipelineManifest,
  planOf,
  runtimeTestNames,
} from "../support/runtime-harness.js";
import { type BenchFigure, perSecond } from "./bench-figure.js";
import { GatewayServer } from "./gateway-bench-process.js";
import type { BenchServerConfig } from "./gateway-bench-shared.js";

const senders = 50;
const batchSize = 20;
const warmupMs = 3_000;
const measuredMs = Number(process.env.TALLY_BENCH_COLLECT_SECONDS ?? "20") * 1000;
const partitions = 6;

function progress(message: string): void {
  console.log(`[bench] collect: ${message}`);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

/** Posts batches to the collector over keep-alive connections, one request per sender at a time. */
class CollectClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: senders });
  private serial = 0;
  private readonly run = randomUUID().slice(0, 8);

  constructor(
    private readonly port: number,
    private readonly token: string,
    private readonly path: string,
  ) {}

  private batch(): string {
    const now = new Date().toISOString();
    const events = Array.from({ length: batchSize }, () => {
      const i = this.serial++;
      return {
        event_id: `${this.run}-${i}`,
        user_id: `user-${i % 997}`,
        type: i % 4 === 0 ? "click" : "page_view",
        url: `https://shop.example.com/page/${i % 50}`,
        ts: now,
      };
    });
    return JSON.stringify({ events });
  }

  /** One batch; resolves with the time to the last byte of the 202 and the events accepted. */
  post(): Promise<{ ms: number; accepted: number }> {
    const body = this.batch();
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: this.port,
          path: this.path,
          method: "POST",
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const ms = performance.now() - started;
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 202)
              reject(new Error(`POST ${this.path} answered ${res.statusCode}: ${text.slice(0, 500)}`));
            else resolve({ ms, accepted: (JSON.parse(text) as { accepted: number }).accepted });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Every sender back to back until `durationMs` has passed; latencies and events accepted. */
async function sendFor(client: CollectClient, durationMs: number) {
  const latencies: number[] = [];
  let accepted = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const sender = async () => {
    while (performance.now() < deadline) {
      const answer = await client.post();
      latencies.push(answer.ms);
      accepted += answer.accepted;
    }
  };
  await Promise.all(Array.from({ length: senders }, sender));
  return { latencies, accepted, requests: latencies.length, elapsedMs: performance.now() - started };
}

async function topicMessages(topic: string): Promise<number> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function runBench(): Promise<readonly BenchFigure[]> {
  const names = runtimeTestNames("collect-bench", "bench-collect");
  const spec = planOf(pipelineManifest(names)).spec;
  const pipeline: PipelineObject = {
    apiVersion: "tally.dev/v1alpha1",
    kind: "Pipeline",
    metadata: { name: names.pipeline, namespace: names.namespace, resourceVersion: "1" },
    spec,
  };
  const token = randomUUID();
  let server: GatewayServer | undefined;
  let client: CollectClient | undefined;
  try {
    await createTopics(names, partitions);
    const config: BenchServerConfig = {
      namespace: names.namespace,
      token,
      pipeline,
      rollups: [],
      collector: true,
    };
    server = await GatewayServer.start(config);
    client = new CollectClient(
      server.ready.port,
      token,
      `/api/v1/namespaces/${names.namespace}/pipelines/${names.pipeline}/events`,
    );
    const warm = await sendFor(client, warmupMs);
    const before = await server.usage();
    const measured = await sendFor(client, measuredMs);
    const after = await server.usage();
    const sorted = [...measured.latencies].sort((a, b) => a - b);
    const onTopic = await topicMessages(names.topic);
    const acked = warm.accepted + measured.accepted;
    if (onTopic !== acked)
      throw new Error(`the topic holds ${onTopic} messages, but ${acked} events were acknowledged`);
    const cpuMsPerRequest = (after.cpuMicros - before.cpuMicros) / 1000 / measured.requests;
    progress(
      `${senders} senders × batches of ${batchSize} for ${Math.round(measured.elapsedMs / 1000)} s: ` +
        `${measured.requests} requests, ${measured.accepted} events acknowledged (topic of ${partitions} ` +
        `partitions holds all ${onTopic}, warm-up included); p50 ${percentile(sorted, 0.5).toFixed(1)} ms, ` +
        `p95 ${percentile(sorted, 0.95).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms; ` +
        `gateway CPU ${cpuMsPerRequest.toFixed(2)} ms per request, event-loop lag p99 ` +
        `${after.loopLagP99Ms.toFixed(1)} ms; machine load average ${loadavg()[0]?.toFixed(1)} ` +
        "(the figures are only as good as the machine was idle)",
    );
    return [
      { name: "gateway.collect_p50_ms", value: percentile(sorted, 0.5), unit: "ms" },
      { name: "gateway.collect_p95_ms", value: percentile(sorted, 0.95), unit: "ms" },
      {
        name: "gateway.collect_events_per_s",
        value: perSecond(measured.accepted, measured.elapsedMs),
        unit: "events/s",
      },
      {
        name: "gateway.collect_requests_per_s",
        value: perSecond(measured.requests, measured.elapsedMs),
        unit: "req/s",
      },
    ];
  } finally {
    client?.close();
    if (server !== undefined) progress(`gateway process ${await server.stop()}`);
    const admin = kafkaClient().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [names.topic, names.deadLetterTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
