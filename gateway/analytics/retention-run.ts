/**
 * Running an analytics query on the raw table (thin I/O) under the gateway's limits, and the explain
 * that goes with its answer; used by retention and sessions. Limit errors become 422s, an unreachable
 * ClickHouse a 503 (as for the query API).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Redis } from "ioredis";
import type { QueryExplain } from "../../api/v1alpha1/query.js";
import { type CacheTtl, computeCacheTtl, defaultOpenTtlMs, defaultSettledTtlMs } from "../cache/cache-ttl.js";
import type { CacheStatus, ResultCache } from "../cache/result-cache.js";
import type { RenderedQuery } from "../query/render-query-sql.js";
import { mapClickHouseError, type QueryLimits } from "../query/run-query.js";
import type { ResolvedRange } from "../query/time-range.js";
import { readPipelineWatermark } from "./analytics-watermark.js";
import type { EntitySource } from "./retention-source.js";

export interface AnalyticsRows<T> {
  readonly rows: T[];
  readonly rowsRead: number;
  readonly elapsedMs: number;
}

export async function runAnalyticsQuery<T>(
  clickhouse: ClickHouseClient,
  query: RenderedQuery,
  limits: QueryLimits,
  what: string,
): Promise<AnalyticsRows<T>> {
  const started = performance.now();
  try {
    const result = await clickhouse.query({
      query: query.sql,
      query_params: query.params,
      format: "JSONEachRow",
      clickhouse_settings: {
        max_execution_time: limits.maxExecutionSeconds,
        max_result_bytes: String(limits.maxResultBytes),
        result_overflow_mode: "throw",
        max_rows_to_read: String(limits.maxRowsToRead),
        read_overflow_mode: "throw",
        join_use_nulls: 0,
        output_format_json_quote_64bit_integers: 0,
        log_comment: `tally-gateway ${what}`,
      },
    });
    const rows = await result.json<T>();
    const summary = result.response_headers["x-clickhouse-summary"];
    const rowsRead =
      typeof summary === "string"
        ? Number((JSON.parse(summary) as { read_rows?: string }).read_rows ?? 0)
        : 0;
    return { rows, rowsRead, elapsedMs: performance.now() - started };
  } catch (error) {
    mapClickHouseError(error, what);
  }
}

/** The explain of an answer read from the raw table: no rollup holds entities' event sequences. */
export function rawExplain(
  source: EntitySource,
  range: ResolvedRange,
  reason: string,
  cache: { status: CacheStatus; ttlSeconds: number; settled: boolean },
): QueryExplain {
  const { raw } = source.pipeline;
  const ref = {
    kind: "Pipeline" as const,
    name: raw.name,
    table: `${raw.table.database}.${raw.table.table}`,
  };
  const from = new Date(range.fromMs).toISOString();
  const to = new Date(range.toMs).toISOString();
  return {
    source: ref,
    segments: [{ source: ref, from, to }],
    candidates: [
      { kind: "Pipeline", name: raw.name, chosen: true, reason },
      ...source.pipeline.rollups.map((r) => ({
        kind: "Rollup",
        name: r.name,
        chosen: false,
        reason: "a rollup keeps aggregates per bucket, not each entity's events",
      })),
    ],
    range: { from, to },
    approximate: [],
    cache,
  };
}

/** Through the result cache when there is one; `status` says which way it went. */
export async function throughCache<T>(
  cache: ResultCache | undefined,
  key: string,
  ttlSeconds: number,
  bypass: boolean,
  compute: () => Promise<T>,
): Promise<{ value: T; status: CacheStatus }> {
  if (cache === undefined) return { value: await compute(), status: "unavailable" };
  return cache.get(key, ttlSeconds, compute, { bypass });
}

/** The answer's cache TTL from the pipeline's watermark (the lowest of its partitions'), as for queries. */
export async function analyticsCacheTtl(
  redis: Redis | undefined,
  namespace: string,
  source: EntitySource,
  range: ResolvedRange,
  nowMs: number,
): Promise<CacheTtl> {
  return computeCacheTtl({
    rangeEndMs: range.toMs,
    watermarkMs: await readPipelineWatermark(redis, namespace, source.pipeline.name),
    allowedLatenessMs: source.pipeline.raw.allowedLatenessMs,
    openTtlMs: defaultOpenTtlMs,
    settledTtlMs: defaultSettledTtlMs,
    nowMs,
  });
}
