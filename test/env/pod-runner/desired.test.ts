import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { desiredProcesses, diffProcesses, graceSeconds, restartDelayMs } from "./desired.js";

const components = new Set(["pipeline-worker", "gateway", "operator"]);
const known = (_namespace: string, component: string) => components.has(component);

function pod(
  name: string,
  options: {
    uid?: string;
    component?: string | undefined;
    phase?: string;
    deleting?: boolean;
    namespace?: string;
  } = {},
): V1Pod {
  const component = "component" in options ? options.component : "pipeline-worker";
  return {
    metadata: {
      name,
      namespace: options.namespace ?? "ns",
      uid: options.uid ?? `uid-${name}`,
      labels: component === undefined ? {} : { "tally.dev/component": component },
      ...(options.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    status: { phase: options.phase ?? "Running" },
  };
}

describe("desiredProcesses", () => {
  it("wants one process per Running, labelled pod of a known component", () => {
    const desired = desiredProcesses(
      [
        pod("a"),
        pod("b", { component: "gateway", namespace: "other" }),
        pod("pending", { phase: "Pending" }),
        pod("done", { phase: "Succeeded" }),
        pod("leaving", { deleting: true }),
        pod("unlabelled", { component: undefined }),
        pod("unknown", { component: "something-else" }),
      ],
      known,
    );
    expect([...desired.values()]).toEqual([
      { key: "ns/a", uid: "uid-a", namespace: "ns", name: "a", component: "pipeline-worker" },
      { key: "other/b", uid: "uid-b", namespace: "other", name: "b", component: "gateway" },
    ]);
  });

  it("asks per namespace whether a component has an entry point", () => {
    const onlyTests = (namespace: string) => namespace === "test";
    const desired = desiredProcesses(
      [pod("a", { namespace: "test" }), pod("b", { namespace: "prod" })],
      onlyTests,
    );
    expect([...desired.keys()]).toEqual(["test/a"]);
  });
});

describe("diffProcesses", () => {
  const desired = desiredProcesses([pod("a"), pod("b"), pod("c", { uid: "new" })], known);

  it("starts what is missing and stops what is no longer wanted", () => {
    const diff = diffProcesses(desired, [
      { key: "ns/a", uid: "uid-a" },
      { key: "ns/gone", uid: "uid-gone" },
    ]);
    expect(diff.start.map((d) => d.key)).toEqual(["ns/b", "ns/c"]);
    expect(diff.stop).toEqual([{ key: "ns/gone", uid: "uid-gone" }]);
  });

  it("replaces the process of a pod recreated under the same name (new uid)", () => {
    const diff = diffProcesses(desired, [
      { key: "ns/a", uid: "uid-a" },
      { key: "ns/b", uid: "uid-b" },
      { key: "ns/c", uid: "old" },
    ]);
    expect(diff.stop).toEqual([{ key: "ns/c", uid: "old" }]);
    expect(diff.start.map((d) => [d.key, d.uid])).toEqual([["ns/c", "new"]]);
  });

  it("does nothing when everything matches", () => {
    const diff = diffProcesses(desired, [
      { key: "ns/a", uid: "uid-a" },
      { key: "ns/b", uid: "uid-b" },
      { key: "ns/c", uid: "new" },
    ]);
    expect(diff).toEqual({ start: [], stop: [] });
  });
});

describe("graceSeconds", () => {
  it("uses terminationGracePeriodSeconds, defaulting to 30", () => {
    expect(graceSeconds(undefined)).toBe(30);
    expect(graceSeconds({ spec: { containers: [], terminationGracePeriodSeconds: 5 } })).toBe(5);
  });
  it("uses the deletion's grace period when the pod is deleted with one", () => {
    expect(
      graceSeconds({
        metadata: { deletionGracePeriodSeconds: 3 },
        spec: { containers: [], terminationGracePeriodSeconds: 30 },
      }),
    ).toBe(3);
  });
  it("ignores a zero deletion grace (kwok removes pods at once) and keeps the pod's own", () => {
    expect(
      graceSeconds({
        metadata: { deletionGracePeriodSeconds: 0 },
        spec: { containers: [], terminationGracePeriodSeconds: 7 },
      }),
    ).toBe(7);
  });
});

describe("restartDelayMs", () => {
  it("doubles from 1 s up to 10 s", () => {
    expect([0, 1, 2, 3, 4, 5].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });
});
