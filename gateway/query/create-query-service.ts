/**
 * The query side put together: the namespace's catalogue (rebuilt only when its objects change), the
 * pure router, the result cache keyed by the normalized plan with a TTL from the pipeline's watermark,
 * and ClickHouse. Explain travels with every answer.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import type { QueryExplain, QueryResponse } from "../../api/v1alpha1/query.js";
import type { QueryApiRequest, QueryCompare, QueryComparison } from "../../api/v1alpha1/segment.js";
import { renderWindowPartialsQuery } from "../../contracts/clickhouse/window-table-ddl.js";
import { resultNames } from "../../contracts/windows/window-spec.js";
import { readPipelineWatermark } from "../analytics/analytics-watermark.js";
import { comparePeriods, previousPeriod } from "../analytics/segment-compare.js";
import { resultCacheKey } from "../cache/cache-key.js";
import { computeCacheTtl, defaultOpenTtlMs, defaultSettledTtlMs } from "../cache/cache-ttl.js";
import type { CacheStatus, ResultCache } from "../cache/result-cache.js";
import { catalogueLookup } from "./catalogue-lookup.js";
import { describeSources } from "./describe-sources.js";
import { defaultPlanLimits, type PlanLimits, planQuery, type QueryPlan, type Segment } from "./plan-query.js";
import { refuse } from "./query-refusal.js";
import type { QueryOptions, QueryService } from "./query-service.js";
import { renderEventsQuery } from "./render-query-sql.js";
import {
  defaultQueryLimits,
  type QueryAnswer,
  type QueryLimits,
  runEventsQuery,
  runWindowQuery,
} from "./run-query.js";

/** What the gateway knows of a namespace's objects (the Kubernetes watch). */
export interface SourceSnapshot {
  readonly pipelines: readonly PipelineObject[];
  readonly rollups: readonly RollupObject[];
}

export interface QueryServiceDeps {
  readonly snapshot: (namespace: string) => SourceSnapshot;
  readonly clickhouse: ClickHouseClient;
  /** Where the runtime writes its watermarks (freshness); undefined: every range counts as open. */
  readonly redis: Redis | undefined;
  readonly cache: ResultCache | undefined;
  readonly logger: Logger;
  readonly now: () => number;
  readonly planLimits?: PlanLimits;
  readonly queryLimits?: QueryLimits;
}

function tableName(segment: Segment): string {
  if (segment.source.kind === "Pipeline") {
    const { table } = segment.source.raw;
    return `${table.database}.${table.table}`;
  }
  const table = segment.source.use.rollup.table;
  return table === undefined ? "" : `${table.database}.${table.table}`;
}

function segmentRef(segment: Segment): QueryExplain["source"] {
  return segment.source.kind === "Pipeline"
    ? { kind: "Pipeline", name: segment.source.raw.name, table: tableName(segment) }
    : { kind: "Rollup", name: segment.source.use.rollup.name, table: tableName(segment) };
}

/** The plan's primary source: the one answering the longest part of the range. */
function primarySource(plan: QueryPlan): QueryExplain["source"] {
  if (plan.kind === "window") {
    const { table } = plan.window;
    return { kind: "Window", name: plan.window.name, table: `${table.database}.${table.table}` };
  }
  const longest = [...plan.segments].sort((a, b) => b.toMs - b.fromMs - (a.toMs - a.fromMs))[0];
  return longest === undefined
    ? { kind: "Pipeline", name: plan.pipeline.name, table: "" }
    : segmentRef(longest);
}

/** Everything that decides the answer, and nothing else: the cache key's content. */
function normalizedPlan(plan: QueryPlan): unknown {
  const common = {
    pipeline: plan.pipeline.name,
    range: [plan.range.fromMs, plan.range.toMs],
    dimensions: plan.dimensions,
    filter: plan.filter ?? null,
    orderBy: plan.orderBy,
    limit: plan.limit,
    offset: plan.offset,
  };
  if (plan.kind === "window") return { ...common, window: plan.window.name, metrics: plan.aggregations };
  return {
    ...common,
    metrics: plan.metrics.map((m) => m.definition),
    granularity: plan.granularity,
    timezone: plan.timezone,
    segments: plan.segments.map((s) => [segmentRef(s).table, s.fromMs, s.toMs]),
    entitySegment: plan.entitySegment ?? null,
  };
}

function openTtlMs(plan: QueryPlan): number {
  if (plan.kind === "window") return defaultOpenTtlMs;
  const ttls = plan.segments.flatMap((s) =>
    s.source.kind === "Rollup" ? [parseDuration(s.source.use.rollup.spec.cacheTtl, "spec.cacheTtl")] : [],
  );
  return ttls.length === 0 ? defaultOpenTtlMs : Math.min(...ttls);
}

function approximateColumns(plan: QueryPlan): string[] {
  if (plan.kind === "window")
    return plan.aggregations.filter((a) => a.fn === "uniq" || a.fn === "quantiles").flatMap(resultNames);
  return plan.metrics.filter((m) => !m.exact).flatMap((m) => [...m.columns]);
}

export function createQueryService(deps: QueryServiceDeps): QueryService {
  const planLimits = deps.planLimits ?? defaultPlanLimits;
  const queryLimits = deps.queryLimits ?? defaultQueryLimits;
  const catalogueOf = catalogueLookup(deps.snapshot);
  const watermarkOf = (namespace: string, pipeline: string) =>
    readPipelineWatermark(deps.redis, namespace, pipeline);

  async function run(plan: QueryPlan, tag: string): Promise<QueryAnswer> {
    return plan.kind === "window"
      ? runWindowQuery(deps.clickhouse, plan, queryLimits, tag)
      : runEventsQuery(deps.clickhouse, plan, queryLimits, tag);
  }

  return {
    async sources(namespace) {
      const catalogue = catalogueOf(namespace);
      if (catalogue.pipelines.size === 0 && catalogue.unusable.length === 0)
        refuse(404, "NoSources", `namespace ${namespace} has no Pipelines or Rollups`);
      const watermarks = new Map<string, number | undefined>();
      for (const name of catalogue.pipelines.keys()) watermarks.set(name, await watermarkOf(namespace, name));
      return describeSources(catalogue, watermarks);
    },

    async query(namespace, request, options) {
      const { compare, ...single } = request;
      const main = await answer(namespace, single, options);
      if (compare === undefined) return main;
      return { ...main, comparison: await compareAnswer(namespace, single, compare, main, options) };
    },
  };

  /** The request's comparison: the same query per segment, or over the previous period. */
  async function compareAnswer(
    namespace: string,
    request: Omit<QueryApiRequest, "compare">,
    compare: QueryCompare,
    main: QueryResponse,
    options: QueryOptions,
  ): Promise<QueryComparison> {
    if ("segments" in compare) {
      const results = [];
      for (const segment of compare.segments) {
        const answered = await answer(namespace, { ...request, segment }, options);
        results.push({ segment, rows: answered.rows, ...explainOf(answered, options) });
      }
      return { kind: "segments", results };
    }
    const range = { fromMs: Date.parse(main.explain.range.from), toMs: Date.parse(main.explain.range.to) };
    const before = previousPeriod(range);
    const timeRange = {
      from: new Date(before.fromMs).toISOString(),
      to: new Date(before.toMs).toISOString(),
    };
    const previous = await answer(namespace, { ...request, timeRange }, options);
    return {
      kind: "previousPeriod",
      range: timeRange,
      rows: comparePeriods(main.columns, main.rows, previous.rows, range.fromMs - before.fromMs),
      ...explainOf(previous, options),
    };
  }

  /** An explain-only comparison has no rows to show, so it shows how its query would run. */
  function explainOf(answered: QueryResponse, options: QueryOptions): { explain?: QueryExplain } {
    return options.explainOnly ? { explain: answered.explain } : {};
  }

  async function answer(
    namespace: string,
    request: Omit<QueryApiRequest, "compare">,
    options: QueryOptions,
  ): Promise<QueryResponse> {
    const nowMs = deps.now();
    const plan = planQuery(catalogueOf(namespace), request, nowMs, planLimits);
    const watermarkMs = await watermarkOf(namespace, plan.pipeline.name);
    const ttl = computeCacheTtl({
      rangeEndMs: plan.range.toMs,
      watermarkMs,
      allowedLatenessMs: plan.pipeline.raw.allowedLatenessMs,
      openTtlMs: openTtlMs(plan),
      settledTtlMs: defaultSettledTtlMs,
      nowMs,
    });
    const explain: QueryExplain = {
      source: primarySource(plan),
      segments:
        plan.kind === "window"
          ? []
          : plan.segments.map((s) => ({
              source: segmentRef(s),
              from: new Date(s.fromMs).toISOString(),
              to: new Date(s.toMs).toISOString(),
            })),
      candidates: plan.candidates.map((c) => ({ ...c })),
      range: {
        from: new Date(plan.range.fromMs).toISOString(),
        to: new Date(plan.range.toMs).toISOString(),
      },
      approximate: approximateColumns(plan),
      cache: { status: "bypass", ttlSeconds: ttl.ttlSeconds, settled: ttl.settled },
    };
    if (options.explainOnly) {
      const rendered =
        plan.kind === "window"
          ? {
              sql: renderWindowPartialsQuery(plan.pipeline.spec),
              params: { window: plan.window.name, from: plan.range.fromMs, to: plan.range.toMs },
            }
          : renderEventsQuery(plan);
      return { columns: [], rows: [], explain: { ...explain, sql: rendered.sql, params: rendered.params } };
    }
    const key = resultCacheKey(namespace, normalizedPlan(plan));
    const tag = `tally-gateway ${key.slice(-16)}`;
    let computed: QueryAnswer;
    let status: CacheStatus;
    if (deps.cache === undefined) {
      computed = await run(plan, tag);
      status = "unavailable";
    } else {
      const cached = await deps.cache.get(key, ttl.ttlSeconds, () => run(plan, tag), {
        bypass: options.bypassCache,
      });
      computed = cached.value;
      status = cached.status;
    }
    return {
      columns: computed.columns,
      rows: computed.rows,
      explain: {
        ...explain,
        rowsRead: computed.rowsRead,
        elapsedMs: computed.elapsedMs,
        cache: { ...explain.cache, status },
      },
    };
  }
}
