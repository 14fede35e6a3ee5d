import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import { buildTokenTable } from "../../gateway/auth/token-table.js";
import { Collector } from "../../gateway/collect/collector.js";
import { collectorOriginsAnnotation } from "../../gateway/collect/cors.js";
import { KafkaEventSink } from "../../gateway/collect/event-producer.js";
import { buildApp, type GatewayApp } from "../../gateway/http/app.js";
import { createLogger } from "../../gateway/logger.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { eventually } from "../support/eventually.js";
import { freePort } from "../support/free-port.js";
import {
  clickhouseClient,
  pipelineManifest,
  planOf,
  type RuntimeTestNames,
  runtimeTestNames,
  waitForCommitted,
} from "../support/runtime-harness.js";
import {
  startWorkerPipeline,
  stopWorkerPipeline,
  topicEnds,
  type WorkerPipeline,
} from "../support/worker-pipeline.js";

// The collector on the stack: the gateway app in-process (real token table, the real Kafka producer),
// the example clickstream Pipeline pointed at a fresh topic in the registry snapshot, and a real runtime
// worker consuming that topic into the raw table. What lands there is compared with what was sent.

const origin = "https://shop.example.com";
const tokens = {
  writer: `w-${Math.random().toString(36).slice(2)}`,
  reader: `r-${Math.random().toString(36).slice(2)}`,
};
const b64 = (s: string) => Buffer.from(s).toString("base64");
const { table: tokenTable } = buildTokenTable([
  {
    ref: { namespace: "tally", name: "writer" },
    data: { token: b64(tokens.writer), namespaces: b64("*"), scopes: b64("read,write") },
  },
  { ref: { namespace: "tally", name: "reader" }, data: { token: b64(tokens.reader), namespaces: b64("*") } },
]);

const clickhouse = clickhouseClient();
const sink = new KafkaEventSink("tally-collector-test");
let names: RuntimeTestNames;
let loaded: WorkerPipeline;
let app: GatewayApp;
let base: string;
const deadPipeline = "unreachable";

interface SentEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly type: string;
  readonly url: string;
  readonly ts: string;
}

const now = Date.now();
let serial = 0;
function events(count: number): SentEvent[] {
  return Array.from({ length: count }, () => {
    const i = serial++;
    return {
      event_id: `ev-${i}`,
      // 20 users: their keys cover all 3 partitions (waitForCommitted waits for a commit on each).
      user_id: `user-${i % 20}`,
      type: i % 3 === 0 ? "page_view" : "click",
      url: `/page/${i % 5}`,
      ts: new Date(now - 60_000 + i * 10).toISOString(),
    };
  });
}

const post = (
  body: unknown,
  { token = tokens.writer, pipeline = names.pipeline, headers = {} as Record<string, string> } = {},
) =>
  fetch(`${base}/api/v1/namespaces/${names.namespace}/pipelines/${pipeline}/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  names = runtimeTestNames("collect", `gw-collect-${Math.random().toString(36).slice(2, 8)}`);
  const manifest = pipelineManifest(names);
  const spec = planOf(manifest).spec;
  loaded = await startWorkerPipeline(names, manifest, 3);
  const pipelines: PipelineObject[] = [
    {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Pipeline",
      metadata: {
        name: names.pipeline,
        namespace: names.namespace,
        resourceVersion: "1",
        annotations: { [collectorOriginsAnnotation]: origin },
      },
      spec,
    },
    {
      // The same pipeline but for brokers nobody listens on.
      metadata: { name: deadPipeline, namespace: names.namespace, resourceVersion: "1" },
      spec: {
        ...spec,
        source: { kafka: { ...spec.source.kafka, brokers: [`127.0.0.1:${await freePort()}`] } },
      },
    },
  ];
  const logger = createLogger(new Writable({ write: (_c, _e, done) => done() }));
  const snapshot = () => ({ pipelines, rollups: [] });
  app = await buildApp({
    service: createQueryService({
      snapshot,
      clickhouse,
      redis: undefined,
      cache: undefined,
      logger,
      now: Date.now,
    }),
    tokens: () => tokenTable,
    rateLimitPerMinute: 10_000,
    logger,
    collector: new Collector({ snapshot, sink, logger }),
  });
  base = await app.listen({ port: 0, host: "127.0.0.1" });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await sink.close();
  await stopWorkerPipeline(loaded, clickhouse);
  await clickhouse.close();
});

describe("gateway event collector on the stack", () => {
  it("lands valid batches in the raw table exactly once, a retried request included", async () => {
    const first = events(300);
    const second = events(120);
    const single = events(1)[0];
    for (const body of [{ events: first }, { events: second }, single]) {
      const reply = await post(body);
      expect(reply.status, await reply.clone().text()).toBe(202);
    }
    // The client did not see the answer to `second` and sends it again: the same event ids.
    const retry = await post({ events: second });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toEqual({ accepted: second.length });

    const sent = [...first, ...second, single].filter((e) => e !== undefined);
    const ends = await topicEnds(names);
    expect(ends.reduce((a, b) => a + b, 0)).toBe(sent.length + second.length);
    await waitForCommitted(names, ends, 120_000);
    const rows = await eventually(async () => {
      const result = await clickhouse.query({
        query: `SELECT event_id, user_id, toString(type) AS type, url, toUnixTimestamp64Milli(ts) AS ts, _partition FROM ${loaded.rawTable} ORDER BY event_id`,
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const got = await result.json<SentEvent & { ts: number; _partition: number }>();
      if (got.length < sent.length) throw new Error(`${got.length} rows of ${sent.length}`);
      return got;
    }, 60_000);
    const expected = sent
      .map((e) => ({
        event_id: e.event_id,
        user_id: e.user_id,
        type: e.type,
        url: e.url,
        ts: Date.parse(e.ts),
      }))
      .sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
    expect(rows.map(({ _partition, ...row }) => row)).toEqual(expected);
    // Keyed by user: all of one user's events on one partition (in the order sent, by offset).
    const partitions = new Map<string, Set<number>>();
    for (const row of rows)
      partitions.set(row.user_id, (partitions.get(row.user_id) ?? new Set()).add(row._partition));
    for (const [user, seen] of partitions) expect(seen.size, user).toBe(1);
  }, 240_000);

  it("refuses a batch with an invalid event, naming its path, and writes nothing to the topic", async () => {
    const before = await topicEnds(names);
    const batch = events(5);
    const broken = { ...batch[3], ts: "yesterday", event_id: undefined };
    const reply = await post({ events: [...batch.slice(0, 3), broken, batch[4]] });
    expect(reply.status).toBe(400);
    const body = (await reply.json()) as { error: string; errors: { path: string; message: string }[] };
    expect(body.error).toBe("InvalidEvents");
    expect(body.errors).toEqual([
      { path: "events[3]/event_id", message: "is required" },
      { path: "events[3]/ts", message: 'must match format "date-time"' },
    ]);
    expect(await topicEnds(names)).toEqual(before);
  });

  it("answers 413 for an oversized payload, 403 for a read-only token, 503 when Kafka is unreachable", async () => {
    const before = await topicEnds(names);
    const huge = await post({ events: [{ ...events(1)[0], url: "x".repeat(1024 * 1024) }] });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { message: string }).message).toContain("1048576 bytes");
    const many = await post({ events: events(501) });
    expect(many.status).toBe(413);
    const readOnly = await post({ events: events(1) }, { token: tokens.reader });
    expect(readOnly.status).toBe(403);
    expect(((await readOnly.json()) as { message: string }).message).toContain('"write" scope');
    expect(await topicEnds(names)).toEqual(before);

    const down = await post({ events: events(2) }, { pipeline: deadPipeline });
    expect(down.status).toBe(503);
    expect(Number(down.headers.get("retry-after"))).toBeGreaterThan(0);
  }, 60_000);

  it("grants CORS to the annotated origin only", async () => {
    const preflight = (from: string) =>
      fetch(`${base}/api/v1/namespaces/${names.namespace}/pipelines/${names.pipeline}/events`, {
        method: "OPTIONS",
        headers: {
          origin: from,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const granted = await preflight(origin);
    expect(granted.status).toBe(204);
    expect(granted.headers.get("access-control-allow-origin")).toBe(origin);
    const wrong = await preflight("https://evil.example.com");
    expect(wrong.headers.get("access-control-allow-origin")).toBeNull();
    const sent = await post(events(1)[0], { headers: { origin: "https://evil.example.com" } });
    expect(sent.status).toBe(202);
    expect(sent.headers.get("access-control-allow-origin")).toBeNull();
    const allowed = await post(events(1)[0], { headers: { origin } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe(origin);
  });
});
