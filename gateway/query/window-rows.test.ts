import { describe, expect, it } from "vitest";
import type { QueryFilter, ResultValue } from "../../api/v1alpha1/query.js";
import { exampleCatalogue } from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { addValue, createState, serializeState } from "../../contracts/windows/aggregation.js";
import type { CombinedWindow } from "../../contracts/windows/window-results.js";
import { planQuery } from "./plan-query.js";
import { type Ask, queryRequest } from "./testdata/query-requests.js";
import type { WindowPlan } from "./window-plan.js";
import { windowRows } from "./window-rows.js";

const minute = 60_000;
const now = Date.now();
const base = Math.floor(now / minute) * minute - 10 * minute;
const iso = (ms: number) => new Date(ms).toISOString();

function windowPlan(ask: Ask): WindowPlan {
  const request = queryRequest({
    window: "events_per_minute",
    timeRange: { from: iso(base - 60 * minute), to: iso(now) },
    ...ask,
  });
  const plan = planQuery(exampleCatalogue(), request, now);
  if (plan.kind !== "window") throw new Error("expected a window plan");
  return plan;
}

interface Event {
  readonly minute: number;
  readonly type: string | null;
  readonly user: string;
  readonly value: number | null;
}

// Three minutes of events; users recur across types and minutes; some events have no type.
const types = ["click", "page_view", "purchase", null] as const;
const events: Event[] = [];
for (let m = 0; m < 3; m++)
  for (let i = 0; i < 40; i++)
    events.push({
      minute: m,
      type: types[(i * 7 + m) % types.length] ?? null,
      user: `u${(i * 3 + m) % 11}`,
      value: i % 5 === 0 ? null : i + m / 4,
    });

/** The window partials a worker emits for events_per_minute: one per (minute, type), states of its events. */
function partials(): CombinedWindow[] {
  const cells = new Map<string, Event[]>();
  for (const e of events) {
    const key = JSON.stringify([e.minute, e.type]);
    cells.set(key, [...(cells.get(key) ?? []), e]);
  }
  return [...cells.entries()].map(([key, cell]) => {
    const [m, type] = JSON.parse(key) as [number, string | null];
    const count = createState({ fn: "count" });
    const users = createState({ fn: "uniq", field: "user_id" });
    const revenue = createState({ fn: "sum", field: "value" });
    for (const e of cell) {
      addValue(count, 1);
      addValue(users, e.user);
      addValue(revenue, e.value);
    }
    return {
      windowName: "events_per_minute",
      windowStart: base + m * minute,
      windowEnd: base + (m + 1) * minute,
      groupKey: [type],
      states: {
        events: serializeState(count),
        users: serializeState(users),
        revenue: serializeState(revenue),
      },
      results: {},
    };
  });
}

/** The rows computed here from the events: grouped by minute (and type), counted and summed directly. */
function expected(keep: (e: Event) => boolean, byType: boolean): Record<string, ResultValue>[] {
  const groups = new Map<string, Event[]>();
  for (const e of events.filter(keep)) {
    const key = JSON.stringify(byType ? [e.minute, e.type] : [e.minute]);
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Event;
    return {
      window_start: iso(base + first.minute * minute),
      window_end: iso(base + (first.minute + 1) * minute),
      ...(byType ? { type: first.type } : {}),
      events: group.length,
      users: new Set(group.map((e) => e.user)).size,
      revenue: group.reduce((sum, e) => sum + (e.value ?? 0), 0),
    };
  });
}

const byKey = (rows: readonly Record<string, ResultValue>[]) =>
  [...rows].sort((a, b) =>
    JSON.stringify([a.window_start, a.type]).localeCompare(JSON.stringify([b.window_start, b.type])),
  );

describe("window rows", () => {
  const metrics = ["events", "users", "revenue"];

  it("merges the partials of a dimension subset: counts and sums add, uniq merges distinct users", () => {
    const rows = windowRows(windowPlan({ metrics }), partials());
    expect(rows).toEqual(expected(() => true, false));
    // The sum of the per-type distinct counts is larger: users recur across types.
    const perType = windowRows(windowPlan({ metrics, dimensions: ["type"] }), partials());
    const summed = perType
      .filter((r) => r.window_start === rows[0]?.window_start)
      .reduce((s, r) => s + Number(r.users), 0);
    expect(summed).toBeGreaterThan(Number(rows[0]?.users));
    expect(byKey(perType)).toEqual(byKey(expected(() => true, true)));
  });

  const filters: [string, QueryFilter, (e: Event) => boolean][] = [
    ["eq", { op: "eq", field: "type", value: "click" }, (e) => e.type === "click"],
    [
      "in",
      { op: "in", field: "type", values: ["click", "purchase"] },
      (e) => e.type === "click" || e.type === "purchase",
    ],
    ["contains", { op: "contains", field: "type", value: "ur" }, (e) => e.type === "purchase"],
    [
      "range",
      { op: "range", field: "type", gte: "page_view", lt: "purchase" },
      (e) => e.type === "page_view",
    ],
    [
      "or",
      {
        op: "or",
        filters: [
          { op: "eq", field: "type", value: "click" },
          { op: "range", field: "type", gt: "page_view" },
        ],
      },
      (e) => e.type === "click" || e.type === "purchase",
    ],
    [
      "and",
      {
        op: "and",
        filters: [
          { op: "in", field: "type", values: ["click", "page_view"] },
          { op: "not", filter: { op: "eq", field: "type", value: "click" } },
        ],
      },
      (e) => e.type === "page_view",
    ],
    // As in SQL (and so in the events query): a comparison with a missing value is unknown, and its
    // negation too, so `not` keeps only events whose type is known and differs.
    [
      "not",
      { op: "not", filter: { op: "eq", field: "type", value: "click" } },
      (e) => e.type !== null && e.type !== "click",
    ],
    [
      "not in",
      { op: "not", filter: { op: "in", field: "type", values: ["click", "page_view"] } },
      (e) => e.type === "purchase",
    ],
    [
      "not (or)",
      {
        op: "not",
        filter: {
          op: "or",
          filters: [
            { op: "eq", field: "type", value: "click" },
            { op: "contains", field: "type", value: "x" },
          ],
        },
      },
      (e) => e.type === "page_view" || e.type === "purchase",
    ],
  ];

  it.each(filters)("filters on group-by values: %s", (_name, filter, keep) => {
    expect(byKey(windowRows(windowPlan({ metrics, dimensions: ["type"], filter }), partials()))).toEqual(
      byKey(expected(keep, true)),
    );
    // Filtered before the merge into fewer dimensions.
    expect(windowRows(windowPlan({ metrics, filter }), partials())).toEqual(expected(keep, false));
  });

  it("orders by window_start then dimensions by default, or as asked, then pages", () => {
    const known = (e: Event) => e.type !== null;
    const filter: QueryFilter = { op: "in", field: "type", values: ["click", "page_view", "purchase"] };
    const all = expected(known, true);
    const rows = windowRows(windowPlan({ metrics, dimensions: ["type"], filter }), partials());
    expect(rows.map((r) => [r.window_start, r.type])).toEqual(
      all
        .map((r) => [r.window_start, r.type])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    const orderBy = [
      { field: "revenue", direction: "desc" as const },
      { field: "window_start", direction: "asc" as const },
    ];
    const ordered = [...all].sort(
      (a, b) =>
        Number(b.revenue) - Number(a.revenue) || String(a.window_start).localeCompare(String(b.window_start)),
    );
    expect(windowRows(windowPlan({ metrics, dimensions: ["type"], filter, orderBy }), partials())).toEqual(
      ordered,
    );
    expect(
      windowRows(
        windowPlan({ metrics, dimensions: ["type"], filter, orderBy, limit: 4, offset: 3 }),
        partials(),
      ),
    ).toEqual(ordered.slice(3, 7));
    expect(
      windowRows(windowPlan({ metrics, dimensions: ["type"], filter, offset: 100 }), partials()),
    ).toEqual([]);
  });
});
