/**
 * The funnel endpoint's work (I/O edge): plan (pure), render (pure), read through the result cache,
 * run on ClickHouse under the query limits, shape (pure). Explain names the raw table and why.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Redis } from "ioredis";
import type { FunnelRequest, FunnelResponse } from "../../api/v1alpha1/funnel.js";
import { resultCacheKey } from "../cache/cache-key.js";
import { computeCacheTtl, defaultOpenTtlMs, defaultSettledTtlMs } from "../cache/cache-ttl.js";
import type { CacheStatus, ResultCache } from "../cache/result-cache.js";
import { catalogueLookup } from "../query/catalogue-lookup.js";
import type { SourceSnapshot } from "../query/create-query-service.js";
import { defaultPlanLimits } from "../query/plan-query.js";
import type { QueryOptions } from "../query/query-service.js";
import { defaultQueryLimits, mapClickHouseError, type QueryLimits } from "../query/run-query.js";
import { readPipelineWatermark } from "./analytics-watermark.js";
import { type FunnelPlan, planFunnel } from "./funnel-plan.js";
import { type FunnelRow, shapeFunnelResult } from "./funnel-result.js";
import { renderFunnelQuery } from "./funnel-sql.js";

export interface FunnelService {
  /** POST /api/v1/namespaces/{ns}/funnel. Throws QueryRefusal for a request it will not run. */
  funnel(namespace: string, request: FunnelRequest, options: QueryOptions): Promise<FunnelResponse>;
}

export interface FunnelServiceDeps {
  readonly snapshot: (namespace: string) => SourceSnapshot;
  readonly clickhouse: ClickHouseClient;
  readonly redis: Redis | undefined;
  readonly cache: ResultCache | undefined;
  readonly now: () => number;
  readonly queryLimits?: QueryLimits;
  readonly rawMaxRangeMs?: number;
}

interface FunnelAnswer {
  readonly rows: readonly FunnelRow[];
  readonly rowsRead: number;
  readonly elapsedMs: number;
}

async function runFunnel(
  clickhouse: ClickHouseClient,
  plan: FunnelPlan,
  limits: QueryLimits,
  tag: string,
): Promise<FunnelAnswer> {
  const { sql, params } = renderFunnelQuery(plan);
  try {
    const result = await clickhouse.query({
      query: sql,
      query_params: params,
      format: "JSON",
      clickhouse_settings: {
        max_execution_time: limits.maxExecutionSeconds,
        max_result_bytes: String(limits.maxResultBytes),
        result_overflow_mode: "throw",
        max_rows_to_read: String(limits.maxRowsToRead),
        read_overflow_mode: "throw",
        output_format_json_quote_64bit_integers: 0,
        output_format_json_quote_denormals: 0,
        log_comment: tag,
      },
    });
    const body = (await result.json()) as unknown as {
      data: FunnelRow[];
      statistics?: { elapsed?: number; rows_read?: number };
    };
    return {
      rows: body.data,
      rowsRead: body.statistics?.rows_read ?? 0,
      elapsedMs: (body.statistics?.elapsed ?? 0) * 1000,
    };
  } catch (error) {
    return mapClickHouseError(error, `funnel over pipeline ${plan.source.pipeline}`);
  }
}

/** Everything that decides the answer: the cache key's content. */
function normalizedFunnel(plan: FunnelPlan): unknown {
  return {
    kind: "funnel",
    pipeline: plan.source.pipeline,
    entity: plan.source.entityField,
    range: [plan.source.range.fromMs, plan.source.range.toMs],
    steps: plan.steps,
    order: plan.order,
    windowMs: plan.windowMs,
    exclusions: plan.exclusions,
    breakdown: plan.breakdown ?? null,
    bins: plan.histogramBins,
    segment: plan.segment ?? null,
  };
}

export function createFunnelService(deps: FunnelServiceDeps): FunnelService {
  const limits = deps.queryLimits ?? defaultQueryLimits;
  const catalogueOf = catalogueLookup(deps.snapshot);
  return {
    async funnel(namespace, request, options) {
      const nowMs = deps.now();
      const plan = planFunnel(
        catalogueOf(namespace),
        request,
        nowMs,
        deps.rawMaxRangeMs ?? defaultPlanLimits.rawMaxRangeMs,
      );
      const { source } = plan;
      const ttl = computeCacheTtl({
        rangeEndMs: source.range.toMs,
        watermarkMs: await readPipelineWatermark(deps.redis, namespace, source.pipeline),
        allowedLatenessMs: source.raw.allowedLatenessMs,
        openTtlMs: defaultOpenTtlMs,
        settledTtlMs: defaultSettledTtlMs,
        nowMs,
      });
      const table = `${source.raw.table.database}.${source.raw.table.table}`;
      const explain: FunnelResponse["explain"] = {
        source: { kind: "Pipeline", name: source.pipeline, table },
        reason: source.reason,
        entity: source.entityField,
        range: {
          from: new Date(source.range.fromMs).toISOString(),
          to: new Date(source.range.toMs).toISOString(),
        },
        cache: { status: "bypass", ttlSeconds: ttl.ttlSeconds, settled: ttl.settled },
      };
      const stepNames = plan.steps.map((s) => s.name);
      if (options.explainOnly) {
        const rendered = renderFunnelQuery(plan);
        return {
          ...shapeFunnelResult(stepNames, [], plan.breakdown !== undefined, plan.histogramBins),
          explain: { ...explain, sql: rendered.sql, params: rendered.params },
        };
      }
      const key = resultCacheKey(namespace, normalizedFunnel(plan));
      const tag = `tally-gateway funnel ${key.slice(-16)}`;
      let answer: FunnelAnswer;
      let status: CacheStatus;
      if (deps.cache === undefined) {
        answer = await runFunnel(deps.clickhouse, plan, limits, tag);
        status = "unavailable";
      } else {
        const cached = await deps.cache.get(
          key,
          ttl.ttlSeconds,
          () => runFunnel(deps.clickhouse, plan, limits, tag),
          {
            bypass: options.bypassCache,
          },
        );
        answer = cached.value;
        status = cached.status;
      }
      return {
        ...shapeFunnelResult(stepNames, answer.rows, plan.breakdown !== undefined, plan.histogramBins),
        explain: {
          ...explain,
          rowsRead: answer.rowsRead,
          elapsedMs: answer.elapsedMs,
          cache: { ...explain.cache, status },
        },
      };
    },
  };
}
