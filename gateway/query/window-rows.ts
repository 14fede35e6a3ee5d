/**
 * The rows of a window query (pure): the merged windows (combinePartials) filtered on their group-by
 * values, re-grouped to the requested dimensions (states merged, so uniq and quantiles stay exact to
 * their sketches), ordered and paged.
 */
import type { QueryFilter, ResultValue } from "../../api/v1alpha1/query.js";
import {
  type AggregationState,
  deserializeState,
  mergeStates,
  resultsFor,
} from "../../contracts/windows/aggregation.js";
import type { CombinedWindow, GroupValue } from "../../contracts/windows/window-results.js";
import { aggregationName } from "../../contracts/windows/window-spec.js";
import type { WindowPlan } from "./window-plan.js";

type Values = ReadonlyMap<string, GroupValue>;

function compare(a: string | number | boolean, b: string | number | boolean): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A filter's truth as SQL's three-valued logic gives it: a comparison with a missing (null) value is
 * unknown (null), and so is its negation, so `not eq` keeps no window whose value is missing, as the
 * events query's WHERE keeps no such event.
 */
function evaluate(filter: QueryFilter, values: Values): boolean | null {
  switch (filter.op) {
    case "and":
    case "or": {
      const decisive = filter.op === "or";
      let result: boolean | null = !decisive;
      for (const f of filter.filters) {
        const v = evaluate(f, values);
        if (v === decisive) return decisive;
        if (v === null) result = null;
      }
      return result;
    }
    case "not": {
      const v = evaluate(filter.filter, values);
      return v === null ? null : !v;
    }
    default:
      break;
  }
  const value = values.get(filter.field) ?? null;
  if (value === null) return null;
  switch (filter.op) {
    case "eq":
      return compare(value, filter.value) === 0;
    case "in":
      return filter.values.some((v) => compare(value, v) === 0);
    case "contains":
      return typeof value === "string" && value.includes(filter.value);
    case "range": {
      const checks: [string | number | boolean | undefined, (c: number) => boolean][] = [
        [filter.gt, (c) => c > 0],
        [filter.gte, (c) => c >= 0],
        [filter.lt, (c) => c < 0],
        [filter.lte, (c) => c <= 0],
      ];
      return checks.every(([bound, ok]) => bound === undefined || ok(compare(value, bound)));
    }
  }
}

export function matchesFilter(filter: QueryFilter | undefined, values: Values): boolean {
  return filter === undefined || evaluate(filter, values) === true;
}

interface Group {
  readonly window: CombinedWindow;
  readonly dims: readonly GroupValue[];
  states: AggregationState[];
}

function sortValue(value: ResultValue | undefined): string | number {
  if (value === null || value === undefined) return "";
  return typeof value === "number" ? value : String(value);
}

export function windowRows(
  plan: WindowPlan,
  windows: readonly CombinedWindow[],
): Record<string, ResultValue>[] {
  const groupBy = plan.window.spec.groupBy;
  const names = plan.aggregations.map(aggregationName);
  const groups = new Map<string, Group>();
  for (const window of windows) {
    const values = new Map(groupBy.map((g, i) => [g, window.groupKey[i] ?? null] as const));
    if (!matchesFilter(plan.filter, values)) continue;
    const dims = plan.dimensions.map((d) => values.get(d) ?? null);
    const states = plan.aggregations.map((a, i) => {
      const text = window.states[names[i] ?? ""];
      if (text === undefined) throw new Error(`window ${plan.window.name}: no state for ${names[i]}`);
      return deserializeState(text, a.fn);
    });
    const key = JSON.stringify([window.windowStart, window.windowEnd, dims]);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { window, dims, states });
    else group.states = group.states.map((s, i) => mergeStates(s, states[i] ?? s));
  }
  const rows = [...groups.values()].map((group) => {
    const row: Record<string, ResultValue> = {
      window_start: new Date(group.window.windowStart).toISOString(),
      window_end: new Date(group.window.windowEnd).toISOString(),
    };
    plan.dimensions.forEach((d, i) => {
      row[d] = group.dims[i] ?? null;
    });
    plan.aggregations.forEach((a, i) => {
      const state = group.states[i];
      if (state !== undefined) Object.assign(row, resultsFor(a, state));
    });
    return row;
  });
  const order =
    plan.orderBy.length > 0
      ? plan.orderBy
      : [
          { field: "window_start", direction: "asc" as const },
          ...plan.dimensions.map((d) => ({ field: d, direction: "asc" as const })),
        ];
  rows.sort((a, b) => {
    for (const o of order) {
      const x = sortValue(a[o.field]);
      const y = sortValue(b[o.field]);
      const c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return o.direction === "desc" ? -c : c;
    }
    return 0;
  });
  return rows.slice(plan.offset, plan.offset + plan.limit);
}
