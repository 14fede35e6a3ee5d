import { describe, expect, it } from "vitest";
import { compareSummaries, describeResource } from "./describe-resource.js";

const ready = (status: "True" | "False", reason: string, message: string) => ({
  type: "Ready",
  status,
  reason,
  message,
  lastTransitionTime: "2026-12-07T10:00:00Z",
});

describe("describeResource", () => {
  it("shows a pipeline's replicas and lag, its conditions with since, and Ready", () => {
    const summary = describeResource({
      kind: "Pipeline",
      object: {
        metadata: { name: "clickstream", generation: 3, creationTimestamp: "2026-12-01T00:00:00Z" },
        status: {
          observedGeneration: 3,
          replicas: 2,
          desiredReplicas: 3,
          lag: 120,
          conditions: [ready("True", "Ready", "running")],
        },
      },
    });
    expect(summary).toEqual({
      kind: "Pipeline",
      name: "clickstream",
      created: "2026-12-01T00:00:00Z",
      ready: "True",
      stale: false,
      details: [
        { name: "Replicas", value: "2" },
        { name: "Desired", value: "3" },
        { name: "Lag (messages)", value: "120" },
      ],
      conditions: [
        { type: "Ready", status: "True", reason: "Ready", message: "running", since: "2026-12-07T10:00:00Z" },
      ],
    });
  });

  it("shows a dashboard's title and each panel, and says when the status is behind the spec", () => {
    const summary = describeResource({
      kind: "Dashboard",
      object: {
        metadata: { name: "shop", generation: 4 },
        spec: { title: "Shop" },
        status: {
          observedGeneration: 3,
          readyPanels: "1/2",
          conditions: [ready("False", "InvalidPanels", "1 of 2 panels are invalid")],
          panels: [
            { name: "a", ready: true },
            {
              name: "b",
              ready: false,
              reason: "InvalidPanel",
              field: "spec.panels[1].source.query.metrics[0]",
              message: "no metric x",
            },
          ],
        },
      },
    });
    expect(summary).toMatchObject({
      title: "Shop",
      ready: "False",
      stale: true,
      details: [{ name: "Panels ready", value: "1/2" }],
      panels: [
        { name: "a", ready: true },
        {
          name: "b",
          ready: false,
          reason: "InvalidPanel",
          field: "spec.panels[1].source.query.metrics[0]",
          message: "no metric x",
        },
      ],
    });
  });

  it("is Unknown without a Ready condition (not reconciled yet) and leaves missing fields out", () => {
    const summary = describeResource({ kind: "AlertRule", object: { metadata: { name: "slow" } } });
    expect(summary).toEqual({
      kind: "AlertRule",
      name: "slow",
      ready: "Unknown",
      stale: false,
      details: [],
      conditions: [],
    });
  });

  it("orders by kind as the page shows them, then by name", () => {
    const s = (kind: "Pipeline" | "Rollup" | "Dashboard", name: string) =>
      describeResource({ kind, object: { metadata: { name } } });
    const sorted = [s("Dashboard", "a"), s("Rollup", "b"), s("Pipeline", "z"), s("Rollup", "a")].sort(
      compareSummaries,
    );
    expect(sorted.map((r) => `${r.kind}/${r.name}`)).toEqual([
      "Pipeline/z",
      "Rollup/a",
      "Rollup/b",
      "Dashboard/a",
    ]);
  });
});
