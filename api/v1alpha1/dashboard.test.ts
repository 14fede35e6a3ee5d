import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { celFailures } from "../../test/support/crd-cel.js";
import { renderCrd, resourceDefinitions } from "./resources.js";
import type { JsonSchema } from "./structural-schema.js";
import { formatProblems, validateDashboardSpec } from "./validation.js";

const exampleSpec = (
  parse(
    readFileSync(resolve(import.meta.dirname, "..", "..", "examples", "clickstream-dashboard.yaml"), "utf8"),
  ) as {
    spec: Record<string, unknown>;
  }
).spec;

/** A fresh copy of the example spec with its first panel replaced (by a function of it). */
function withPanel(
  edit: (panel: Record<string, unknown>) => Record<string, unknown>,
): Record<string, unknown> {
  const spec = structuredClone(exampleSpec);
  const panels = spec.panels as Record<string, unknown>[];
  panels[0] = edit(panels[0] ?? {});
  return spec;
}

const crdSpecSchema = (() => {
  const definition = resourceDefinitions.find((d) => d.kind === "Dashboard");
  if (definition === undefined) throw new Error("no Dashboard kind");
  const crd = renderCrd(definition) as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: JsonSchema } } } }[] };
  };
  const version = crd.spec.versions[0];
  if (version === undefined) throw new Error("no version");
  return version.schema.openAPIV3Schema.properties.spec;
})();

/** What the apiserver's CEL rules say about a spec, after the defaults (applied here by ajv, as there). */
function celVerdict(spec: unknown): string[] {
  const defaulted = validateDashboardSpec(spec);
  return celFailures(crdSpecSchema, defaulted.ok ? defaulted.value : spec, "spec");
}

const query = { metrics: ["events"], timeRange: { preset: "last_1h" } };

describe("Dashboard CEL rules", () => {
  it("hold for the example dashboard", () => {
    expect(celVerdict(exampleSpec)).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      "interval refresh without every",
      withPanel((p) => ({ ...p, refresh: { mode: "interval" } })),
      ["spec.panels[0].refresh.every: every is required with mode interval and not allowed with mode live"],
    ],
    [
      "live refresh with every",
      withPanel((p) => ({ ...p, refresh: { mode: "live", every: "10s" } })),
      ["spec.panels[0].refresh.every: every is required with mode interval and not allowed with mode live"],
    ],
    [
      "a refresh more often than every second",
      withPanel((p) => ({ ...p, refresh: { mode: "interval", every: "500ms" } })),
      ["spec.panels[0].refresh.every: every must be at least 1s"],
    ],
    [
      "topN settings on a timeseries",
      withPanel((p) => ({ ...p, topN: { limit: 5 } })),
      ["spec.panels[0].topN: topN is only allowed with visualization topN"],
    ],
    [
      "a source with both a query and a window",
      withPanel((p) => ({
        ...p,
        source: {
          query,
          window: { pipeline: "clickstream", window: "events_per_minute", metrics: ["events"] },
        },
      })),
      ["spec.panels[0].source: set exactly one of: query | window"],
    ],
    [
      "a source with neither",
      withPanel((p) => ({ ...p, source: {} })),
      ["spec.panels[0].source: set exactly one of: query | window"],
    ],
    [
      "a time range with a preset and bounds",
      withPanel((p) => ({
        ...p,
        source: { query: { ...query, timeRange: { preset: "last_1h", from: "2020-01-01T00:00:00Z" } } },
      })),
      ["spec.panels[0].source.query.timeRange: set exactly one of: preset | from and to"],
    ],
    [
      "a time range with a start and no end",
      withPanel((p) => ({
        ...p,
        source: { query: { ...query, timeRange: { from: "2020-01-01T00:00:00Z" } } },
      })),
      ["spec.panels[0].source.query.timeRange: set exactly one of: preset | from and to"],
    ],
  ])("refuse %s", (_label, spec, failures) => {
    expect(celVerdict(spec)).toEqual(failures);
  });

  it.each<[string, Record<string, unknown>]>([
    ["an interval refresh of 1s", withPanel((p) => ({ ...p, refresh: { mode: "interval", every: "1s" } }))],
    [
      "absolute bounds",
      withPanel((p) => ({
        ...p,
        source: {
          query: { ...query, timeRange: { from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z" } },
        },
      })),
    ],
  ])("admit %s", (_label, spec) => {
    expect(celVerdict(spec)).toEqual([]);
  });
});

describe("the operator's Dashboard validator", () => {
  it("accepts the example and fills in the query's and the refresh's defaults", () => {
    const result = validateDashboardSpec(exampleSpec);
    if (!result.ok) throw new Error(formatProblems(result.problems));
    const [timeseries, users] = result.value.panels;
    expect(timeseries?.refresh).toEqual({ mode: "live" });
    expect(users?.source).toEqual({
      query: {
        pipeline: "clickstream",
        metrics: ["users"],
        timeRange: { preset: "last_15m" },
        dimensions: [],
        granularity: "none",
        timezone: "UTC",
        orderBy: [],
        limit: 1000,
        offset: 0,
      },
    });
  });

  // What the CRD keeps as written (the recursive filter, a metric name or inline aggregation) and what
  // the apiserver's CEL says about unions, ajv checks in the operator, naming the field.
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      "a filter leaf without its value",
      withPanel((p) => ({ ...p, source: { query: { ...query, filter: { op: "eq", field: "type" } } } })),
      /spec\.panels\[0\]\.source\.query\.filter\.value: required field is missing/,
    ],
    [
      "a nested filter with an unknown operator",
      withPanel((p) => ({
        ...p,
        source: {
          query: { ...query, filter: { op: "and", filters: [{ op: "like", field: "url", value: "x" }] } },
        },
      })),
      /spec\.panels\[0\]\.source\.query\.filter\.filters\[0\]\.op/,
    ],
    [
      "a metric name that is not an identifier",
      withPanel((p) => ({ ...p, source: { query: { ...query, metrics: ["page views"] } } })),
      /spec\.panels\[0\]\.source\.query\.metrics\[0\]: must match pattern/,
    ],
    [
      "an inline aggregation without its field",
      withPanel((p) => ({ ...p, source: { query: { ...query, metrics: [{ fn: "sum", name: "s" }] } } })),
      /spec\.panels\[0\]\.source\.query\.metrics\[0\]\.field: required field is missing/,
    ],
    [
      "a source with both a query and a window",
      withPanel((p) => ({
        ...p,
        source: {
          query,
          window: { pipeline: "clickstream", window: "events_per_minute", metrics: ["events"] },
        },
      })),
      /spec\.panels\[0\]\.source\.(query|window): not allowed together with the fields given/,
    ],
  ])("refuses %s", (_label, spec, message) => {
    const result = validateDashboardSpec(spec);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(formatProblems(result.problems)).toMatch(message);
  });
});
