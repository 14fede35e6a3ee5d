/**
 * The live stream (issue 18) at 1,000 concurrent SSE subscribers on 20 dashboards, on one gateway process
 * of its own (gateway-bench-server.ts with the stream hub: the real route, hub, query service, change
 * tokens from the stack's Redis, the stack's ClickHouse); the clients run here, one socket each.
 *
 * Each dashboard has one panel, the count of a raw table's rows for one url, so the 20 dashboards are 20
 * distinct views. A "change" does what the runtime does for a batch: insert rows into the raw table (one
 * per url: every view's answer changes), then, once ClickHouse acknowledged them, move the pipeline's
 * watermark in Redis (HSET + PEXPIRE of P:wm). Changes come one at a time, each at a random moment of the
 * tick, after every subscriber saw the previous one.
 *
 *  - gateway.sse_1000_clients_rss_mb: the server's RSS with 1,000 streams open (each had its snapshot);
 *    gateway.sse_kb_per_connection: (that − the RSS before any stream) / 1,000 (goal < 50 KB).
 *  - gateway.sse_reads_per_tick: the most view reads in any tick (1 s slot) during the changes (goal: the
 *    number of distinct views, 20, not the 1,000 subscribers).
 *  - gateway.sse_fanout_p99_ms: per change, from the Redis write's acknowledgement to the frame reaching
 *    the last of the 1,000 subscribers; p99 over the changes. It includes the wait for the next token poll
 *    (every 100 ms, the default) and the 20 views' reads on the stack's ClickHouse.
 *  - gateway.sse_cpu_ms_per_s: the server's CPU time per second of wall time during the changes.
 */
import { randomUUID } from "node:crypto";
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { DashboardObject, PipelineObject } from "../../api/v1alpha1/objects.js";
import type { DashboardSnapshot } from "../../api/v1alpha1/stream.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { redisPrefix, watermarksKey } from "../../contracts/redis/live-windows.js";
import { redisUrl } from "../env/config.js";
import { clickhouseClient, pipelineManifest, planOf, runtimeTestNames } from "../support/runtime-harness.js";
import { type ReceivedEvent, SseClient } from "../support/sse-client.js";
import type { BenchFigure } from "./bench-figure.js";
import { GatewayServer } from "./gateway-bench-process.js";
import type { BenchServerConfig, ServerUsage, StreamUsage } from "./gateway-bench-shared.js";
import { streamUsagePath } from "./gateway-bench-shared.js";

const subscribers = 1_000;
const dashboardCount = 20;
const changes = 20;
const tickMs = 1_000;
const pollMs = 100;

function progress(message: string): void {
  console.error(`[bench] sse: ${message}`);
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function totalOf(event: ReceivedEvent): number | undefined {
  if (event.event !== "snapshot") return undefined;
  const panel = (JSON.parse(event.data) as DashboardSnapshot).panels[0];
  return panel?.status === "ok" ? Number(panel.response.rows[0]?.events ?? 0) : undefined;
}

export async function runBench(): Promise<readonly BenchFigure[]> {
  const clickhouse = clickhouseClient();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const names = runtimeTestNames("sse-bench", `sse-bench-${randomUUID().slice(0, 6)}`);
  const spec = planOf(pipelineManifest(names)).spec;
  const rawTable = qualifiedName(spec.sink.clickhouse.database, spec.sink.clickhouse.table, "bench table");
  const prefix = redisPrefix(names.namespace, names.pipeline);
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const clients: SseClient[] = [];
  let server: GatewayServer | undefined;
  try {
    for (const statement of renderRawTableDdl(spec).statements)
      await clickhouse.command({ query: statement });
    const baseMs = Date.now() - 30 * 60_000;
    let offset = 0;
    /** One row per url (so every dashboard's count moves), as the runtime's raw insert would. */
    const insertRound = async () => {
      const values = Array.from({ length: dashboardCount }, (_, i) => {
        offset += 1;
        return {
          event_id: `e-${offset}`,
          user_id: `u-${offset % 17}`,
          type: "click",
          url: `/p/${i}`,
          ts: new Date(baseMs + offset * 10).toISOString().replace("T", " ").replace("Z", ""),
          latency_ms: 5,
          value: 1,
          _topic: names.topic,
          _partition: 0,
          _offset: offset,
        };
      });
      await clickhouse.insert({ table: rawTable, values, format: "JSONEachRow" });
    };
    await insertRound();

    const pipeline: PipelineObject = {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Pipeline",
      metadata: { name: names.pipeline, namespace: names.namespace, resourceVersion: "1" },
      spec,
      status: {
        conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: "" }],
      },
    };
    const range = {
      from: new Date(baseMs - 3_600_000).toISOString(),
      to: new Date(baseMs + 7_200_000).toISOString(),
    };
    const dashboards: DashboardObject[] = Array.from({ length: dashboardCount }, (_, i) => ({
      metadata: { name: `d${i}`, namespace: names.namespace, resourceVersion: "1" },
      spec: {
        title: `url ${i}`,
        panels: [
          {
            name: "total",
            visualization: "stat",
            source: {
              query: {
                pipeline: names.pipeline,
                metrics: [{ fn: "count", name: "events" }],
                filter: { op: "eq", field: "url", value: `/p/${i}` },
                timeRange: range,
              },
            },
          },
        ],
      },
    }));
    const token = `bench-${randomUUID()}`;
    const config: BenchServerConfig = {
      namespace: names.namespace,
      token,
      pipeline,
      rollups: [],
      stream: { dashboards, tickMs, pollMs, heartbeatMs: 15_000 },
    };
    server = await GatewayServer.start(config);
    await sleep(2_000); // past start-up's allocations
    const idle = await server.usage();
    progress(`idle server RSS ${(idle.rssBytes / 2 ** 20).toFixed(1)} MB; opening ${subscribers} streams`);

    const base = `http://127.0.0.1:${server.ready.port}/api/v1/namespaces/${names.namespace}/stream`;
    for (let i = 0; i < subscribers; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, subscribers - i) }, (_, j) =>
          SseClient.open(`${base}?dashboard=d${(i + j) % dashboardCount}`, token, { agent }),
        ),
      );
      clients.push(...batch);
    }
    await Promise.all(clients.map((c) => c.next((e) => e.event === "snapshot", 60_000)));
    await sleep(3 * tickMs); // the first reads' re-checks
    const open = await server.usage();
    const streamCounts = await server.control<StreamUsage>(streamUsagePath);
    progress(
      `${streamCounts.subscribers} subscribers on ${streamCounts.views} views; RSS ${(open.rssBytes / 2 ** 20).toFixed(1)} MB`,
    );

    const lastSubscriberMs: number[] = [];
    const everySubscriberMs: number[] = [];
    const before: ServerUsage = await server.usage();
    const wallStart = performance.now();
    for (let k = 1; k <= changes; k++) {
      await sleep(Math.random() * tickMs); // a random moment of the tick
      await insertRound();
      await redis
        .multi()
        .hset(watermarksKey(prefix), `${names.topic}:0`, String(baseMs + offset * 10))
        .pexpire(watermarksKey(prefix), 3_600_000)
        .exec();
      const changedAt = performance.now();
      const want = k + 1;
      const arrivals = await Promise.all(
        clients.map((c) =>
          c.next((e) => (totalOf(e) ?? 0) >= want, 30_000, Math.max(0, c.events.length - 2)),
        ),
      );
      const latencies = arrivals.map((e) => e.atMs - changedAt);
      everySubscriberMs.push(...latencies);
      lastSubscriberMs.push(Math.max(...latencies));
      // Keep the clients' memory flat: only the newest events matter from here on.
      for (const c of clients) c.events.splice(0, Math.max(0, c.events.length - 2));
    }
    const after: ServerUsage = await server.usage();
    const wallMs = performance.now() - wallStart;
    const usage = await server.control<StreamUsage>(streamUsagePath);
    // View reads per tick: a view reads at most once per tick, so at most once per tick-long slot of the clock.
    const perTick = new Map<number, number>();
    for (const at of usage.reads)
      perTick.set(Math.floor(at / tickMs), (perTick.get(Math.floor(at / tickMs)) ?? 0) + 1);
    const busy = [...perTick.values()];
    const maxReads = Math.max(0, ...busy);
    const mean = busy.reduce((sum, r) => sum + r, 0) / Math.max(1, busy.length);
    const ms = (samples: readonly number[], p: number) => percentile(samples, p).toFixed(0);
    progress(
      [
        `${changes} changes: ${busy.length} ticks with reads (mean ${mean.toFixed(1)}, max ${maxReads} for ${streamCounts.views} views)`,
        `poll with its reads p50 ${ms(usage.pollMs, 0.5)} ms, p99 ${ms(usage.pollMs, 0.99)} ms`,
        `fan-out to every subscriber p50 ${ms(everySubscriberMs, 0.5)} ms, p99 ${ms(everySubscriberMs, 0.99)} ms`,
        `to the last subscriber p50 ${ms(lastSubscriberMs, 0.5)} ms (tokens polled every ${pollMs} ms)`,
        `dropped frames ${usage.droppedFrames}`,
      ].join("; "),
    );
    return [
      { name: "gateway.sse_1000_clients_rss_mb", value: open.rssBytes / 2 ** 20, unit: "MB" },
      {
        name: "gateway.sse_kb_per_connection",
        value: (open.rssBytes - idle.rssBytes) / 1024 / subscribers,
        unit: "KB",
      },
      {
        name: "gateway.sse_reads_per_tick",
        value: maxReads,
        unit: `view reads (max per tick; ${streamCounts.views} distinct views, ${subscribers} subscribers)`,
      },
      { name: "gateway.sse_fanout_p99_ms", value: percentile(lastSubscriberMs, 0.99), unit: "ms" },
      {
        name: "gateway.sse_cpu_ms_per_s",
        value: (after.cpuMicros - before.cpuMicros) / 1000 / (wallMs / 1000),
        unit: "ms/s",
      },
    ];
  } finally {
    for (const c of clients) c.close();
    agent.destroy();
    if (server !== undefined) progress(`server ${await server.stop()}`);
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${rawTable}` }).catch(() => undefined);
    await redis.del(watermarksKey(prefix)).catch(() => 0);
    redis.disconnect();
    await clickhouse.close();
  }
}
