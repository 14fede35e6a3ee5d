/**
 * The sessions endpoint put together (I/O shell): the catalogue, the pure planner, the result cache
 * keyed by the parameterized SQL and its values, ClickHouse, the answer, and the explain.
 */
import type { SessionsRequest, SessionsResponse } from "../../api/v1alpha1/sessions.js";
import { resultCacheKey } from "../cache/cache-key.js";
import { catalogueLookup } from "../query/catalogue-lookup.js";
import type { QueryOptions } from "../query/query-service.js";
import { defaultQueryLimits } from "../query/run-query.js";
import { analyticsCacheTtl, rawExplain, runAnalyticsQuery, throughCache } from "./retention-run.js";
import { type AnalyticsServiceDeps, rawTableReason } from "./retention-service.js";
import { type SessionGroupRow, sessionsAnswer } from "./sessions-answer.js";
import { defaultSessionsLimits, planSessions, type SessionsLimits } from "./sessions-plan.js";

export interface SessionsService {
  /** POST …/sessions. Throws QueryRefusal for a request it will not run. */
  sessions(namespace: string, request: SessionsRequest, options: QueryOptions): Promise<SessionsResponse>;
}

export function createSessionsService(
  deps: AnalyticsServiceDeps & { readonly sessionsLimits?: SessionsLimits },
): SessionsService {
  const catalogueOf = catalogueLookup(deps.snapshot);
  const limits = deps.queryLimits ?? defaultQueryLimits;
  return {
    async sessions(namespace, request, options) {
      const nowMs = deps.now();
      const plan = planSessions(
        catalogueOf(namespace),
        request,
        nowMs,
        deps.sessionsLimits ?? defaultSessionsLimits,
      );
      const ttl = await analyticsCacheTtl(deps.redis, namespace, plan.source, plan.range, nowMs);
      const explain = rawExplain(plan.source, plan.range, rawTableReason, { status: "bypass", ...ttl });
      const gapSeconds = plan.gapMs === undefined ? null : plan.gapMs / 1000;
      if (options.explainOnly)
        return { ...sessionsAnswer(plan, []), gapSeconds, explain: { ...explain, ...plan.query } };
      const key = resultCacheKey(namespace, { kind: "sessions", ...plan.query });
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
