import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { exampleCatalogue, namespace } from "../../contracts/catalogue/testdata/catalogue-fixtures.js";
import { dashboardStatus, judgeDashboard } from "./dashboard-status.js";

const exampleSpec = (
  parse(
    readFileSync(resolve(import.meta.dirname, "..", "..", "examples", "clickstream-dashboard.yaml"), "utf8"),
  ) as {
    spec: { panels: Record<string, unknown>[] };
  }
).spec;
const names = exampleSpec.panels.map((p) => p.name as string);
const now = new Date("2030-01-01T00:00:00Z");

/** The example spec with panel `index` edited. */
function edited(index: number, edit: (panel: Record<string, unknown>) => void) {
  const spec = structuredClone(exampleSpec);
  const panel = spec.panels[index];
  if (panel === undefined) throw new Error(`no panel ${index}`);
  edit(panel);
  return spec;
}

function statusOf(spec: unknown, catalogue = exampleCatalogue()) {
  return dashboardStatus(judgeDashboard(spec, catalogue), undefined, 3, now);
}

const ready = (status: ReturnType<typeof statusOf>) => status.conditions?.find((c) => c.type === "Ready");

describe("dashboard status", () => {
  it("is Ready with every panel ready when the example's sources exist", () => {
    const status = statusOf(exampleSpec);
    expect(ready(status)).toMatchObject({ status: "True", reason: "Reconciled", observedGeneration: 3 });
    expect(status.conditions?.find((c) => c.type === "Degraded")).toMatchObject({ status: "False" });
    expect(status.panels).toEqual(names.map((name) => ({ name, ready: true })));
    expect(status.readyPanels).toBe(`${names.length}/${names.length}`);
  });

  // Each case: the spec, the panels that are bad (index, reason, field), and what Ready's message must say.
  it.each<[string, unknown, [number, string, string][], RegExp]>([
    [
      "a metric the pipeline does not have",
      edited(2, (p) => {
        (p.source as { query: { metrics: unknown[] } }).query.metrics = ["events", "x"];
      }),
      [[2, "InvalidPanel", "spec.panels[2].source.query.metrics[1]"]],
      /^1 of 5 panels are invalid \(top_urls\); the other 4 are served: spec\.panels\[2\]\.source\.query\.metrics\[1\]: pipeline clickstream has no metric "x"; use one of: /,
    ],
    [
      "a malformed filter, which the CRD keeps as written and ajv refuses",
      edited(3, (p) => {
        (p.source as { query: { filter: unknown } }).query.filter = { op: "eq", field: "type" };
      }),
      [[3, "InvalidSpec", "spec.panels[3].source.query.filter.value"]],
      /^1 of 5 panels are invalid \(purchase_value\); the other 4 are served: spec\.panels\[3\]\.source\.query\.filter\.value: required field is missing$/,
    ],
    [
      "two bad panels",
      (() => {
        const spec = edited(4, (p) => {
          (p.source as { window: { window: string } }).window.window = "per_second";
        });
        const users = spec.panels[1]?.source as { query: { dimensions: string[] } };
        users.query.dimensions = ["country"];
        return spec;
      })(),
      [
        [1, "InvalidPanel", "spec.panels[1].source.query.dimensions[0]"],
        [4, "InvalidPanel", "spec.panels[4].source.window.window"],
      ],
      /^2 of 5 panels are invalid \(users, live_events\); the other 3 are served: spec\.panels\[1\]\.source\.query\.dimensions\[0\]: "country" is not a field .*; spec\.panels\[4\]\.source\.window\.window: pipeline clickstream has no window "per_second"/,
    ],
  ])("names the bad panel and its path for %s, and keeps the others ready", (_label, spec, bad, message) => {
    const status = statusOf(spec);
    expect(ready(status)).toMatchObject({
      status: "False",
      reason: "InvalidPanels",
      message: expect.stringMatching(message),
    });
    expect(status.conditions?.find((c) => c.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "InvalidPanels",
    });
    const badIndexes = new Set(bad.map(([i]) => i));
    expect(status.panels?.filter((_, i) => !badIndexes.has(i)).every((p) => p.ready)).toBe(true);
    for (const [index, reason, field] of bad)
      expect(status.panels?.[index]).toMatchObject({ name: names[index], ready: false, reason, field });
    expect(status.readyPanels).toBe(`${names.length - bad.length}/${names.length}`);
  });

  it("reports every panel bad, and none served, when the namespace has no pipeline", () => {
    const status = statusOf(exampleSpec, buildCatalogue(namespace, [], []));
    expect(ready(status)?.message).toMatch(
      /^5 of 5 panels are invalid \(events_by_type, users, top_urls, purchase_value, live_events\): /,
    );
    expect(status.panels?.every((p) => !p.ready && p.reason === "InvalidPanel")).toBe(true);
    expect(status.readyPanels).toBe("0/5");
  });

  it("refuses the whole dashboard, with no panel states, for a fault outside the panels", () => {
    const { title: _title, ...untitled } = exampleSpec as Record<string, unknown>;
    const status = statusOf(untitled);
    expect(ready(status)).toMatchObject({
      status: "False",
      reason: "InvalidSpec",
      message: "spec.title: required field is missing",
    });
    expect(status.panels).toBeUndefined();
    expect(status.readyPanels).toBeUndefined();
  });

  it("keeps a condition's transition time while its status holds", () => {
    const first = statusOf(exampleSpec);
    const later = dashboardStatus(
      judgeDashboard(exampleSpec, exampleCatalogue()),
      first,
      4,
      new Date("2030-01-02T00:00:00Z"),
    );
    expect(ready(later)?.lastTransitionTime).toBe(ready(first)?.lastTransitionTime);
    expect(ready(later)?.observedGeneration).toBe(4);
  });
});
