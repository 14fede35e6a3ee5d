import { describe, expect, it } from "vitest";
import { exampleCatalogue } from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { planQuery } from "./plan-query.js";
import { type Ask, queryRequest, refusalOf } from "./testdata/query-requests.js";
import type { WindowPlan } from "./window-plan.js";

const now = Date.now();

const request = (ask: Ask) => queryRequest({ window: "events_per_minute", ...ask });

function windowPlan(ask: Ask): WindowPlan {
  const plan = planQuery(exampleCatalogue(), request(ask), now);
  if (plan.kind !== "window") throw new Error("expected a window plan");
  return plan;
}

const refusal = (ask: Ask) => refusalOf(() => planQuery(exampleCatalogue(), request(ask), now));

describe("window plans", () => {
  it("names the window as the only candidate and keeps the requested aggregations in order", () => {
    const plan = windowPlan({ metrics: ["revenue", "events"], dimensions: ["type"] });
    expect(plan.aggregations.map((a) => a.as)).toEqual(["revenue", "events"]);
    expect(plan.window.name).toBe("events_per_minute");
    expect(plan.candidates).toEqual([
      {
        kind: "Window",
        name: "events_per_minute",
        chosen: true,
        reason: "the query names window events_per_minute: its table's partition shares, merged",
      },
    ]);
  });

  it("refuses an unknown window, a granularity, inline metrics, and names outside the window (400)", () => {
    expect(refusal({ window: "per_hour", metrics: ["events"] })).toMatchObject({
      status: 400,
      error: "UnknownWindow",
      field: "window",
      allowed: ["events_per_minute", "page_latency", "sessions"],
    });
    expect(refusal({ metrics: ["events"], granularity: "1m" })).toMatchObject({
      status: 400,
      error: "GranularityNotApplicable",
      field: "granularity",
    });
    expect(refusal({ metrics: ["events", { fn: "count", name: "n" }] })).toMatchObject({
      status: 400,
      error: "UnknownMetric",
      field: "metrics[1]",
      message: "a window query names the window's aggregations; inline definitions apply to event queries",
      allowed: ["events", "users", "revenue"],
    });
    expect(refusal({ metrics: ["latency"] })).toMatchObject({ error: "UnknownMetric", field: "metrics[0]" });
    expect(refusal({ metrics: ["events"], dimensions: ["url"] })).toMatchObject({
      error: "UnknownDimension",
      field: "dimensions[0]",
      allowed: ["type"],
    });
    expect(refusal({ metrics: ["events"], filter: { op: "eq", field: "url", value: "/" } })).toMatchObject({
      error: "UnknownField",
      field: "filter.field",
      allowed: ["type"],
    });
    expect(refusal({ metrics: ["events"], orderBy: [{ field: "users", direction: "asc" }] })).toMatchObject({
      error: "UnknownOrderField",
      field: "orderBy[0].field",
      allowed: ["window_start", "window_end", "events"],
    });
    expect(
      windowPlan({
        window: "page_latency",
        metrics: ["latency"],
        orderBy: [{ field: "latency_p99", direction: "desc" }],
      }).window.name,
    ).toBe("page_latency");
  });
});
