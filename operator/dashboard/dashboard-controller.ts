/**
 * Dashboard controller: checks every panel against what the namespace's Pipelines and Rollups offer and
 * writes each panel's state and the Ready and Degraded conditions (an Event when they change). Serving
 * the panels is the gateway's; the operator says which ones can be served. A Pipeline or Rollup change
 * re-checks the namespace's dashboards, so a panel turns ready when its source appears.
 */
import type { DashboardObject, PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { formatProblems } from "../../api/v1alpha1/validation.js";
import { buildCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import { type KubeClient, type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import type { ControllerDefinition } from "../core/controller.js";
import { writeStatusIfChanged } from "../core/status-writer.js";
import type { ReconcileOutcome } from "../core/work-queue.js";
import { dashboardStatus, judgeDashboard } from "./dashboard-status.js";

interface DashboardControllerDeps {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly now: () => Date;
}

/** Every dashboard in the namespace of the changed object (any of them may read from it). */
function dashboardsInNamespace(
  _object: KubeObject | undefined,
  key: string,
  dashboards: readonly KubeObject[],
) {
  const [namespace] = key.split("/", 1);
  return dashboards
    .filter((d) => d.metadata?.namespace === namespace)
    .map((d) => `${namespace}/${d.metadata?.name ?? ""}`);
}

export function dashboardControllerDefinition(
  deps: DashboardControllerDeps,
): ControllerDefinition<DashboardObject> {
  return {
    name: "dashboard",
    primary: resourceTypes.dashboard,
    secondaries: [
      { type: resourceTypes.pipeline, keysFor: dashboardsInNamespace },
      { type: resourceTypes.rollup, keysFor: dashboardsInNamespace },
    ],
    concurrency: 2,
    baseBackoffMs: 1000,
    maxBackoffMs: 60_000,
    timeoutMs: 30_000,
    resyncMs: 60_000,
    reconcile: (key) => reconcileDashboard(deps, key),
  };
}

async function reconcileDashboard(deps: DashboardControllerDeps, key: string): Promise<ReconcileOutcome> {
  const [namespace, name] = key.split("/", 2) as [string, string];
  const dashboard = await deps.client.find<DashboardObject>(resourceTypes.dashboard, namespace, name);
  if (dashboard === undefined || dashboard.metadata?.deletionTimestamp) return { kind: "done" };
  const [pipelines, rollups] = await Promise.all([
    deps.client.list<PipelineObject>(resourceTypes.pipeline, namespace),
    deps.client.list<RollupObject>(resourceTypes.rollup, namespace),
  ]);
  const verdict = judgeDashboard(dashboard.spec, buildCatalogue(namespace, pipelines.items, rollups.items));
  const status = dashboardStatus(verdict, dashboard.status, dashboard.metadata?.generation ?? 0, deps.now());
  const ready = verdict.kind === "panels" && verdict.panels.every((p) => p.problems.length === 0);
  await writeStatusIfChanged({
    client: deps.client,
    recorder: deps.recorder,
    type: resourceTypes.dashboard,
    object: dashboard,
    previous: dashboard.status,
    status,
    warning: !ready,
    eventOnMessageChange: true,
  });
  // A spec fault waits for the spec to change; bad panels are re-checked whenever a source changes.
  return verdict.kind === "invalidSpec"
    ? { kind: "terminal", error: new SpecError("spec", formatProblems(verdict.problems)) }
    : { kind: "done" };
}
