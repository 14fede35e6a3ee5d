/**
 * A sessions request as one parameterized query (pure). Sessions are either every event sharing a
 * session id (sessionField), or an entity's run of events each less than `gap` after the previous one
 * (an event `gap` or more after the previous starts a new session, as the runtime's session windows
 * close). Each session is summarised once (start, events, duration, bounce, entry and exit page, the
 * dimension's value on its first event), then grouped by every breakdown in one pass: the whole range,
 * the bucket of its start, the dimension, the entry page and the exit page.
 */
import { columnTypeTraits } from "../../api/v1alpha1/column-types.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import type { SessionsRequest } from "../../api/v1alpha1/sessions.js";
import type { NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { granularityIntervals } from "../../contracts/clickhouse/rollup-ddl.js";
import { quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { refuse } from "../query/query-refusal.js";
import { Params, type RenderedQuery } from "../query/render-query-sql.js";
import { bucketStarts, checkTimezone, type ResolvedRange, resolveTimeRange } from "../query/time-range.js";
import { checkField } from "./analytics-source.js";
import {
  checkEventFilter,
  type EntitySource,
  entityPresent,
  entitySegmentCondition,
  eventCondition,
  resolveEntitySource,
} from "./retention-source.js";

export interface SessionsLimits {
  readonly maxBuckets: number;
}

export const defaultSessionsLimits: SessionsLimits = { maxBuckets: 10_000 };

/** Without a session window on the pipeline: PostHog's and GA's 30 minutes. */
export const defaultSessionGapMs = 30 * 60_000;

export const defaultPageView: QueryFilter = { op: "eq", field: "type", value: "page_view" };

export interface SessionsPlan {
  readonly source: EntitySource;
  readonly request: SessionsRequest;
  readonly range: ResolvedRange;
  /** undefined with sessionField. */
  readonly gapMs: number | undefined;
  readonly query: RenderedQuery;
}

/** The request's gap, else the pipeline's first session window's, else 30 minutes. */
export function sessionGapMs(source: EntitySource, gap: string | undefined): number {
  if (gap !== undefined) return parseDuration(gap, "gap");
  const window = source.pipeline.spec.windows?.find((w) => w.type === "session");
  return window?.type === "session" ? parseDuration(window.gap, "gap") : defaultSessionGapMs;
}

function checkSessionsRequest(source: EntitySource, request: SessionsRequest): void {
  checkTimezone(request.timezone);
  if (request.sessionField !== undefined)
    checkField(source.pipeline.raw, request.sessionField, "sessionField");
  checkField(source.pipeline.raw, request.urlField, "urlField");
  if (request.dimension !== undefined) checkField(source.pipeline.raw, request.dimension, "dimension");
  checkEventFilter(source, request.filter, "filter");
  if (request.bounce === "single_page_view")
    checkEventFilter(
      source,
      request.pageView ?? defaultPageView,
      request.pageView === undefined ? "bounce" : "pageView",
    );
  if (request.gap !== undefined && parseDuration(request.gap, "gap") <= 0)
    refuse(400, "InvalidGap", "gap must be more than zero", { field: "gap" });
}

export function planSessions(
  catalogue: NamespaceCatalogue,
  request: SessionsRequest,
  nowMs: number,
  limits: SessionsLimits = defaultSessionsLimits,
): SessionsPlan {
  const source = resolveEntitySource(catalogue, request.pipeline, request.entity);
  checkSessionsRequest(source, request);
  const range = resolveTimeRange(request.timeRange, request.granularity, request.timezone, nowMs);
  if (
    request.granularity !== "none" &&
    bucketStarts(range, request.granularity, request.timezone, limits.maxBuckets).length > limits.maxBuckets
  )
    refuse(422, "TooManyBuckets", `more than ${limits.maxBuckets} buckets: use a coarser granularity`, {
      field: "granularity",
    });
  const gapMs = request.sessionField === undefined ? sessionGapMs(source, request.gap) : undefined;
  return {
    source,
    request,
    range,
    gapMs,
    query: renderSessionsQuery(source, request, range, gapMs, nowMs),
  };
}

/** One row per event: its session key parts, time (ms), page, dimension value and page-view flag. */
function eventsSelect(
  source: EntitySource,
  request: SessionsRequest,
  range: ResolvedRange,
  nowMs: number,
  params: Params,
): string {
  const { time, entity, table } = source;
  const url = quoteIdentifier(request.urlField, "urlField");
  const dimension =
    request.dimension === undefined
      ? "CAST(NULL AS Nullable(String))"
      : `toNullable(toString(${quoteIdentifier(request.dimension, "dimension")}))`;
  const pageView =
    request.bounce === "single_page_view"
      ? eventCondition(source, request.pageView ?? defaultPageView, params)
      : "0";
  const session =
    request.sessionField === undefined ? undefined : quoteIdentifier(request.sessionField, "sessionField");
  const where = [
    `${time} >= fromUnixTimestamp64Milli(${params.add("Int64", range.fromMs)})`,
    `${time} < fromUnixTimestamp64Milli(${params.add("Int64", range.toMs)})`,
    session === undefined
      ? entityPresent(source)
      : `isNotNull(${session}) AND NOT empty(toString(${session}))`,
    `(${eventCondition(source, request.filter, params)})`,
  ];
  // The one place the segment narrows the events (its entities only).
  const segment = entitySegmentCondition(source, request.segment, range, request.timezone, nowMs, params);
  if (segment !== undefined) where.push(segment);
  return [
    "SELECT",
    [
      `${session === undefined ? entity : session} AS e`,
      `toUnixTimestamp64Milli(toDateTime64(${time}, 3)) AS ms`,
      `toNullable(toString(${url})) AS url`,
      `${dimension} AS dim`,
      `toUInt8(${pageView}) AS pv`,
    ].join(", "),
    `FROM ${table} WHERE ${where.join(" AND ")}`,
  ].join(" ");
}

function renderSessionsQuery(
  source: EntitySource,
  request: SessionsRequest,
  range: ResolvedRange,
  gapMs: number | undefined,
  nowMs: number,
): RenderedQuery {
  const params = new Params();
  const events = eventsSelect(source, request, range, nowMs, params);
  // Gap sessions: a running count of session starts numbers each entity's sessions.
  const keyed =
    gapMs === undefined
      ? `SELECT e, 0 AS sn, ms, url, dim, pv FROM (${events})`
      : [
          "SELECT e, sum(is_new) OVER (PARTITION BY e ORDER BY ms, url, dim ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sn, ms, url, dim, pv FROM (",
          `  SELECT *, toUInt8(ms - lagInFrame(ms, 1, ms - ${params.add("Int64", gapMs)}) OVER w >= ${params.add("Int64", gapMs)}) AS is_new`,
          `  FROM (${events}) WINDOW w AS (PARTITION BY e ORDER BY ms, url, dim ROWS BETWEEN 1 PRECEDING AND CURRENT ROW))`,
        ].join("\n");
  const bounced = request.bounce === "single_event" ? "count() = 1" : "sum(pv) <= 1";
  const sessions = [
    "SELECT min(ms) AS start, max(ms) - min(ms) AS duration, count() AS events,",
    `  toUInt8(${bounced}) AS bounced, argMinIf(url, ms, isNotNull(url)) AS entry, argMaxIf(url, ms, isNotNull(url)) AS exit, argMin(dim, ms) AS d`,
    `FROM (${keyed}) GROUP BY e, sn`,
  ].join("\n");
  const bucket =
    request.granularity === "none"
      ? "CAST(NULL AS Nullable(String))"
      : `toNullable(toString(toUnixTimestamp(toStartOfInterval(fromUnixTimestamp64Milli(start), ${granularityIntervals[request.granularity]}, ${params.add("String", request.timezone)})) * 1000))`;
  const grouped = [
    "SELECT g.1 AS breakdown, g.2 AS key, count() AS sessions, sum(events) AS events, sum(bounced) AS bounces,",
    "  sum(duration) AS total_ms, quantileExactInclusive(0.5)(duration) AS median_ms",
    `FROM (${sessions})`,
    `ARRAY JOIN [('all', CAST(NULL AS Nullable(String))), ('time', ${bucket}), ('dimension', d), ('entry', entry), ('exit', exit)] AS g`,
    `WHERE breakdown = 'all' OR (breakdown = 'time' AND ${request.granularity === "none" ? "0" : "1"}) OR (breakdown = 'dimension' AND ${request.dimension === undefined ? "0" : "1"}) OR breakdown IN ('entry', 'exit')`,
    "GROUP BY breakdown, key",
  ].join("\n");
  const sql = [
    "SELECT breakdown, key, sessions, events, bounces, total_ms, median_ms FROM (",
    `  SELECT *, row_number() OVER (PARTITION BY breakdown ORDER BY sessions DESC, key ASC NULLS LAST) AS rank FROM (${grouped})`,
    `) WHERE breakdown IN ('all', 'time') OR rank <= ${params.add("UInt32", request.top)}`,
    "ORDER BY breakdown, rank",
  ].join("\n");
  return { sql, params: params.values };
}

/** A dimension value arrives as text: back to the field's own JSON type. */
export function dimensionValue(
  source: EntitySource,
  field: string,
  key: string | null,
): string | number | boolean | null {
  const info = source.pipeline.raw.fields.get(field);
  if (key === null || info === undefined) return key;
  if (info.type === "Bool") return key === "true" || key === "1";
  return columnTypeTraits[info.type].numeric ? Number(key) : key;
}
