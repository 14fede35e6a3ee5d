/**
 * A funnel plan as one parameterized ClickHouse query over the pipeline's raw table (pure).
 *
 * Each entity's events in the range become one array sorted by (time, partition, offset), with a bit
 * mask of the steps each event matches (`_s`) and of the gaps its exclusions cover (`_x`). For the
 * ordered modes an `arrayFold` walks the array once keeping, per step j, the latest start (step-0 time)
 * of a path that has reached step j: an event of step j extends the path kept at step j-1 when it lies
 * within the window of that start, an exclusion for gap j drops the path kept at step j, and in strict
 * mode any event that extends nothing drops every kept path. The latest start is the one with the most
 * window left, so the furthest step reached is the furthest any path reaches; the first time the last
 * step is reached gives the time to convert (from that path's start). For order `any`, each step event
 * anchors a window, and the entity's level is the most distinct steps one window holds.
 * Entities are then counted per breakdown value (top N by entities at step 0, the rest as Other) and in
 * total (GROUPING SETS), with the median and the histogram of the times to convert.
 */
import { numberLiteral, quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { Params, type RenderedQuery, renderFilter } from "../query/render-query-sql.js";
import { rawColumns } from "./analytics-source.js";
import type { FunnelPlan } from "./funnel-plan.js";
import { renderSegmentCondition } from "./segment-sql.js";

/** `toUInt32(if(c0, 1, 0) + if(c1, 2, 0) …)`: bit i set when condition i holds (null counts as false). */
function bitMask(conditions: readonly (string | undefined)[]): string {
  const terms = conditions.flatMap((c, i) =>
    c === undefined ? [] : [`if(ifNull(${c}, 0), ${numberLiteral(2 ** i, "bit")}, 0)`],
  );
  return terms.length === 0 ? "toUInt32(0)" : `toUInt32(${terms.join(" + ")})`;
}

function eventsSelect(plan: FunnelPlan, params: Params): string {
  const { raw, entityField, range } = plan.source;
  const fields = raw.fields;
  const { table, time, entity } = rawColumns(raw, entityField);
  const steps = plan.steps.map((s) => renderFilter(s.event, fields, params));
  const gapConditions: (string | undefined)[] = plan.steps.slice(0, -1).map(() => undefined);
  const gapParts = new Map<number, string[]>();
  for (const exclusion of plan.exclusions) {
    const condition = renderFilter(exclusion.event, fields, params);
    for (const g of exclusion.gaps) gapParts.set(g, [...(gapParts.get(g) ?? []), condition]);
  }
  for (const [g, parts] of gapParts)
    gapConditions[g] = parts.length === 1 ? parts[0] : `(${parts.join(" OR ")})`;
  const value =
    plan.breakdown === undefined
      ? "CAST(NULL, 'Nullable(String)')"
      : `toNullable(toString(${quoteIdentifier(plan.breakdown.field, "breakdown.field")}))`;
  const where = [
    `${time} >= fromUnixTimestamp64Milli(${params.add("Int64", range.fromMs)})`,
    `${time} < fromUnixTimestamp64Milli(${params.add("Int64", range.toMs)})`,
    `${entity} IS NOT NULL`,
    // Strict mode needs every event (another event between two steps breaks the path); the others only these.
    ...(plan.order === "strict" ? [] : ["(_s != 0 OR _x != 0)"]),
    ...(plan.segment === undefined ? [] : [renderSegmentCondition(plan.segment, raw, entityField, params)]),
  ];
  return [
    `SELECT ${entity} AS _e, toUnixTimestamp64Milli(toDateTime64(${time}, 3)) AS _t, _partition AS _p, _offset AS _o,`,
    `  ${bitMask(steps)} AS _s, ${bitMask(gapConditions)} AS _x, ${value} AS _v`,
    `FROM ${table}`,
    `WHERE ${where.join(" AND ")}`,
  ].join("\n");
}

/**
 * The arrayFold of the ordered modes: state (starts, level, ttc[, attrs, attribution at the furthest
 * step]). `_ext` (computed once per event, an alias inside the lambda) holds, per step, the start of the
 * path this event extends to that step, or -1.
 */
function orderedFold(
  plan: FunnelPlan,
  n: string,
  window: string,
): { fold: string; level: string; ttc: string; value: string } {
  const strict = plan.order === "strict" ? "1" : "0";
  const previous = "acc.1[greatest(j, 1)]";
  const ext = `(CAST(arrayMap(j -> if(bitTest(x.4, j) AND (j = 0 OR (${previous} >= 0 AND x.1 - ${previous} <= ${window})), if(j = 0, x.1, ${previous}), -1), range(${n})), 'Array(Int64)') AS _ext)`;
  const starts = `CAST(arrayMap((j, e) -> if(e >= 0, e, if(${strict} OR bitTest(x.5, j), -1, acc.1[j + 1])), range(${n}), ${ext}), 'Array(Int64)')`;
  const top = "(toUInt8(arrayLastIndex(s -> s >= 0, _ext)) AS _top)";
  const level = `toUInt8(greatest(acc.2, ${top}))`;
  const ttc = `toInt64(if(_top = ${n} AND acc.2 < ${n}, x.1 - _ext[${n}], acc.3))`;
  const attribution = plan.breakdown?.attribution;
  if (attribution?.type !== "step") {
    const init = `(CAST(arrayWithConstant(${n}, -1), 'Array(Int64)'), toUInt8(0), toInt64(-1))`;
    return {
      fold: `arrayFold((acc, x) -> (${starts}, ${level}, ${ttc}), evs, ${init})`,
      level: "st.2",
      ttc: "st.3",
      value: "_ft",
    };
  }
  const a = numberLiteral(attribution.step, "breakdown.attribution.step");
  const attrAt = (j: string) => `if(${j} < ${a}, NULL, if(${j} = ${a}, x.6, acc.4[greatest(${j}, 1)]))`;
  const attrs = `(CAST(arrayMap((j, e) -> if(e >= 0, ${attrAt("j")}, acc.4[j + 1]), range(${n}), _ext), 'Array(Nullable(String))') AS _attrs)`;
  const atTop = `CAST(if(_top > acc.2, _attrs[_top], acc.5), 'Nullable(String)')`;
  const init = `(CAST(arrayWithConstant(${n}, -1), 'Array(Int64)'), toUInt8(0), toInt64(-1), CAST(arrayWithConstant(${n}, NULL), 'Array(Nullable(String))'), CAST(NULL, 'Nullable(String)'))`;
  return {
    fold: `arrayFold((acc, x) -> (${starts}, ${level}, ${ttc}, ${attrs}, ${atTop}), evs, ${init})`,
    level: "st.2",
    ttc: "st.3",
    value: `if(st.2 > ${a}, st.5, NULL)`,
  };
}

/** Order any: each step event anchors a window [t, t + window]; the level is the most distinct steps one holds. */
function anyOrder(n: string, window: string): { fold: string; level: string; ttc: string; value: string } {
  const cover = (a: string) =>
    `arrayReduce('groupBitOr', arrayMap(e -> if(e.1 >= ${a}.1 AND e.1 <= ${a}.1 + ${window}, e.4, toUInt32(0)), evs))`;
  const full = `toUInt32(bitShiftLeft(toUInt64(1), ${n}) - 1)`;
  const anchor = `arrayFirst(a -> ${cover("a")} = ${full}, evs)`;
  return {
    fold: `(toUInt8(arrayMax(arrayMap(a -> bitCount(${cover("a")}), evs))), ${anchor}.1)`,
    level: "st.1",
    ttc: `if(st.1 = ${n}, toInt64(arrayMax(arrayMap(j -> arrayFirst(e -> e.1 >= st.2 AND bitTest(e.4, j), evs).1, range(${n}))) - st.2), toInt64(-1))`,
    value: "_ft",
  };
}

export function renderFunnelQuery(plan: FunnelPlan): RenderedQuery {
  const params = new Params();
  const events = eventsSelect(plan, params);
  const n = params.add("UInt8", plan.steps.length);
  const window = params.add("Int64", plan.windowMs);
  const bins = params.add("UInt32", plan.histogramBins);
  const limit = params.add("UInt32", plan.breakdown?.limit ?? 1);
  const walk = plan.order === "any" ? anyOrder(n, window) : orderedFold(plan, n, window);
  const value = plan.breakdown === undefined ? "CAST(NULL, 'Nullable(String)')" : walk.value;
  const sql = `
WITH per_entity AS (
  SELECT _e, ${walk.fold} AS st, ${walk.level} AS _l, ${walk.ttc} AS _c, arrayFirst(x -> x.4 != 0, evs).6 AS _ft
  FROM (SELECT _e, arraySort(groupArray((_t, _p, _o, _s, _x, _v))) AS evs FROM (
${events}
  ) GROUP BY _e)
),
reached AS (
  SELECT _l, _c, ${value} AS _b FROM per_entity WHERE _l >= 1
),
buckets AS (
  SELECT _b, count() AS _n, sumForEach(arrayMap(k -> toUInt64(_l >= k), range(1, ${n} + 1))) AS _steps,
    groupArrayIf(_c, _l = ${n}) AS _ttcs
  FROM reached GROUP BY _b
),
ranked AS (
  SELECT _b, _steps, _ttcs, row_number() OVER (ORDER BY _n DESC, _b ASC NULLS LAST) > ${limit} AS _other FROM buckets
),
totals AS (
  SELECT grouping(_other) AS is_total, _other AS other, if(_other, NULL, _b) AS value,
    sumForEach(_steps) AS steps, groupArrayArray(_ttcs) AS ttcs
  FROM ranked GROUP BY GROUPING SETS ((_other, value), ())
)
SELECT is_total, other, value, steps, length(ttcs) AS converted,
  if(converted = 0, NULL, (arrayReduce('quantileExactLow(0.5)', ttcs) + arrayReduce('quantileExactHigh(0.5)', ttcs)) / 2) AS median_ms,
  arrayMin(ttcs) AS min_ms,
  intDiv(arrayMax(ttcs) - arrayMin(ttcs) + ${bins}, ${bins}) AS bin_ms,
  if(is_total = 1 AND converted > 0, arrayMap(i -> arrayCount(c -> intDiv(c - min_ms, bin_ms) = i, ttcs), range(${bins})), []) AS histogram
FROM totals`.trim();
  return { sql, params: params.values };
}
