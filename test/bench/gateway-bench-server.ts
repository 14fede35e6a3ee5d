/**
 * The gateway for the gateway bench, in a process of its own so that the bench's 50 clients do not
 * share its event loop: the same app main.ts builds (fastify with the token table, the query service,
 * the Redis result cache, a ClickHouse client configured as main.ts's), but the sources and the token
 * come from the JSON file named by the first argument (see BenchServerConfig) instead of Kubernetes
 * watches, the rate limit is set out of the way, and request logs are written in production's format
 * to nowhere. Listens on free 127.0.0.1 ports and prints them as one JSON line (BenchServerReady);
 * `GET /usage` on the control port answers this process's CPU and event-loop counters (ServerUsage).
 * SIGTERM closes everything and exits.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { buildTokenTable } from "../../gateway/auth/token-table.js";
import { ResultCache } from "../../gateway/cache/result-cache.js";
import { buildApp } from "../../gateway/http/app.js";
import { createLogger } from "../../gateway/logger.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { readChangeTokens } from "../../gateway/stream/change-token.js";
import { StreamHub, type StreamObserver } from "../../gateway/stream/stream-hub.js";
import { redisUrl } from "../env/config.js";
import {
  type BenchServerConfig,
  type BenchServerReady,
  gatewayClickhouse,
  type ServerUsage,
  type StreamUsage,
  streamUsagePath,
  usagePath,
} from "./gateway-bench-shared.js";

/** The hub's counts as the control endpoint reports them (StreamUsage). */
function streamRecorder() {
  const state = { subscribers: 0, views: 0, droppedFrames: 0 };
  let reads: number[] = [];
  let pollMs: number[] = [];
  const observer: StreamObserver = {
    subscribers: (count) => {
      state.subscribers = count;
    },
    views: (count) => {
      state.views = count;
    },
    viewRead: () => {
      reads.push(Date.now());
    },
    panelQueries: () => undefined,
    droppedFrames: () => {
      state.droppedFrames += 1;
    },
    tick: (seconds) => {
      pollMs.push(seconds * 1000);
    },
  };
  const usage = (): StreamUsage => {
    const out = { ...state, reads, pollMs };
    reads = [];
    pollMs = [];
    return out;
  };
  return { observer, usage };
}

function readConfig(path: string | undefined): BenchServerConfig {
  if (path === undefined) throw new Error("usage: gateway-bench-server.ts <config.json>");
  const config = JSON.parse(readFileSync(path, "utf8")) as Partial<BenchServerConfig>;
  for (const field of ["namespace", "token", "pipeline", "rollups"] as const)
    if (config[field] === undefined) throw new Error(`${path}: field ${field} is missing`);
  return config as BenchServerConfig;
}

// A 10 ms timer: catches the loop held up by a burst of requests or the process kept off the CPU.
const loopTimerMs = 10;
const loopDelay = monitorEventLoopDelay({ resolution: loopTimerMs });
loopDelay.enable();
/** The histogram records the whole interval between ticks; the lag is what exceeds the timer's period. */
const lagMs = (ns: number) => Math.max(0, ns / 1e6 - loopTimerMs);

// Garbage collection pauses since the previous usage() call: one cause of a late loop.
const gc = { totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ["gc"] });

function usage(): ServerUsage {
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const lag = { p99: lagMs(loopDelay.percentile(99)), max: lagMs(loopDelay.max) };
  loopDelay.reset();
  const pauses = { ...gc };
  gc.totalMs = 0;
  gc.maxMs = 0;
  return {
    cpuMicros: cpu.user + cpu.system,
    loopIdleMs: loop.idle,
    loopActiveMs: loop.active,
    loopLagP99Ms: lag.p99,
    loopLagMaxMs: lag.max,
    gcPauseTotalMs: pauses.totalMs,
    gcPauseMaxMs: pauses.maxMs,
    rssBytes: process.memoryUsage().rss,
  };
}

function portOf(address: string | AddressInfo | null, what: string): number {
  if (address === null || typeof address === "string") throw new Error(`${what} has no TCP address`);
  return address.port;
}

async function main(): Promise<void> {
  const config = readConfig(process.argv[2]);
  const logger = createLogger(new Writable({ write: (_chunk, _encoding, done) => done() }), "info");
  const clickhouse = gatewayClickhouse();
  // Watermarks, with the options main.ts gives its client.
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const cache = new ResultCache({ redisUrl, registry: new Registry(), logger });
  if (!(await cache.waitUntilReady(5_000))) throw new Error(`Redis at ${redisUrl} is not ready`);
  const service = createQueryService({
    snapshot: () => ({ pipelines: [config.pipeline], rollups: config.rollups }),
    clickhouse,
    redis,
    cache,
    logger,
    now: () => Date.now(),
  });
  const { table, problems } = buildTokenTable([
    {
      ref: { namespace: config.namespace, name: "bench-token" },
      data: {
        token: Buffer.from(config.token).toString("base64"),
        namespaces: Buffer.from(config.namespace).toString("base64"),
      },
    },
  ]);
  if (problems.length > 0) throw new Error(`token table: ${problems.join("; ")}`);
  const recorder = streamRecorder();
  const stream =
    config.stream === undefined
      ? undefined
      : new StreamHub({
          query: service,
          readTokens: (pipelines) => readChangeTokens(redis, pipelines),
          dashboards: {
            get: (namespace, name) =>
              config.stream?.dashboards.find(
                (d) => d.metadata?.namespace === namespace && d.metadata.name === name,
              ),
          },
          sources: () => ({ pipelines: [config.pipeline], rollups: config.rollups }),
          logger,
          now: () => Date.now(),
          settings: {
            tickMs: config.stream.tickMs,
            pollMs: config.stream.pollMs,
            heartbeatMs: config.stream.heartbeatMs,
            untrackedEveryMs: 10_000,
          },
          observer: recorder.observer,
        });
  stream?.start();
  const app = await buildApp({
    service,
    tokens: () => table,
    rateLimitPerMinute: 100_000_000,
    logger,
    ...(stream === undefined ? {} : { stream }),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });

  const control: Server = createServer((request, response) => {
    const answer =
      request.method !== "GET"
        ? undefined
        : request.url === usagePath
          ? usage()
          : request.url === streamUsagePath
            ? recorder.usage()
            : undefined;
    response.writeHead(answer === undefined ? 404 : 200, { "content-type": "application/json" });
    response.end(JSON.stringify(answer ?? {}));
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));

  const ready: BenchServerReady = {
    port: portOf(app.server.address(), "the gateway"),
    controlPort: portOf(control.address(), "the control server"),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  process.once("SIGTERM", () => {
    void (async () => {
      control.close();
      stream?.stop();
      await app.close();
      await cache.close();
      redis.disconnect();
      await clickhouse.close();
      process.exit(0);
    })();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway bench server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
