/**
 * Lists a namespace's Pipelines, Rollups, AlertRules and Dashboards through the Kubernetes API for the
 * status page. A list is kept for a couple of seconds and shared by concurrent requests, so a page
 * reloaded by many viewers costs the apiserver four lists per namespace per TTL, not per viewer. A kind
 * that cannot be listed (RBAC, apiserver away) is reported as unavailable; the others are still shown.
 */
import type { KubeObject } from "../../lib/kube/kube-client.js";
import { type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import { compareSummaries, describeResource, type StoredResource } from "./describe-resource.js";
import type { ResourceKind, ResourcesResponse } from "./resources-response.js";

export interface ResourceLister {
  list(namespace: string): Promise<ResourcesResponse>;
}

type Lister = Pick<KubeClient, "list">;

const typeOf = {
  Pipeline: resourceTypes.pipeline,
  Rollup: resourceTypes.rollup,
  AlertRule: resourceTypes.alertRule,
  Dashboard: resourceTypes.dashboard,
} as const satisfies Record<ResourceKind, unknown>;

async function listKind(client: Lister, kind: ResourceKind, namespace: string) {
  const list = await client.list<KubeObject>(typeOf[kind], namespace);
  // The apiserver hands back the kind's objects; the tag tells describeResource which status they carry.
  return list.items.map((object) => ({ kind, object }) as StoredResource);
}

async function listNamespace(client: Lister, namespace: string): Promise<ResourcesResponse> {
  const kinds = Object.keys(typeOf) as ResourceKind[];
  const settled = await Promise.allSettled(kinds.map((kind) => listKind(client, kind, namespace)));
  const response: ResourcesResponse = { namespace, resources: [], unavailable: [] };
  settled.forEach((outcome, i) => {
    const kind = kinds[i] as ResourceKind;
    if (outcome.status === "fulfilled") response.resources.push(...outcome.value.map(describeResource));
    else
      response.unavailable.push({
        kind,
        message: `cannot list ${typeOf[kind].plural}: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`,
      });
  });
  response.resources.sort(compareSummaries);
  return response;
}

export function cachedResourceLister(
  client: Lister,
  options: { readonly ttlMs: number; readonly now: () => number },
): ResourceLister {
  const entries = new Map<string, { readonly at: number; readonly answer: Promise<ResourcesResponse> }>();
  return {
    list(namespace) {
      const now = options.now();
      const entry = entries.get(namespace);
      if (entry !== undefined && now - entry.at < options.ttlMs) return entry.answer;
      // Expired entries of other namespaces go too, so the map holds only namespaces viewed lately.
      for (const [key, value] of entries) if (now - value.at >= options.ttlMs) entries.delete(key);
      const answer = listNamespace(client, namespace);
      entries.set(namespace, { at: now, answer });
      return answer;
    },
  };
}
