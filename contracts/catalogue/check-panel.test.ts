import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { DashboardPanel } from "../../api/v1alpha1/dashboard.js";
import { formatProblems, validateDashboardPanel } from "../../api/v1alpha1/validation.js";
import { checkPanel } from "./check-panel.js";
import { buildCatalogue } from "./source-catalogue.js";
import {
  exampleCatalogue,
  exampleRollupObjects,
  namespace,
  pipelineObject,
} from "./testdata/catalogue-fixtures.js";

const example = parse(
  readFileSync(resolve(import.meta.dirname, "..", "..", "examples", "clickstream-dashboard.yaml"), "utf8"),
) as { spec: { panels: Record<string, unknown>[] } };
const examplePanels = example.spec.panels;

/** A panel as the apiserver stores it (schema-valid, defaults applied); the test fails if it is not. */
function panel(raw: unknown): DashboardPanel {
  const checked = validateDashboardPanel(raw, "panel");
  if (!checked.ok) throw new Error(`test panel is not schema-valid: ${formatProblems(checked.problems)}`);
  return checked.value;
}

function queryPanel(visualization: string, query: Record<string, unknown>): DashboardPanel {
  return panel({
    name: "p",
    visualization,
    source: { query: { timeRange: { preset: "last_1h" }, ...query } },
  });
}

function windowPanel(visualization: string, window: Record<string, unknown>): DashboardPanel {
  return panel({ name: "p", visualization, source: { window } });
}

const catalogue = exampleCatalogue();
const at = "spec.panels[3]";

describe("checkPanel", () => {
  it.each(examplePanels.map((p) => [p.name as string, p] as const))(
    "accepts the example dashboard's panel %s",
    (_name, raw) => {
      expect(checkPanel(catalogue, panel(raw), at)).toEqual([]);
    },
  );

  // Each panel has exactly the problems listed: [path under spec.panels[3], message].
  it.each<[string, DashboardPanel, [string, RegExp][]]>([
    [
      "an unknown metric",
      queryPanel("table", { metrics: ["events", "x"] }),
      [
        [
          ".source.query.metrics[1]",
          /^pipeline clickstream has no metric "x"; use one of: count, events, latency, revenue, users, or define the aggregation inline$/,
        ],
      ],
    ],
    [
      "an unknown pipeline",
      queryPanel("table", { pipeline: "orders", metrics: ["events"] }),
      [[".source.query.pipeline", /^namespace shop has no Pipeline "orders"; use one of: clickstream$/]],
    ],
    [
      "a dimension that is not a field, and one listed twice",
      queryPanel("table", { metrics: ["events"], dimensions: ["type", "country", "type"] }),
      [
        [
          ".source.query.dimensions[1]",
          /^"country" is not a field of pipeline clickstream; use one of: event_id, /,
        ],
        [".source.query.dimensions[2]", /^"type" is listed twice$/],
      ],
    ],
    [
      "an inline sum of a string field and a uniq of a missing one",
      queryPanel("table", {
        metrics: [
          { fn: "sum", name: "s", field: "url" },
          { fn: "uniq", name: "u", field: "visitor" },
        ],
      }),
      [
        [".source.query.metrics[0].field", /^sum needs a numeric field; url is String$/],
        [".source.query.metrics[1].field", /^"visitor" is not a field of pipeline clickstream/],
      ],
    ],
    [
      "two metrics producing the same column",
      queryPanel("table", { metrics: ["events", { fn: "count", name: "events" }] }),
      [[".source.query.metrics", /^result column "events" is produced twice/]],
    ],
    [
      "a nested filter on an unknown field, a wrong value type and contains on a number",
      queryPanel("table", {
        metrics: ["events"],
        filter: {
          op: "and",
          filters: [
            { op: "eq", field: "type", value: 3 },
            { op: "not", filter: { op: "in", field: "country", values: ["fr"] } },
            { op: "contains", field: "latency_ms", value: "1" },
            { op: "range", field: "ts", gte: "yesterday" },
          ],
        },
      }),
      [
        [
          ".source.query.filter.filters[0].value",
          /^type: expected a string \(the field is LowCardinality\(String\)\)/,
        ],
        [".source.query.filter.filters[1].filter.field", /^"country" is not a field of pipeline clickstream/],
        [".source.query.filter.filters[2].op", /^contains applies to string fields; latency_ms is Float64$/],
        [".source.query.filter.filters[3].gte", /^ts: expected an RFC 3339 time/],
      ],
    ],
    [
      "sorting by a column the result does not have (time without a granularity)",
      queryPanel("table", { metrics: ["events"], orderBy: [{ field: "time" }, { field: "revenue" }] }),
      [
        [".source.query.orderBy[0].field", /^"time" is not a column of the result; use one of: events$/],
        [".source.query.orderBy[1].field", /^"revenue" is not a column of the result/],
      ],
    ],
    [
      "a timeseries without time buckets",
      queryPanel("timeseries", { metrics: ["events"] }),
      [[".source.query.granularity", /^a timeseries panel needs time buckets/]],
    ],
    [
      "a topN without a dimension",
      queryPanel("topN", { metrics: ["events"] }),
      [[".source.query.dimensions", /^a topN panel ranks dimension values/]],
    ],
    [
      "a stat grouped by a dimension",
      queryPanel("stat", { metrics: ["users"], dimensions: ["type"] }),
      [
        [
          ".source.query.dimensions",
          /^a stat panel shows one number per metric, but the rows are grouped by type/,
        ],
      ],
    ],
    [
      "a window query with a granularity, an unknown and an inline metric, and a filter outside the groupBy",
      queryPanel("table", {
        window: "events_per_minute",
        metrics: ["events", "latency", { fn: "count", name: "n" }],
        granularity: "1m",
        dimensions: ["url"],
        filter: { op: "eq", field: "user_id", value: "u1" },
      }),
      [
        [".source.query.granularity", /^a window query returns one row per tumbling window instance/],
        [
          ".source.query.metrics[1]",
          /^window events_per_minute has no aggregation "latency"; use one of: events, users, revenue$/,
        ],
        [".source.query.metrics[2]", /^a window query names the window's aggregations/],
        [
          ".source.query.dimensions[0]",
          /^"url" is not a groupBy field of window events_per_minute \(its groupBy\); use one of: type$/,
        ],
        [
          ".source.query.filter.field",
          /^"user_id" is not a field of window events_per_minute \(its groupBy\); use one of: type$/,
        ],
      ],
    ],
    [
      "a window query of a window the pipeline does not have",
      queryPanel("table", { window: "per_second", metrics: ["events"] }),
      [
        [
          ".source.query.window",
          /^pipeline clickstream has no window "per_second"; use one of: events_per_minute, page_latency, sessions$/,
        ],
      ],
    ],
    [
      "a live window panel with an unknown window",
      windowPanel("bar", { pipeline: "clickstream", window: "nope", metrics: ["events"] }),
      [[".source.window.window", /^pipeline clickstream has no window "nope"/]],
    ],
    [
      "a live window panel with an unknown aggregation and a dimension outside the groupBy",
      windowPanel("bar", {
        pipeline: "clickstream",
        window: "events_per_minute",
        metrics: ["latency"],
        dimensions: ["url"],
      }),
      [
        [
          ".source.window.metrics[0]",
          /^"latency" is not an aggregation of window events_per_minute; use one of: events, users, revenue$/,
        ],
        [
          ".source.window.dimensions[0]",
          /^"url" is not a groupBy field of window events_per_minute; use one of: type$/,
        ],
      ],
    ],
    [
      "a stat of a live window left grouped by its groupBy",
      windowPanel("stat", { pipeline: "clickstream", window: "events_per_minute", metrics: ["events"] }),
      [
        [
          ".source.window.dimensions",
          /^a stat panel shows one number per metric, but the rows are grouped by type/,
        ],
      ],
    ],
    [
      "a live window panel of a pipeline that does not exist",
      windowPanel("bar", { pipeline: "orders", window: "events_per_minute", metrics: ["events"] }),
      [[".source.window.pipeline", /^namespace shop has no Pipeline "orders"; use one of: clickstream$/]],
    ],
  ])("reports %s", (_label, checked, expected) => {
    const problems = checkPanel(catalogue, checked, at);
    expect(problems.map((p) => p.path)).toEqual(expected.map(([path]) => `${at}${path}`));
    problems.forEach((p, i) => {
      expect(p.message).toMatch(expected[i]?.[1] ?? /^$/);
    });
  });

  it.each<[string, DashboardPanel]>([
    [
      "time with a granularity",
      queryPanel("timeseries", { metrics: ["events"], granularity: "1h", orderBy: [{ field: "time" }] }),
    ],
    [
      "a stat of a live window grouped by nothing",
      windowPanel("stat", {
        pipeline: "clickstream",
        window: "events_per_minute",
        metrics: ["events"],
        dimensions: [],
      }),
    ],
    [
      "an inline quantiles metric sorted by one of its columns",
      queryPanel("table", {
        metrics: [{ fn: "quantiles", name: "lat", field: "latency_ms", quantiles: [0.5, 0.9] }],
        orderBy: [{ field: "lat_p90" }],
      }),
    ],
    [
      "a window query grouped and filtered by the groupBy",
      queryPanel("table", {
        window: "events_per_minute",
        metrics: ["events"],
        dimensions: ["type"],
        filter: { op: "in", field: "type", values: ["click"] },
        orderBy: [{ field: "window_start" }],
      }),
    ],
  ])("accepts %s", (_label, checked) => {
    expect(checkPanel(catalogue, checked, at)).toEqual([]);
  });

  it("takes the namespace's only pipeline when a query names none, and asks for one when there are two", () => {
    const unnamed = queryPanel("table", { metrics: ["events"] });
    expect(checkPanel(catalogue, unnamed, at)).toEqual([]);
    const two = exampleCatalogue({ pipelines: [pipelineObject("orders")] });
    expect(checkPanel(two, unnamed, at)).toEqual([
      {
        path: `${at}.source.query.pipeline`,
        message: "namespace shop has 2 pipelines; name one: clickstream, orders",
      },
    ]);
    const none = buildCatalogue(namespace, [], []);
    expect(checkPanel(none, unnamed, at)).toEqual([
      { path: `${at}.source.query.pipeline`, message: "namespace shop has no usable Pipeline" },
    ]);
  });

  it("says why a pipeline that exists cannot be used", () => {
    const broken = buildCatalogue(
      namespace,
      [pipelineObject("clickstream", (spec) => delete spec.eventTime)],
      exampleRollupObjects(),
    );
    const [problem] = checkPanel(
      broken,
      queryPanel("table", { pipeline: "clickstream", metrics: ["events"] }),
      at,
    );
    expect(problem?.path).toBe(`${at}.source.query.pipeline`);
    expect(problem?.message).toMatch(
      /^Pipeline clickstream cannot be used: invalid spec: spec\.eventTime: required field is missing/,
    );
  });
});
