import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryRequest, QueryResponse, ResultValue } from "../../api/v1alpha1/query.js";
import type { DashboardSnapshot, PanelSnapshot } from "../../api/v1alpha1/stream.js";
import { TokenSecrets } from "../../gateway/auth/token-secrets.js";
import { buildApp, type GatewayApp } from "../../gateway/http/app.js";
import { createLogger } from "../../gateway/logger.js";
import { gatewayMetrics } from "../../gateway/metrics.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { SourceRegistry } from "../../gateway/sources/source-registry.js";
import { readChangeTokens } from "../../gateway/stream/change-token.js";
import { DashboardWatch } from "../../gateway/stream/dashboard-watch.js";
import { StreamHub } from "../../gateway/stream/stream-hub.js";
import { KubeClient } from "../../lib/kube/kube-client.js";
import { kubeconfigPath, redisUrl } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { startGateway } from "../support/gateway-process.js";
import { createNamespace, deleteNamespace, kubectlOk } from "../support/kube.js";
import { markReady } from "../support/ready-status.js";
import {
  clickhouseClient,
  pipelineManifest,
  planOf,
  produce,
  type RuntimeTestNames,
  runtimeTestNames,
  waitForCommitted,
} from "../support/runtime-harness.js";
import { SseClient, SseRefused } from "../support/sse-client.js";
import { applyTokenSecret } from "../support/token-secret.js";
import { startWorkerPipeline, stopWorkerPipeline, type WorkerPipeline } from "../support/worker-pipeline.js";

// Issue 18, live push: the gateway's stream route in-process (the app main.ts builds, with the real
// Dashboard, Pipeline and token-Secret watches on the apiserver, the real query service on the stack's
// ClickHouse, and the change tokens read from the stack's Redis) while a real runtime worker consumes
// events this test produces. Expected counts are computed here from the produced events.

const clickhouse = clickhouseClient();
const token = `sse-${Math.random().toString(36).slice(2)}`;
const partitions = 2;
const types = ["page_view", "click", "add_to_cart", "purchase"] as const;
const heartbeatMs = 1_000;

let namespace: string;
let names: RuntimeTestNames;
let loaded: WorkerPipeline | undefined;
let base: string;
let app: GatewayApp | undefined;
let hub: StreamHub | undefined;
let registry: SourceRegistry | undefined;
let tokens: TokenSecrets | undefined;
let dashboards: DashboardWatch | undefined;
let redis: Redis | undefined;
const metrics = gatewayMetrics();

interface Sent {
  readonly type: (typeof types)[number];
  readonly partition: number;
}
const sent: Sent[] = [];
const ends = Array.from({ length: partitions }, () => 0);
const startMs = Date.now() - 10 * 60_000;
let nextTs = startMs;

/** `count` in-order events, round-robin over the partitions, types in turn, each 100 ms after the last. */
async function produceEvents(count: number): Promise<void> {
  const byPartition: { partition: number; key: string; value: string }[][] = Array.from(
    { length: partitions },
    () => [],
  );
  for (let i = 0; i < count; i++) {
    const partition = sent.length % partitions;
    const type = types[(sent.length * 7 + Math.floor(sent.length / 3)) % types.length] ?? "click";
    const id = `e-${sent.length}`;
    nextTs += 100;
    byPartition[partition]?.push({
      partition,
      key: id,
      value: JSON.stringify({
        event_id: id,
        user_id: `u-${sent.length % 13}`,
        type,
        url: `/p/${sent.length % 5}`,
        ts: new Date(nextTs).toISOString(),
        latency_ms: 10,
        value: 1,
      }),
    });
    sent.push({ type, partition });
    ends[partition] = (ends[partition] ?? 0) + 1;
  }
  await produce(names.topic, byPartition);
  await waitForCommitted(names, ends, 120_000);
}

function expectedByType(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of sent) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  return counts;
}

// Absolute bounds around the test's events: an idle stream then has no range sliding under it.
const range = () => ({
  from: new Date(startMs - 3_600_000).toISOString(),
  to: new Date(startMs + 3 * 3_600_000).toISOString(),
});
const totalQuery = (): Partial<QueryRequest> => ({
  pipeline: names.pipeline,
  metrics: [{ fn: "count", name: "events" }],
  timeRange: range(),
});
const byTypeQuery = (): Partial<QueryRequest> => ({ ...totalQuery(), dimensions: ["type"] });

function dashboardManifest(): string {
  return JSON.stringify({
    apiVersion: "tally.dev/v1alpha1",
    kind: "Dashboard",
    metadata: { name: "live", namespace },
    spec: {
      title: "Live clicks",
      panels: [
        { name: "total", visualization: "stat", source: { query: totalQuery() } },
        { name: "by_type", visualization: "bar", source: { query: byTypeQuery() } },
        // The schema takes it; the pipeline has no field `nope`: the query API refuses it.
        {
          name: "bad",
          visualization: "bar",
          source: { query: { ...totalQuery(), dimensions: ["nope"] } },
        },
      ],
    },
  });
}

const streamUrl = (search: string) => `${base}/api/v1/namespaces/${namespace}/stream?${search}`;
const snapshotOf = (data: string) => JSON.parse(data) as DashboardSnapshot;
const panel = (snapshot: DashboardSnapshot, name: string): PanelSnapshot | undefined =>
  snapshot.panels.find((p) => p.name === name);

function total(snapshot: DashboardSnapshot): number | undefined {
  const p = panel(snapshot, "total");
  return p?.status === "ok" ? Number(p.response.rows[0]?.events) : undefined;
}

function byType(rows: readonly Record<string, ResultValue>[]): Map<string, number> {
  return new Map(rows.map((r) => [String(r.type), Number(r.events)]));
}

async function postQuery(body: Partial<QueryRequest>): Promise<QueryResponse> {
  const response = await fetch(`${base}/api/v1/namespaces/${namespace}/query`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "cache-control": "no-cache",
    },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as QueryResponse;
}

async function metricValue(name: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

beforeAll(async () => {
  namespace = await createNamespace("gw-sse");
  names = runtimeTestNames("sse", namespace);
  const manifest = pipelineManifest(names, (spec) => {
    spec.windows = spec.windows?.filter((w) => w.type !== "session");
  });
  planOf(manifest); // refuses a manifest the runtime would refuse, before anything starts
  await applyTokenSecret(namespace, "sse-token", { token, namespaces: namespace });
  await kubectlOk(["apply", "-f", "-"], manifest);
  await markReady("pipeline", names.pipeline, namespace);
  await kubectlOk(["apply", "-f", "-"], dashboardManifest());

  const client = KubeClient.fromEnvironment(kubeconfigPath);
  const logger = createLogger(new Writable({ write: (_c, _e, done) => done() }));
  registry = new SourceRegistry(client, { namespace, logger });
  tokens = new TokenSecrets(client, [{ namespace, name: "sse-token" }], logger);
  dashboards = new DashboardWatch(client, { namespace, logger });
  registry.start();
  tokens.start();
  dashboards.start();
  redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await eventually(async () => {
    if (registry?.snapshot(namespace).pipelines[0]?.status === undefined) throw new Error("no Pipeline yet");
    if (dashboards?.get(namespace, "live") === undefined) throw new Error("no Dashboard yet");
    if (!tokens?.synced() || redis?.status !== "ready") throw new Error("not synced");
  }, 30_000);
  const service = createQueryService({
    snapshot: (ns) => registry?.snapshot(ns) ?? { pipelines: [], rollups: [] },
    clickhouse,
    redis,
    cache: undefined,
    logger,
    now: () => Date.now(),
  });
  const tokenRedis = redis;
  hub = new StreamHub({
    query: service,
    readTokens: (pipelines) => readChangeTokens(tokenRedis, pipelines),
    dashboards,
    sources: (ns) => registry?.snapshot(ns) ?? { pipelines: [], rollups: [] },
    logger,
    now: () => Date.now(),
    settings: { tickMs: 500, pollMs: 100, heartbeatMs, untrackedEveryMs: 10_000 },
    observer: metrics.stream,
  });
  hub.start();
  const tokenTable = tokens;
  app = await buildApp({
    service,
    tokens: () => tokenTable.table(),
    rateLimitPerMinute: 10_000,
    logger,
    stream: hub,
  });
  base = await app.listen({ port: 0, host: "127.0.0.1" });

  loaded = await startWorkerPipeline(names, manifest, partitions, "gw-sse");
  await produceEvents(300);
}, 240_000);

afterAll(async () => {
  hub?.stop();
  await app?.close();
  await stopWorkerPipeline(loaded, clickhouse);
  await Promise.all([registry?.stop(), tokens?.stop(), dashboards?.stop()]);
  redis?.disconnect();
  await clickhouse.close();
  if (namespace !== undefined) await deleteNamespace(namespace);
});

describe("live stream over Server-Sent Events", () => {
  let lastId: string | undefined;

  it("sends the snapshot, then a new one as events flow, with the query API's numbers and the produced counts", async () => {
    const stream = await SseClient.open(streamUrl("dashboard=live"), token);
    try {
      const first = await stream.next((e) => e.event === "snapshot", 15_000);
      const initial = snapshotOf(first.data);
      expect(initial.dashboard).toBe("live");
      expect(total(initial)).toBe(300);
      const byTypePanel = panel(initial, "by_type");
      if (byTypePanel?.status !== "ok") throw new Error(JSON.stringify(byTypePanel));
      expect(byType(byTypePanel.response.rows)).toEqual(expectedByType());
      expect(byTypePanel.response.rows).toEqual((await postQuery(byTypeQuery())).rows);

      // Events inside the open minute windows too: every durable batch moves the change token.
      await produceEvents(120);
      const updated = await stream.next(
        (e) => e.event === "snapshot" && total(snapshotOf(e.data)) === 420,
        30_000,
      );
      const latest = snapshotOf(updated.data);
      const latestByType = panel(latest, "by_type");
      if (latestByType?.status !== "ok") throw new Error(JSON.stringify(latestByType));
      expect(byType(latestByType.response.rows)).toEqual(expectedByType());
      expect(latestByType.response.rows).toEqual((await postQuery(byTypeQuery())).rows);
      expect(Number((await postQuery(totalQuery())).rows[0]?.events)).toBe(420);
      // Snapshots in between only ever grow (no frame from an older read after a newer one).
      const totals = stream.events
        .filter((x) => x.event === "snapshot")
        .map((e) => total(snapshotOf(e.data)) ?? 0);
      expect(totals).toEqual([...totals].sort((a, b) => a - b));
      lastId = updated.id;
    } finally {
      stream.close();
    }
  }, 90_000);

  it("streams the good panels and an error entry for the bad one, as POST /query refuses it", async () => {
    const stream = await SseClient.open(streamUrl("dashboard=live"), token);
    try {
      const snapshot = snapshotOf((await stream.next((e) => e.event === "snapshot", 15_000)).data);
      expect(snapshot.panels.map((p) => [p.name, p.status])).toEqual([
        ["total", "ok"],
        ["by_type", "ok"],
        ["bad", "error"],
      ]);
      const refused = await fetch(`${base}/api/v1/namespaces/${namespace}/query`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ ...totalQuery(), dimensions: ["nope"] }),
      });
      expect(refused.status).toBe(400);
      const bad = panel(snapshot, "bad");
      expect(bad?.status === "error" && bad.error).toEqual(await refused.json());
    } finally {
      stream.close();
    }
  }, 30_000);

  it("resumes with Last-Event-ID without a gap: the current snapshot if newer, nothing if the same", async () => {
    if (lastId === undefined) throw new Error("the first test did not run");
    // Events flow while the client is away.
    await produceEvents(60);
    const resumed = await SseClient.open(streamUrl("dashboard=live"), token, { lastEventId: lastId });
    let current: string | undefined;
    try {
      const first = await resumed.next((e) => e.event === "snapshot", 15_000);
      expect(first.id).not.toBe(lastId);
      expect(total(snapshotOf(first.data))).toBe(480);
      current = first.id;
    } finally {
      resumed.close();
    }
    // Back with the current version: heartbeats only, nothing re-sent.
    const same = await SseClient.open(streamUrl("dashboard=live"), token, { lastEventId: current });
    try {
      await sleep(3 * heartbeatMs + 500);
      expect(same.events).toEqual([]);
      expect(same.comments).toBeGreaterThanOrEqual(2);
    } finally {
      same.close();
    }
  }, 60_000);

  it("costs an idle pipeline heartbeats and no reads, whatever the number of subscribers", async () => {
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => SseClient.open(streamUrl("dashboard=live"), token)),
    );
    try {
      for (const s of streams) await s.next((e) => e.event === "snapshot", 15_000);
      expect(await metricValue("tally_gateway_stream_views")).toBeGreaterThanOrEqual(1);
      await sleep(1_500); // the re-read after the first read
      const reads = await metricValue("tally_gateway_stream_view_reads_total");
      const queries = await metricValue("tally_gateway_stream_panel_queries_total");
      const comments = streams.map((s) => s.comments);
      await sleep(5 * heartbeatMs);
      expect(await metricValue("tally_gateway_stream_view_reads_total")).toBe(reads);
      expect(await metricValue("tally_gateway_stream_panel_queries_total")).toBe(queries);
      streams.forEach((s, i) => {
        expect(s.events.filter((e) => e.event === "snapshot")).toHaveLength(1);
        expect(s.comments - (comments[i] ?? 0)).toBeGreaterThanOrEqual(3);
      });
      // One more batch that fires no window (its watermark stays inside the current minute, so the
      // runtime writes no window result, only its watermark): the stream still shows it, with one read
      // for the view (plus its re-check), not one per subscriber.
      const nextMinute = Math.floor((nextTs - 5_000) / 60_000) * 60_000 + 60_000;
      const count = Math.max(1, Math.min(10, Math.ceil((nextMinute + 5_000 - nextTs) / 100) - 1));
      const before = sent.length;
      await produceEvents(count);
      for (const s of streams)
        await s.next((e) => e.event === "snapshot" && total(snapshotOf(e.data)) === before + count, 30_000);
      await sleep(1_500);
      const readsAfter = (await metricValue("tally_gateway_stream_view_reads_total")) - reads;
      expect(readsAfter).toBeGreaterThanOrEqual(1);
      expect(readsAfter).toBeLessThanOrEqual(4);
    } finally {
      for (const s of streams) s.close();
    }
  }, 90_000);

  it("drills down: the filter applies to every panel, and a stream of an ad-hoc query works the same way", async () => {
    const filter = encodeURIComponent(JSON.stringify({ op: "eq", field: "type", value: "click" }));
    const drilled = await SseClient.open(streamUrl(`dashboard=live&filter=${filter}`), token);
    try {
      const snapshot = snapshotOf((await drilled.next((e) => e.event === "snapshot", 15_000)).data);
      const clicks = sent.filter((e) => e.type === "click").length;
      expect(total(snapshot)).toBe(clicks);
      const t = panel(snapshot, "by_type");
      expect(t?.status === "ok" && byType(t.response.rows)).toEqual(new Map([["click", clicks]]));
    } finally {
      drilled.close();
    }
    const adHoc = await SseClient.open(
      streamUrl(`query=${encodeURIComponent(JSON.stringify(totalQuery()))}`),
      token,
    );
    try {
      const snapshot = snapshotOf((await adHoc.next((e) => e.event === "snapshot", 15_000)).data);
      expect(snapshot.dashboard).toBeNull();
      expect(snapshot.panels.map((p) => [p.name, p.status])).toEqual([["query", "ok"]]);
      expect(
        total({ ...snapshot, panels: [{ ...(snapshot.panels[0] as PanelSnapshot), name: "total" }] }),
      ).toBe(sent.length);
    } finally {
      adHoc.close();
    }
  }, 40_000);

  it("refuses before streaming: 401 without a token, 400 naming the parameter, 404 for an unknown Dashboard", async () => {
    const refusal = async (search: string, withToken = token) =>
      SseClient.open(streamUrl(search), withToken).then(
        (s) => {
          s.close();
          throw new Error("streamed");
        },
        (error: unknown) => {
          if (!(error instanceof SseRefused)) throw error;
          return { status: error.status, body: JSON.parse(error.body) as { field?: string; error: string } };
        },
      );
    expect((await refusal("dashboard=live", "not-a-token")).status).toBe(401);
    expect(await refusal("dashboard=live&filter=%7Bnope")).toMatchObject({
      status: 400,
      body: { field: "filter" },
    });
    expect(await refusal("dashboard=Not_A_Name")).toMatchObject({
      status: 400,
      body: { field: expect.stringMatching(/dashboard/) },
    });
    expect(await refusal("dashboard=absent")).toMatchObject({ status: 404, body: { field: "dashboard" } });
  }, 30_000);

  it("is served by the gateway process as main.ts wires it (the Dashboard watch, the hub, Redis tokens)", async () => {
    const gateway = await startGateway({ namespace, tokenSecrets: [`${namespace}/sse-token`] });
    try {
      const stream = await SseClient.open(
        `${gateway.url}/api/v1/namespaces/${namespace}/stream?dashboard=live`,
        token,
      );
      try {
        const first = snapshotOf((await stream.next((e) => e.event === "snapshot", 20_000)).data);
        expect(total(first)).toBe(sent.length);
        await produceEvents(5);
        await stream.next((e) => e.event === "snapshot" && total(snapshotOf(e.data)) === sent.length, 30_000);
      } finally {
        stream.close();
      }
    } finally {
      await gateway.stop();
    }
  }, 90_000);

  it("ends a stream with an error event when its Dashboard is deleted", async () => {
    const stream = await SseClient.open(streamUrl("dashboard=live"), token);
    await stream.next((e) => e.event === "snapshot", 15_000);
    await kubectlOk(["delete", "dashboard", "live", "-n", namespace]);
    const error = await stream.next((e) => e.event === "error", 20_000);
    expect(JSON.parse(error.data)).toMatchObject({ error: "NotFound", field: "dashboard" });
  }, 30_000);
});
