import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../lib/kube/kube-client.js";
import { changedBeyondStatus } from "./controller.js";

const base: KubeObject & { status?: unknown } = {
  metadata: {
    name: "clicks",
    namespace: "ns",
    generation: 4,
    resourceVersion: "100",
    labels: { team: "web" },
    annotations: { note: "a" },
    finalizers: ["tally.dev/cleanup"],
  },
  status: { lag: 10 },
};

function withMeta(meta: Partial<NonNullable<KubeObject["metadata"]>>, status?: unknown) {
  return {
    ...base,
    metadata: { ...base.metadata, resourceVersion: "101", ...meta },
    status: status ?? base.status,
  };
}

describe("changedBeyondStatus", () => {
  it("ignores status-only writes (a new resourceVersion and a new status)", () => {
    expect(changedBeyondStatus(base, withMeta({}, { lag: 99 }))).toBe(false);
  });

  it.each([
    ["the spec (generation)", { generation: 5 }],
    ["labels", { labels: { team: "data" } }],
    [
      "annotations (e.g. the autoscaler pause)",
      { annotations: { note: "a", "tally.dev/autoscaler-paused": "true" } },
    ],
    ["finalizers", { finalizers: [] }],
    ["deletion", { deletionTimestamp: "2026-11-23T12:00:00Z" }],
    ["owners", { ownerReferences: [{ apiVersion: "v1", kind: "X", name: "x", uid: "u" }] }],
  ])("sees a change of %s", (_what, meta) => {
    expect(changedBeyondStatus(base, withMeta(meta as Partial<NonNullable<KubeObject["metadata"]>>))).toBe(
      true,
    );
  });
});
