/**
 * A retention request as a plan and one parameterized query (pure). The cohorts are the periods of the
 * range (widened to whole periods); each cohort holds the entities with a start event in it (recurring)
 * or whose first start event ever is in it (first_time); a cohort entity counts in column k when it has
 * a return event in period cohort + k (1 ≤ k ≤ N). Period numbers come from ClickHouse's toRelative*Num
 * in the request's timezone, so k is a calendar difference, not a duration divided by 24 h.
 */
import type { RetentionRequest } from "../../api/v1alpha1/retention.js";
import type { NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { refuse } from "../query/query-refusal.js";
import { Params, type RenderedQuery } from "../query/render-query-sql.js";
import { checkTimezone, type ResolvedRange, resolveTimeRange } from "../query/time-range.js";
import { periodNumberFunction, periodStarts, periodsAfter } from "./retention-periods.js";
import {
  checkEventFilter,
  type EntitySource,
  entityPresent,
  entitySegmentCondition,
  eventCondition,
  resolveEntitySource,
} from "./retention-source.js";

export interface RetentionLimits {
  /** Cohorts (periods of the range) one request may have. */
  readonly maxCohorts: number;
}

export const defaultRetentionLimits: RetentionLimits = { maxCohorts: 400 };

export interface RetentionPlan {
  readonly source: EntitySource;
  readonly request: RetentionRequest;
  /** The range widened to whole periods: the cohorts' events. */
  readonly range: ResolvedRange;
  /** Where return events are read: from the first cohort to N periods after the last. */
  readonly returnsRange: ResolvedRange;
  readonly cohortStarts: readonly number[];
  readonly query: RenderedQuery;
}

export function planRetention(
  catalogue: NamespaceCatalogue,
  request: RetentionRequest,
  nowMs: number,
  limits: RetentionLimits = defaultRetentionLimits,
): RetentionPlan {
  const source = resolveEntitySource(catalogue, request.pipeline, request.entity);
  checkTimezone(request.timezone);
  checkEventFilter(source, request.startEvent, "startEvent");
  checkEventFilter(source, request.returnEvent, "returnEvent");
  const requested = resolveTimeRange(request.timeRange, "none", request.timezone, nowMs);
  const cohortStarts = periodStarts(
    requested.fromMs,
    requested.toMs,
    request.period,
    request.timezone,
    limits.maxCohorts,
  );
  if (cohortStarts.length > limits.maxCohorts)
    refuse(
      422,
      "TooManyCohorts",
      `the range holds more than ${limits.maxCohorts} ${request.period}s: shorten it or use a longer period`,
      {
        field: "timeRange",
      },
    );
  const first = cohortStarts[0] ?? requested.fromMs;
  const last = cohortStarts.at(-1) ?? requested.fromMs;
  const range = { fromMs: first, toMs: periodsAfter(last, 1, request.period, request.timezone) };
  const returnsRange = {
    fromMs: first,
    toMs: periodsAfter(last, request.periods + 1, request.period, request.timezone),
  };
  return {
    source,
    request,
    range,
    returnsRange,
    cohortStarts,
    query: renderRetentionQuery(source, request, { range, returnsRange, requested }, nowMs),
  };
}

/** `requested` is the range as asked, not widened: the segment's default range. */
function renderRetentionQuery(
  source: EntitySource,
  request: RetentionRequest,
  ranges: { range: ResolvedRange; returnsRange: ResolvedRange; requested: ResolvedRange },
  nowMs: number,
): RenderedQuery {
  const { range, returnsRange, requested } = ranges;
  const params = new Params();
  const tz = params.add("String", request.timezone);
  const periodOf = (time: string) => `${periodNumberFunction[request.period]}(${time}, ${tz})`;
  const at = (ms: number) => `fromUnixTimestamp64Milli(${params.add("Int64", ms)})`;
  const { entity, time, table } = source;
  const startWhere = [
    ...(request.mode === "recurring" ? [`${time} >= ${at(range.fromMs)}`] : []),
    `${time} < ${at(range.toMs)}`,
    entityPresent(source),
    `(${eventCondition(source, request.startEvent, params)})`,
  ];
  // The one place the segment narrows the cohorts (its entities only).
  const segment = entitySegmentCondition(source, request.segment, requested, request.timezone, nowMs, params);
  if (segment !== undefined) startWhere.push(segment);
  const starts =
    request.mode === "recurring"
      ? `SELECT ${entity} AS e, ${periodOf(time)} AS p FROM ${table} WHERE ${startWhere.join(" AND ")} GROUP BY e, p`
      : `SELECT ${entity} AS e, ${periodOf(`min(${time})`)} AS p FROM ${table} WHERE ${startWhere.join(" AND ")} GROUP BY e HAVING min(${time}) >= ${at(range.fromMs)}`;
  const returns = [
    `SELECT ${entity} AS e, groupUniqArray(${periodOf(time)}) AS ps FROM ${table}`,
    `WHERE ${time} >= ${at(returnsRange.fromMs)} AND ${time} < ${at(returnsRange.toMs)}`,
    `AND ${entityPresent(source)} AND (${eventCondition(source, request.returnEvent, params)})`,
    "GROUP BY e",
  ].join(" ");
  const n = params.add("UInt32", request.periods);
  const firstPeriod = periodOf(at(range.fromMs));
  const sql = [
    `SELECT toInt64(p) - toInt64(${firstPeriod}) AS cohort, k, count() AS entities FROM (`,
    `  SELECT s.p AS p, arrayJoin(arrayConcat([0], arrayMap(x -> toInt64(x) - toInt64(s.p), arrayFilter(x -> x > s.p AND x <= s.p + ${n}, r.ps)))) AS k`,
    `  FROM (${starts}) AS s`,
    `  LEFT JOIN (${returns}) AS r ON s.e = r.e`,
    ") GROUP BY cohort, k ORDER BY cohort, k",
  ].join("\n");
  return { sql, params: params.values };
}
