/**
 * The retention endpoint put together (I/O shell): the catalogue, the pure planner, the result cache
 * keyed by the parameterized SQL and its values, ClickHouse, the grid, and the explain.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Redis } from "ioredis";
import type { RetentionRequest, RetentionResponse } from "../../api/v1alpha1/retention.js";
import { resultCacheKey } from "../cache/cache-key.js";
import type { ResultCache } from "../cache/result-cache.js";
import { catalogueLookup } from "../query/catalogue-lookup.js";
import type { SourceSnapshot } from "../query/create-query-service.js";
import type { QueryOptions } from "../query/query-service.js";
import { defaultQueryLimits, type QueryLimits } from "../query/run-query.js";
import { type RetentionCount, retentionGrid } from "./retention-grid.js";
import { defaultRetentionLimits, planRetention, type RetentionLimits } from "./retention-plan.js";
import { analyticsCacheTtl, rawExplain, runAnalyticsQuery, throughCache } from "./retention-run.js";

/** What the retention and sessions services need. */
export interface AnalyticsServiceDeps {
  readonly snapshot: (namespace: string) => SourceSnapshot;
  readonly clickhouse: ClickHouseClient;
  readonly redis: Redis | undefined;
  readonly cache: ResultCache | undefined;
  readonly now: () => number;
  readonly queryLimits?: QueryLimits;
}

export interface RetentionService {
  /** POST …/retention. Throws QueryRefusal for a request it will not run. */
  retention(namespace: string, request: RetentionRequest, options: QueryOptions): Promise<RetentionResponse>;
}

/** Why the raw table answers (the explain's reason): rollups keep aggregates, not each entity's events. */
export const rawTableReason =
  "the raw table: cohorts and sessions need each entity's events in time order, which only it keeps";

export function createRetentionService(
  deps: AnalyticsServiceDeps & { readonly retentionLimits?: RetentionLimits },
): RetentionService {
  const catalogueOf = catalogueLookup(deps.snapshot);
  const limits = deps.queryLimits ?? defaultQueryLimits;
  return {
    async retention(namespace, request, options) {
      const nowMs = deps.now();
      const plan = planRetention(
        catalogueOf(namespace),
        request,
        nowMs,
        deps.retentionLimits ?? defaultRetentionLimits,
      );
      const ttl = await analyticsCacheTtl(deps.redis, namespace, plan.source, plan.returnsRange, nowMs);
      const explain = rawExplain(plan.source, plan.returnsRange, rawTableReason, {
        status: "bypass",
        ...ttl,
      });
      const answer = { period: request.period, mode: request.mode };
      if (options.explainOnly) return { ...answer, cohorts: [], explain: { ...explain, ...plan.query } };
      const key = resultCacheKey(namespace, { kind: "retention", ...plan.query });
      const { value, status } = await throughCache(deps.cache, key, ttl.ttlSeconds, options.bypassCache, () =>
        runAnalyticsQuery<RetentionCount>(
          deps.clickhouse,
          plan.query,
          limits,
          `retention ${plan.source.pipeline.name}`,
        ),
      );
      return {
        ...answer,
        cohorts: retentionGrid(plan, value.rows, nowMs),
        explain: {
          ...explain,
          rowsRead: value.rowsRead,
          elapsedMs: value.elapsedMs,
          cache: { ...explain.cache, status },
        },
      };
    },
  };
}
