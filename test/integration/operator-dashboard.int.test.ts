import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DashboardStatus } from "../../api/v1alpha1/dashboard.js";
import { eventually } from "../support/eventually.js";
import { asList, databaseFor, exampleManifests, type Manifest } from "../support/examples.js";
import {
  eventsAbout,
  kubectl,
  kubectlOk,
  type OperatorNamespace,
  operatorNamespace,
  waitForCondition,
} from "../support/kube.js";

// The Dashboard kind against the real apiserver and the operator: the example dashboard over the
// example pipeline and rollups is Ready with every panel ready; a bad panel is reported with its field
// path while the others stay ready; a schema-invalid dashboard is refused at kubectl apply.

let env: OperatorNamespace;
let namespace: string;

/** The example dashboard, renamed, with an edit of its panels. */
function dashboard(name: string, edit: (panels: Record<string, unknown>[]) => void = () => {}): Manifest {
  const [manifest] = exampleManifests("clickstream-dashboard.yaml", namespace);
  if (manifest?.spec === undefined) throw new Error("examples/clickstream-dashboard.yaml has no Dashboard");
  manifest.metadata.name = name;
  edit(manifest.spec.panels as Record<string, unknown>[]);
  return manifest;
}

function query(panel: Record<string, unknown> | undefined): Record<string, unknown> {
  const source = panel?.source as { query?: Record<string, unknown> } | undefined;
  if (source?.query === undefined) throw new Error("not a query panel");
  return source.query;
}

async function statusOf(name: string): Promise<DashboardStatus> {
  const object = JSON.parse(await kubectlOk(["get", "dashboard", name, "-n", namespace, "-o", "json"])) as {
    status?: DashboardStatus;
  };
  return object.status ?? {};
}

beforeAll(async () => {
  // No resync within the test: a dashboard re-checked after its sources appear was re-checked by the watch.
  env = await operatorNamespace("tally-dash", { TALLY_RESYNC_MS: "600000" });
  namespace = env.namespace;
  await kubectlOk(["wait", "--for=condition=Established", "crd/dashboards.tally.dev"]);
});
afterAll(async () => {
  await env?.close();
});

describe("Dashboard", () => {
  it("is Ready with every panel ready once the example pipeline and rollups exist (re-checked when they appear)", async () => {
    const panelNames = ((dashboard("clickstream").spec?.panels ?? []) as { name: string }[]).map(
      (p) => p.name,
    );
    await kubectlOk(["apply", "-f", "-"], JSON.stringify(dashboard("clickstream")));
    // Before its sources exist, no panel can be answered.
    const before = await waitForCondition("dashboard", namespace, "clickstream", "Ready", "False", {
      reason: "InvalidPanels",
    });
    expect(before.message).toMatch(
      new RegExp(`^${panelNames.length} of ${panelNames.length} panels are invalid`),
    );

    // No runtime pods: the dashboard checks names and types, not data.
    const [pipeline, ...rollups] = [
      ...exampleManifests("clickstream-pipeline.yaml", namespace, databaseFor(namespace)),
      ...exampleManifests("clickstream-rollups.yaml", namespace),
    ];
    if (pipeline?.spec === undefined) throw new Error("no example pipeline");
    pipeline.spec.scaling = { mode: "off" };
    pipeline.spec.replicas = 0;
    for (const m of [pipeline, ...rollups]) if (m.spec) m.spec.deletionPolicy = "Delete";
    await kubectlOk(["apply", "-f", "-"], asList([pipeline, ...rollups]));

    const ready = await waitForCondition("dashboard", namespace, "clickstream", "Ready", "True");
    expect(ready.message).toBe(`all ${panelNames.length} panels check out against the namespace's sources`);
    const status = await statusOf("clickstream");
    expect(status.panels).toEqual(panelNames.map((name) => ({ name, ready: true })));
    expect(status.conditions?.find((c) => c.type === "Degraded")?.status).toBe("False");
    // kubectl get shows the title, the ready panels and Ready.
    const row = await kubectlOk(["get", "dashboard", "clickstream", "-n", namespace, "--no-headers"]);
    expect(row.split(/\s+/).slice(0, 4)).toEqual([
      "clickstream",
      "Clickstream",
      `${panelNames.length}/${panelNames.length}`,
      "True",
    ]);
  });

  it("reports a bad panel with its field path, keeps the others ready, and clears it when fixed", async () => {
    // One panel names a metric no source offers; another has a filter leaf without its value, which
    // the CRD keeps as written (a recursive filter has no structural schema) and the operator refuses.
    const broken = dashboard("broken", (panels) => {
      query(panels[2]).metrics = ["events", "x"];
      query(panels[3]).filter = { op: "eq", field: "type" };
    });
    await kubectlOk(["apply", "-f", "-"], JSON.stringify(broken));
    const condition = await waitForCondition("dashboard", namespace, "broken", "Ready", "False", {
      reason: "InvalidPanels",
    });
    expect(condition.message).toMatch(
      /^2 of 5 panels are invalid \(top_urls, purchase_value\); the other 3 are served: /,
    );
    expect(condition.message).toContain(
      'spec.panels[2].source.query.metrics[1]: pipeline clickstream has no metric "x"; use one of: count, events, latency, revenue, users, or define the aggregation inline',
    );
    expect(condition.message).toContain(
      "spec.panels[3].source.query.filter.value: required field is missing",
    );
    const status = await statusOf("broken");
    expect(status.readyPanels).toBe("3/5");
    expect(status.panels?.map((p) => [p.name, p.ready, p.reason, p.field])).toEqual([
      ["events_by_type", true, undefined, undefined],
      ["users", true, undefined, undefined],
      ["top_urls", false, "InvalidPanel", "spec.panels[2].source.query.metrics[1]"],
      ["purchase_value", false, "InvalidSpec", "spec.panels[3].source.query.filter.value"],
      ["live_events", true, undefined, undefined],
    ]);
    expect((await eventsAbout(namespace, "broken", "InvalidPanels")).map((e) => e.type)).toContain("Warning");

    // Fixing one panel changes the message (and says so in an Event); fixing both makes it Ready.
    const oneLeft = dashboard("broken", (panels) => {
      query(panels[3]).filter = { op: "eq", field: "type" };
    });
    await kubectlOk(["apply", "-f", "-"], JSON.stringify(oneLeft));
    await eventually(async () => {
      const notes = (await eventsAbout(namespace, "broken", "InvalidPanels")).map((e) => e.note);
      expect(notes.some((n) => n.startsWith("1 of 5 panels are invalid (purchase_value)"))).toBe(true);
    }, 60_000);
    await kubectlOk(["apply", "-f", "-"], JSON.stringify(dashboard("broken")));
    await waitForCondition("dashboard", namespace, "broken", "Ready", "True");
    expect((await statusOf("broken")).panels?.every((p) => p.ready && p.field === undefined)).toBe(true);
  });

  it("is explained by kubectl explain, down to the query's fields and defaults", async () => {
    const explain = async (field: string) => (await kubectlOk(["explain", field])).replace(/\s+/g, " ");
    // The apiserver publishes a CRD's OpenAPI a moment after the CRD is applied.
    const panels = await eventually(async () => {
      const text = await explain("dashboard.spec.panels");
      expect(text).toContain("visualization");
      return text;
    }, 60_000);
    expect(panels).toMatch(
      /source <Object> -required- Where the panel's rows come from: `query` .* or `window`/,
    );
    const query = await explain("dashboard.spec.panels.source.query");
    for (const field of ["metrics", "dimensions", "filter", "timeRange", "granularity", "orderBy", "limit"])
      expect(query).toContain(`${field} <`);
    expect(await explain("dashboard.spec.panels.source.query.granularity")).toContain("Default: none.");
    expect(await explain("dashboard.spec.panels.source.query.filter")).toMatch(
      /Only events matching it count/,
    );
    expect(await explain("dashboard.spec.panels.refresh.mode")).toContain("Default: live.");
  });

  it("refuses a schema-invalid dashboard at kubectl apply, naming the field", async () => {
    const cases: [string, Manifest, RegExp][] = [
      [
        "an interval refresh without every",
        dashboard("no-every", (panels) => {
          Object.assign(panels[0] ?? {}, { refresh: { mode: "interval" } });
        }),
        /spec\.panels\[0\]\.refresh\.every: .*every is required with mode interval/,
      ],
      [
        "a panel with a query and a window",
        dashboard("two-sources", (panels) => {
          const live = panels[4]?.source as { window: unknown };
          Object.assign(panels[0]?.source ?? {}, { window: live.window });
        }),
        /spec\.panels\[0\]\.source: .*set exactly one of: query \| window/,
      ],
      [
        "an unknown visualisation",
        dashboard("pie", (panels) => {
          Object.assign(panels[0] ?? {}, { visualization: "pie" });
        }),
        /spec\.panels\[0\]\.visualization: Unsupported value: "pie"/,
      ],
      [
        "topN settings on a timeseries",
        dashboard("topn-timeseries", (panels) => {
          Object.assign(panels[0] ?? {}, { topN: { limit: 3 } });
        }),
        /spec\.panels\[0\]\.topN: .*topN is only allowed with visualization topN/,
      ],
      [
        "a time range with a preset and a start",
        dashboard("two-ranges", (panels) => {
          query(panels[0]).timeRange = { preset: "last_1h", from: new Date().toISOString() };
        }),
        /spec\.panels\[0\]\.source\.query\.timeRange: .*set exactly one of: preset \| from and to/,
      ],
      [
        "two panels of one name",
        dashboard("twins", (panels) => {
          Object.assign(panels[1] ?? {}, { name: panels[0]?.name });
        }),
        /spec\.panels\[1\]: Duplicate value/,
      ],
      [
        "more than 32 panels",
        dashboard("crowded", (panels) => {
          const first = panels[0] ?? {};
          panels.push(...Array.from({ length: 33 }, (_, i) => ({ ...first, name: `extra_${i}` })));
        }),
        /spec\.panels: Too many: 38: must have at most 32 items/,
      ],
    ];
    const failures: string[] = [];
    for (const [label, manifest, message] of cases) {
      const result = await kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
      if (result.code === 0) failures.push(`${label}: was accepted`);
      else if (!message.test(result.stderr))
        failures.push(`${label}: ${result.stderr.trim()} does not match ${message}`);
    }
    expect(failures).toEqual([]);
    const stored = await kubectlOk(["get", "dashboards", "-n", namespace, "-o", "name"]);
    expect(stored.trim().split("\n").sort()).toEqual([
      "dashboard.tally.dev/broken",
      "dashboard.tally.dev/clickstream",
    ]);
  });
});
