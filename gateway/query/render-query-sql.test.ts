import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import { exampleCatalogue } from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { type EventsPlan, planQuery } from "./plan-query.js";
import { renderEventsQuery } from "./render-query-sql.js";
import { type Ask, queryRequest } from "./testdata/query-requests.js";

const minute = 60_000;
const hour = 3_600_000;
const day = 86_400_000;
const now = Date.now();
const day0 = Math.floor(now / day) * day - 3 * day;
const iso = (ms: number) => new Date(ms).toISOString();
const catalogue = exampleCatalogue();

function plan(ask: Ask): EventsPlan {
  const planned = planQuery(
    catalogue,
    queryRequest({ timeRange: { from: iso(day0), to: iso(day0 + 2 * day) }, ...ask }),
    now,
  );
  if (planned.kind !== "events") throw new Error("expected an events plan");
  return planned;
}

/** Every `{name:Type}` placeholder of the SQL, in order. */
function placeholders(sql: string): { name: string; type: string }[] {
  return [...sql.matchAll(/\{(p\d+):([A-Za-z0-9()]+)\}/g)].map((m) => ({
    name: m[1] ?? "",
    type: m[2] ?? "",
  }));
}

/** Identifiers the SQL may name: the catalogue's tables, fields and metric columns, and the result's. */
function knownIdentifiers(p: EventsPlan): Set<string> {
  const pipeline = p.pipeline;
  return new Set([
    pipeline.raw.table.database,
    pipeline.raw.table.table,
    ...pipeline.raw.fields.keys(),
    ...pipeline.rollups.flatMap((r) => [
      r.table?.database ?? "",
      r.table?.table ?? "",
      ...r.spec.metrics.map((m) => m.name),
    ]),
    ...p.metrics.flatMap((m) => m.columns),
    "time",
  ]);
}

describe("renderEventsQuery", () => {
  const from = day0 + 3 * hour + 30_000;
  const to = day0 + 9 * hour + 45_500;
  const multiSegment = () =>
    plan({
      metrics: ["events", "revenue", { fn: "count", name: "n" }],
      dimensions: ["type"],
      granularity: "1h",
      timezone: "Europe/Paris",
      filter: {
        op: "and",
        filters: [
          { op: "in", field: "type", values: ["click", "purchase"] },
          { op: "not", filter: { op: "eq", field: "type", value: "bot" } },
        ],
      },
      timeRange: { from: iso(from), to: iso(to) },
      orderBy: [
        { field: "events", direction: "desc" },
        { field: "time", direction: "asc" },
      ],
      limit: 50,
      offset: 10,
    });

  it("renders a multi-segment query: raw, minute and hour rollups, raw, merged by state (golden file)", async () => {
    const p = multiSegment();
    expect(p.segments.map((s) => (s.source.kind === "Rollup" ? s.source.use.rollup.name : "raw"))).toEqual([
      "raw",
      "clicks-per-minute",
      "clicks-per-hour",
      "raw",
    ]);
    const { sql, params } = renderEventsQuery(p);
    // The values the golden SQL cannot show: each bound, in the segment's unit (ms raw, seconds rollups).
    const found = placeholders(sql);
    // Each parameter is used, once.
    expect(found.map((f) => f.name).sort()).toEqual(Object.keys(params).sort());
    await expect(sql).toMatchFileSnapshot("testdata/events-query-multi-segment.sql");
    const values = found.map(({ name, type }) => [type, params[name]]);
    const bounds = [
      ["Int64", from],
      ["Int64", from - (from % minute) + minute],
      ["Int64", (from - (from % minute) + minute) / 1000],
      ["Int64", (day0 + 4 * hour) / 1000],
      ["Int64", (day0 + 4 * hour) / 1000],
      ["Int64", (day0 + 9 * hour) / 1000],
      ["Int64", day0 + 9 * hour],
      ["Int64", to],
    ];
    expect(values.filter(([type]) => type === "Int64")).toEqual(bounds);
    // In the text's order: the outer buckets, then the segments' (rollups' buckets are already UTC hours).
    expect(values.filter(([type]) => type === "String")).toEqual([
      ["String", "Europe/Paris"],
      ["String", "Europe/Paris"],
      ["String", "bot"],
      ["String", "bot"],
      ["String", "bot"],
      ["String", "Europe/Paris"],
      ["String", "bot"],
    ]);
    expect(values.filter(([type]) => type === "Array(String)")).toEqual(
      p.segments.map(() => ["Array(String)", ["click", "purchase"]]),
    );
    expect(values.filter(([type]) => type === "UInt32")).toEqual([
      ["UInt32", 50],
      ["UInt32", 10],
    ]);
  });

  it("binds every value as a parameter of its field's type, each placeholder once", () => {
    const p = plan({
      metrics: ["users"],
      dimensions: ["url"],
      filter: {
        op: "or",
        filters: [
          { op: "eq", field: "latency_ms", value: 1.5 },
          { op: "in", field: "value", values: [1, 2.5] },
          { op: "range", field: "ts", gte: iso(day0 + hour), lt: iso(day0 + 2 * hour) },
          { op: "in", field: "ts", values: [iso(day0)] },
          { op: "contains", field: "url", value: "/cart" },
        ],
      },
      timeRange: { from: iso(day0 + 30_000), to: iso(day0 + 3 * hour) },
    });
    const { sql, params } = renderEventsQuery(p);
    const found = placeholders(sql);
    expect(found.map((f) => f.name).sort()).toEqual(Object.keys(params).sort());
    const typed = found.map(({ name, type }) => [type, params[name]]);
    expect(typed).toEqual(
      expect.arrayContaining([
        ["Float64", 1.5],
        ["Array(Float64)", [1, 2.5]],
        ["Int64", day0 + hour],
        ["Int64", day0 + 2 * hour],
        ["Int64", day0],
        ["String", "/cart"],
      ]),
    );
    expect(sql).toContain("`ts` >= fromUnixTimestamp64Milli({");
    expect(sql).toContain("position(`url`, {");
  });

  const nasty = [
    "'; DROP TABLE clickstream_events; --",
    "`type`",
    "{p0:String}",
    "{p1:UInt32}) OR 1=1 --",
    "\\' OR ''='",
    "é́\u202e\u0000\uFEFF",
    "🧨\ud83d",
    "clickstream_events",
    "SELECT",
  ];
  const text = fc.oneof(fc.constantFrom(...nasty), fc.string({ unit: "binary", maxLength: 40 }), fc.string());

  it("no request value reaches the SQL text: the text is the same whatever the values (property)", () => {
    const ask = (s: readonly string[], n: readonly number[]): Ask => ({
      metrics: ["events", "users"],
      dimensions: ["type", "url"],
      granularity: "1h",
      filter: {
        op: "and",
        filters: [
          { op: "eq", field: "user_id", value: s[0] ?? "" },
          { op: "in", field: "type", values: [s[1] ?? "", s[2] ?? ""] },
          { op: "not", filter: { op: "contains", field: "url", value: s[3] ?? "" } },
          {
            op: "or",
            filters: [
              { op: "range", field: "url", gte: s[4] ?? "", lt: s[5] ?? "" },
              { op: "range", field: "value", gt: n[0] ?? 0, lte: n[1] ?? 0 },
              { op: "eq", field: "latency_ms", value: n[2] ?? 0 },
            ],
          },
        ] satisfies QueryFilter[],
      },
      timeRange: { from: iso(day0 + 7 * minute + 1), to: iso(day0 + 30 * hour + 1) },
    });
    const reference = renderEventsQuery(plan(ask(["a", "b", "c", "d", "e", "f"], [1, 2, 3])));
    fc.assert(
      fc.property(
        fc.array(text, { minLength: 6, maxLength: 6 }),
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }),
        (strings, numbers) => {
          const p = plan(ask(strings, numbers));
          const { sql, params } = renderEventsQuery(p);
          expect(sql).toBe(reference.sql);
          const bound = Object.values(params).flatMap((v) => (Array.isArray(v) ? v : [v]));
          for (const value of [...strings, ...numbers]) expect(bound).toContainEqual(value);
          for (const [, identifier] of sql.matchAll(/`([^`]*)`/g))
            expect(knownIdentifiers(p)).toContain(identifier);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the timezone is a parameter too", () => {
    const { sql, params } = renderEventsQuery(
      plan({ metrics: ["events"], granularity: "1d", timezone: "Asia/Kathmandu" }),
    );
    expect(sql).not.toContain("Kathmandu");
    expect(Object.values(params)).toContain("Asia/Kathmandu");
  });

  it("names identifiers only through quoteIdentifier: an unsafe name is refused, not rendered", () => {
    const p = plan({ metrics: ["events"], dimensions: ["type"] });
    expect(() => renderEventsQuery({ ...p, dimensions: ["type`; DROP TABLE x"] })).toThrow(
      /not a safe identifier/,
    );
    expect(() =>
      renderEventsQuery({ ...p, orderBy: [{ field: "events DESC, (SELECT 1)", direction: "asc" }] }),
    ).toThrow(/not a safe identifier/);
  });
});
