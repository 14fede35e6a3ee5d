/**
 * A stored Tally object → what the status page shows of it (pure): the fields `kubectl get` prints for
 * its kind and the ones `kubectl describe` adds, its conditions, and a dashboard's panels. Status is
 * read defensively: an object the operator has not reconciled yet has none.
 */
import type {
  AlertRuleObject,
  DashboardObject,
  PipelineObject,
  RollupObject,
} from "../../api/v1alpha1/objects.js";
import type { ResourceCondition, ResourceKind, ResourceSummary } from "./resources-response.js";

export type StoredResource =
  | { readonly kind: "Pipeline"; readonly object: PipelineObject }
  | { readonly kind: "Rollup"; readonly object: RollupObject }
  | { readonly kind: "AlertRule"; readonly object: AlertRuleObject }
  | { readonly kind: "Dashboard"; readonly object: DashboardObject };

type Detail = { name: string; value: string };

/** Leaves out fields the status does not have yet, so the page shows no "undefined". */
function details(entries: readonly (readonly [string, string | number | boolean | undefined])[]): Detail[] {
  return entries.flatMap(([name, value]) => (value === undefined ? [] : [{ name, value: String(value) }]));
}

function detailsOf(resource: StoredResource): Detail[] {
  switch (resource.kind) {
    case "Pipeline": {
      const s = resource.object.status;
      return details([
        ["Replicas", s?.replicas],
        ["Ready replicas", s?.readyReplicas],
        ["Desired", s?.desiredReplicas],
        ["Lag (messages)", s?.lag],
        ["Lag (seconds)", s?.lagSeconds],
        ["Events/s", s?.processingRate],
        ["Scale reason", s?.scaleReason],
        ["Last scale", s?.lastScaleTime],
      ]);
    }
    case "Rollup": {
      const s = resource.object.status;
      return details([
        ["Table", s?.table],
        ["Granularity", s?.granularity],
        ["Serving version", s?.servingVersion],
        ["View", s?.view],
      ]);
    }
    case "AlertRule": {
      const s = resource.object.status;
      return details([
        ["State", s?.state],
        ["Since", s?.since],
        ["Last value", s?.lastValue],
        ["Last evaluation", s?.lastEvaluation],
        ["Series", s?.series?.length],
      ]);
    }
    case "Dashboard": {
      const s = resource.object.status;
      return details([["Panels ready", s?.readyPanels]]);
    }
  }
}

function titleOf(resource: StoredResource): string | undefined {
  if (resource.kind !== "Dashboard") return undefined;
  const spec = resource.object.spec;
  const title = typeof spec === "object" && spec !== null ? (spec as { title?: unknown }).title : undefined;
  return typeof title === "string" ? title : undefined;
}

export function describeResource(resource: StoredResource): ResourceSummary {
  const { metadata, status } = resource.object;
  const conditions: ResourceCondition[] = (status?.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    ...(c.lastTransitionTime ? { since: c.lastTransitionTime } : {}),
  }));
  const generation = metadata?.generation;
  const observed = status?.observedGeneration;
  const title = titleOf(resource);
  const panels = resource.kind === "Dashboard" ? resource.object.status?.panels : undefined;
  return {
    kind: resource.kind,
    name: metadata?.name ?? "",
    ...(title === undefined ? {} : { title }),
    ...(metadata?.creationTimestamp === undefined ? {} : { created: metadata.creationTimestamp }),
    ready: conditions.find((c) => c.type === "Ready")?.status ?? "Unknown",
    stale: generation !== undefined && observed !== undefined && observed < generation,
    details: detailsOf(resource),
    conditions,
    ...(panels === undefined ? {} : { panels: panels.map((p) => ({ ...p })) }),
  };
}

const kindOrder: Record<ResourceKind, number> = { Pipeline: 0, Rollup: 1, AlertRule: 2, Dashboard: 3 };

/** By kind in the page's order, then by name. */
export function compareSummaries(a: ResourceSummary, b: ResourceSummary): number {
  return kindOrder[a.kind] - kindOrder[b.kind] || a.name.localeCompare(b.name);
}
