import { describe, expect, it } from "vitest";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import { adHocPanel, dashboardPanels, windowPanelRange } from "./panel-requests.js";

const drill: QueryFilter = { op: "eq", field: "type", value: "click" };
const query = {
  metrics: ["events"],
  timeRange: { preset: "last_15m" },
  filter: { op: "eq", field: "url", value: "/" },
};

describe("a view's panels as queries", () => {
  it("AND the drill-down filter into each panel's own, and keep a panel without one simple", () => {
    const plan = dashboardPanels(
      {
        title: "Shop",
        panels: [
          { name: "a", visualization: "stat", source: { query } },
          {
            name: "b",
            visualization: "stat",
            source: { query: { metrics: ["events"], timeRange: { preset: "last_1h" } } },
          },
        ],
      },
      drill,
      () => undefined,
    );
    if (plan.kind !== "panels") throw new Error(plan.error.message);
    const [a, b] = plan.panels;
    expect(a?.kind === "query" && a.request.filter).toEqual({ op: "and", filters: [query.filter, drill] });
    expect(b?.kind === "query" && b.request.filter).toEqual(drill);
  });

  it("turn a schema-invalid panel into an error entry naming its field; the others still serve", () => {
    const plan = dashboardPanels(
      {
        title: "Shop",
        panels: [
          { name: "good", visualization: "stat", source: { query } },
          {
            name: "bad",
            visualization: "stat",
            source: { query: { ...query, filter: { op: "eq", value: 1 } } },
          },
        ],
      },
      undefined,
      () => undefined,
    );
    if (plan.kind !== "panels") throw new Error(plan.error.message);
    expect(plan.panels.map((p) => p.kind)).toEqual(["query", "invalid"]);
    const bad = plan.panels[1];
    expect(bad?.kind === "invalid" && bad.error.field).toMatch(/^spec\.panels\[1\]\.source\.query\.filter/);
  });

  it("read a live window panel over the last hour, by the window's groupBy unless it names dimensions", () => {
    const plan = dashboardPanels(
      {
        title: "Live",
        panels: [
          {
            name: "w",
            visualization: "table",
            source: { window: { pipeline: "clicks", window: "per_minute", metrics: ["events"] } },
            refresh: { mode: "interval", every: "5s" },
          },
        ],
      },
      undefined,
      (pipeline, window) => (pipeline === "clicks" && window === "per_minute" ? ["type", "url"] : undefined),
    );
    if (plan.kind !== "panels") throw new Error(plan.error.message);
    expect(plan.panels[0]).toMatchObject({
      kind: "query",
      refresh: { mode: "interval", everyMs: 5_000 },
      request: {
        pipeline: "clicks",
        window: "per_minute",
        dimensions: ["type", "url"],
        timeRange: windowPanelRange,
      },
    });
  });

  it("rank a topN panel in its query: its first metric descending, topN.limit rows (10 by default)", () => {
    const byUrl = { metrics: ["events", "users"], dimensions: ["url"], timeRange: { preset: "last_1h" } };
    const plan = dashboardPanels(
      {
        title: "Pages",
        panels: [
          { name: "default", visualization: "topN", source: { query: byUrl } },
          { name: "three", visualization: "topN", topN: { limit: 3 }, source: { query: byUrl } },
          {
            name: "own_order",
            visualization: "topN",
            topN: { limit: 50 },
            source: { query: { ...byUrl, orderBy: [{ field: "users", direction: "desc" }], limit: 20 } },
          },
          { name: "table", visualization: "table", source: { query: byUrl } },
        ],
      },
      drill,
      () => undefined,
    );
    if (plan.kind !== "panels") throw new Error(plan.error.message);
    const requests = plan.panels.map((p) => (p.kind === "query" ? p.request : undefined));
    expect(requests.map((r) => [r?.orderBy, r?.limit])).toEqual([
      [[{ field: "events", direction: "desc" }], 10],
      [[{ field: "events", direction: "desc" }], 3],
      // The panel's own order stays, and a smaller query limit wins.
      [[{ field: "users", direction: "desc" }], 20],
      // Not a topN: the query's own defaults.
      [[], 1000],
    ]);
    expect(requests[1]?.filter).toEqual(drill);
  });

  it("refuse a whole spec broken outside its panels", () => {
    expect(dashboardPanels({ panels: [] }, undefined, () => undefined)).toMatchObject({ kind: "invalid" });
  });

  it("show an ad-hoc query as one live table panel", () => {
    const request = {
      metrics: ["events"],
      dimensions: [],
      timeRange: { preset: "1h" },
      granularity: "none",
      timezone: "UTC",
      orderBy: [],
      limit: 10,
      offset: 0,
    } as const;
    expect(
      adHocPanel({ ...request, metrics: [...request.metrics], dimensions: [], orderBy: [] }, drill),
    ).toMatchObject({
      name: "query",
      visualization: "table",
      request: { filter: drill },
    });
  });
});
