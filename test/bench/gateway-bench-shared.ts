/**
 * What the gateway bench (gateway.bench.ts) and its gateway process (gateway-bench-server.ts) share:
 * the file the bench writes for the server, the line the server prints once it listens, what its
 * control endpoint answers, and the ClickHouse client both build as the gateway's main.ts builds its own.
 */
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { DashboardObject, PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import { clickhouseUrl, stackConfig } from "../env/config.js";

/** The server's whole configuration: what the Kubernetes watches and the token Secret would give it. */
export interface BenchServerConfig {
  readonly namespace: string;
  readonly token: string;
  readonly pipeline: PipelineObject;
  readonly rollups: readonly RollupObject[];
  /** With it, the live stream is served over these Dashboards (the SSE bench). */
  readonly stream?: {
    readonly dashboards: readonly DashboardObject[];
    readonly tickMs: number;
    readonly pollMs: number;
    readonly heartbeatMs: number;
  };
}

/** `GET /stream` on the control port: the stream hub's counts, and each poll's view reads since the last call. */
export interface StreamUsage {
  readonly subscribers: number;
  readonly views: number;
  readonly droppedFrames: number;
  /** When each view read started (Date.now()). */
  readonly reads: readonly number[];
  /** Each poll's duration, its reads included. */
  readonly pollMs: readonly number[];
}

export const streamUsagePath = "/stream";

/** The one line the server prints on stdout once both ports listen. */
export interface BenchServerReady {
  readonly port: number;
  readonly controlPort: number;
}

/**
 * `GET /usage` on the control port: the server process's counters, to be diffed across a phase, and
 * how late its event loop ran since the previous call (so a phase reads it before and after).
 */
export interface ServerUsage {
  /** process.cpuUsage(), user + system, in microseconds (every thread of the process). */
  readonly cpuMicros: number;
  /** performance.eventLoopUtilization()'s cumulative idle and active times, in ms. */
  readonly loopIdleMs: number;
  readonly loopActiveMs: number;
  /** Since the previous call: how late the event loop ran a 10 ms timer (p99, max), in ms. */
  readonly loopLagP99Ms: number;
  readonly loopLagMaxMs: number;
  /** Since the previous call: garbage-collection pauses, their sum and the longest, in ms. */
  readonly gcPauseTotalMs: number;
  readonly gcPauseMaxMs: number;
  /** process.memoryUsage().rss, in bytes. */
  readonly rssBytes: number;
}

export const usagePath = "/usage";

/** A ClickHouse client configured as the gateway's main.ts configures its own. */
export function gatewayClickhouse(): ClickHouseClient {
  return createClient({
    url: clickhouseUrl,
    username: stackConfig.clickhouseUser,
    password: stackConfig.clickhousePassword,
    request_timeout: 30_000,
    max_open_connections: 16,
  });
}
