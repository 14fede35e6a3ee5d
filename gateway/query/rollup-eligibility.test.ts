import { describe, expect, it } from "vitest";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import { buildCatalogue, metricOffer, type RollupEntry } from "../../contracts/catalogue/source-catalogue.js";
import {
  namespace,
  pipelineObject,
  rollupObject,
  rollupSpec,
} from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { judgeRollup } from "./rollup-eligibility.js";

const day = 86_400_000;
const now = Date.now();
const count = metricOffer({ fn: "count", name: "events" });

function rollup(spec: Record<string, unknown>, state?: Parameters<typeof rollupObject>[2]): RollupEntry {
  const catalogue = buildCatalogue(
    namespace,
    [pipelineObject()],
    [rollupObject("r", rollupSpec(spec), state)],
  );
  const entry = catalogue.pipelines.get("clickstream")?.rollups[0];
  if (entry === undefined) throw new Error(JSON.stringify(catalogue.unusable));
  return entry;
}

const judge = (
  entry: RollupEntry,
  {
    filter,
    dimensions = [],
    fromMs = now - day,
  }: { filter?: QueryFilter; dimensions?: string[]; fromMs?: number } = {},
  metrics = [count],
) => {
  const verdict = judgeRollup(entry, metrics, dimensions, filter, fromMs, now);
  return verdict.ok
    ? { ok: true, columns: verdict.use.columns, residual: verdict.use.residualFilter }
    : verdict;
};

describe("judgeRollup", () => {
  it("checks readiness, metrics, filters, dimensions and retention, in that order, with the first reason", () => {
    const everything = {
      retentionDays: 7,
      filter: [{ field: "type", operator: "eq", values: ["click"] }],
      dimensions: ["type"],
    };
    const notReady = rollup(everything, { ready: "migrating" });
    const ready = rollup(everything);
    const sum = metricOffer({ fn: "sum", name: "revenue", field: "value" });
    const click: QueryFilter = { op: "eq", field: "type", value: "click" };
    expect(judge(notReady, {}, [sum])).toEqual({ ok: false, reason: "Rollup r is not Ready: migrating" });
    expect(judge(ready, { fromMs: 0 }, [sum])).toEqual({
      ok: false,
      reason: "has no metric computing revenue (sum of value)",
    });
    expect(judge(ready, { fromMs: 0, dimensions: ["url"] })).toEqual({
      ok: false,
      reason: "holds only events where type eq click; the query's filter does not require that",
    });
    expect(judge(ready, { fromMs: 0, dimensions: ["url", "user_id"], filter: click })).toEqual({
      ok: false,
      reason: "lacks dimensions url, user_id (has type)",
    });
    expect(judge(ready, { fromMs: now - 7 * day - 1, filter: click })).toEqual({
      ok: false,
      reason: "keeps 7 days; the range starts earlier",
    });
    expect(judge(ready, { fromMs: now - 7 * day, filter: click })).toEqual({
      ok: true,
      columns: ["events"],
      residual: undefined,
    });
  });

  it("compares a rollup's string filter values with the query's typed values, and `in` lists as sets", () => {
    const big = rollup({ filter: [{ field: "value", operator: "gt", values: ["10"] }] });
    expect(judge(big, { filter: { op: "range", field: "value", gt: 10 } })).toMatchObject({ ok: true });
    expect(judge(big, { filter: { op: "range", field: "value", gt: 10.5 } })).toMatchObject({ ok: false });
    // Narrower than the rollup's condition, but not the same conjunct: refused, not guessed.
    expect(judge(big, { filter: { op: "range", field: "value", gt: 10, lt: 20 } })).toMatchObject({
      ok: false,
    });
    const some = rollup({ filter: [{ field: "type", operator: "in", values: ["purchase", "click"] }] });
    expect(judge(some, { filter: { op: "in", field: "type", values: ["click", "purchase"] } })).toMatchObject(
      {
        ok: true,
      },
    );
    expect(judge(some, { filter: { op: "in", field: "type", values: ["click"] } })).toMatchObject({
      ok: false,
    });
  });

  it("the residual keeps the other conjuncts, nested `and`s flattened", () => {
    const clicks = rollup({
      dimensions: ["type", "url"],
      filter: [
        { field: "type", operator: "eq", values: ["click"] },
        { field: "url", operator: "ne", values: ["/health"] },
      ],
    });
    const byUrl: QueryFilter = { op: "contains", field: "url", value: "/p" };
    const result = judge(clicks, {
      filter: {
        op: "and",
        filters: [
          { op: "not", filter: { op: "eq", field: "url", value: "/health" } },
          { op: "and", filters: [byUrl, { op: "eq", field: "type", value: "click" }] },
          { op: "eq", field: "type", value: "page_view" },
        ],
      },
    });
    expect(result).toEqual({
      ok: true,
      columns: ["events"],
      residual: { op: "and", filters: [byUrl, { op: "eq", field: "type", value: "page_view" }] },
    });
  });

  it("answers each metric from the column computing it, whatever the names", () => {
    const r = rollup({
      metrics: [
        { fn: "uniq", name: "visitors", field: "user_id" },
        { fn: "count", name: "hits" },
      ],
    });
    const users = metricOffer({ fn: "uniq", name: "users", field: "user_id" });
    expect(judge(r, {}, [count, users])).toMatchObject({ ok: true, columns: ["hits", "visitors"] });
  });
});
