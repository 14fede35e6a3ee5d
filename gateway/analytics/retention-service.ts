/**
 * The retention and sessions endpoints put together (I/O shell): the catalogue, the pure planners, the
 * result cache keyed by the resolved request, ClickHouse, and the explain. Shared by both endpoints
 * because they read the same raw table the same way.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Redis } from "ioredis";
import type { RetentionRequest, RetentionResponse } from "../../api/v1alpha1/retention.js";
import type { SessionsRequest, SessionsResponse } from "../../api/v1alpha1/sessions.js";
import { redisPrefix, watermarksKey } from "../../contracts/redis/live-windows.js";
import { resultCacheKey } from "../cache/cache-key.js";
import { computeCacheTtl, defaultOpenTtlMs, defaultSettledTtlMs } from "../cache/cache-ttl.js";
import type { ResultCache } from "../cache/result-cache.js";
import type { QueryOptions } from "../query/query-service.js";
import { defaultQueryLimits, type QueryLimits } from "../query/run-query.js";
import type { ResolvedRange } from "../query/time-range.js";
import { type RetentionCount, retentionGrid } from "./retention-grid.js";
import { defaultRetentionLimits, planRetention, type RetentionLimits } from "./retention-plan.js";
import { rawExplain, runAnalyticsQuery, throughCache } from "./retention-run.js";
import { type AnalyticsSource, catalogueLookup, type SourceSnapshot } from "./retention-source.js";
import { type SessionGroupRow, sessionsAnswer } from "./sessions-answer.js";
import { defaultSessionsLimits, planSessions, type SessionsLimits } from "./sessions-plan.js";

export interface AnalyticsServiceDeps {
  readonly snapshot: (namespace: string) => SourceSnapshot;
  readonly clickhouse: ClickHouseClient;
  readonly redis: Redis | undefined;
  readonly cache: ResultCache | undefined;
  readonly now: () => number;
  readonly queryLimits?: QueryLimits;
  readonly retentionLimits?: RetentionLimits;
  readonly sessionsLimits?: SessionsLimits;
}

export interface RetentionService {
  retention(namespace: string, request: RetentionRequest, options: QueryOptions): Promise<RetentionResponse>;
  sessions(namespace: string, request: SessionsRequest, options: QueryOptions): Promise<SessionsResponse>;
}

const rawReason =
  "the raw table: cohorts and sessions need each entity's events in time order, which only it keeps";

export function createRetentionService(deps: AnalyticsServiceDeps): RetentionService {
  const catalogueOf = catalogueLookup(deps.snapshot);
  const limits = deps.queryLimits ?? defaultQueryLimits;

  async function cacheTtl(namespace: string, source: AnalyticsSource, range: ResolvedRange, nowMs: number) {
    let watermarkMs: number | undefined;
    if (deps.redis !== undefined) {
      try {
        const byPartition = await deps.redis.hgetall(
          watermarksKey(redisPrefix(namespace, source.pipeline.name)),
        );
        const values = Object.values(byPartition).map(Number).filter(Number.isFinite);
        watermarkMs = values.length === 0 ? undefined : Math.min(...values);
      } catch {
        watermarkMs = undefined;
      }
    }
    return computeCacheTtl({
      rangeEndMs: range.toMs,
      watermarkMs,
      allowedLatenessMs: source.pipeline.raw.allowedLatenessMs,
      openTtlMs: defaultOpenTtlMs,
      settledTtlMs: defaultSettledTtlMs,
      nowMs,
    });
  }

  return {
    async retention(namespace, request, options) {
      const nowMs = deps.now();
      const plan = planRetention(
        catalogueOf(namespace),
        request,
        nowMs,
        deps.retentionLimits ?? defaultRetentionLimits,
      );
      const ttl = await cacheTtl(namespace, plan.source, plan.returnsRange, nowMs);
      const explain = rawExplain(plan.source, plan.returnsRange, rawReason, { status: "bypass", ...ttl });
      if (options.explainOnly)
        return {
          period: request.period,
          mode: request.mode,
          cohorts: [],
          explain: { ...explain, ...plan.query },
        };
      const key = resultCacheKey(namespace, {
        kind: "retention",
        sql: plan.query.sql,
        params: plan.query.params,
      });
      const { value, status } = await throughCache(deps.cache, key, ttl.ttlSeconds, options.bypassCache, () =>
        runAnalyticsQuery<RetentionCount>(
          deps.clickhouse,
          plan.query,
          limits,
          `retention ${plan.source.pipeline.name}`,
        ),
      );
      return {
        period: request.period,
        mode: request.mode,
        cohorts: retentionGrid(plan, value.rows, nowMs),
        explain: {
          ...explain,
          rowsRead: value.rowsRead,
          elapsedMs: value.elapsedMs,
          cache: { ...explain.cache, status },
        },
      };
    },

    async sessions(namespace, request, options) {
      const nowMs = deps.now();
      const plan = planSessions(
        catalogueOf(namespace),
        request,
        nowMs,
        deps.sessionsLimits ?? defaultSessionsLimits,
      );
      const ttl = await cacheTtl(namespace, plan.source, plan.range, nowMs);
      const explain = rawExplain(plan.source, plan.range, rawReason, { status: "bypass", ...ttl });
      const gapSeconds = plan.gapMs === undefined ? null : plan.gapMs / 1000;
      if (options.explainOnly)
        return {
          ...sessionsAnswer(plan, []),
          gapSeconds,
          explain: { ...explain, ...plan.query },
        };
      const key = resultCacheKey(namespace, {
        kind: "sessions",
        sql: plan.query.sql,
        params: plan.query.params,
      });
      const { value, status } = await throughCache(deps.cache, key, ttl.ttlSeconds, options.bypassCache, () =>
        runAnalyticsQuery<SessionGroupRow>(
          deps.clickhouse,
          plan.query,
          limits,
          `sessions ${plan.source.pipeline.name}`,
        ),
      );
      return {
        ...sessionsAnswer(plan, value.rows),
        gapSeconds,
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
