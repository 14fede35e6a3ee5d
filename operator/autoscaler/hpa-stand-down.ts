/**
 * A user who points a HorizontalPodAutoscaler at a Pipeline's scale subresource has chosen the HPA to
 * set replicas. Two autoscalers writing one replica count would fight, so ours stands down for that
 * Pipeline and says so. HPAs are listed per namespace at most every `ttlMs` (one list serves every
 * Pipeline in the namespace for that long).
 */
import type { KubeClient, KubeObject } from "../../lib/kube/kube-client.js";
import { resourceTypes } from "../../lib/kube/kube-client.js";
import { logger } from "../core/logger.js";

export interface HorizontalPodAutoscaler extends KubeObject {
  spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } };
}

/** The name of an HPA that scales Pipeline `pipeline`, if any (pure). */
export function hpaTargeting(hpas: readonly HorizontalPodAutoscaler[], pipeline: string): string | undefined {
  const hpa = hpas.find((h) => {
    const ref = h.spec?.scaleTargetRef;
    return (
      ref?.kind === "Pipeline" && ref.name === pipeline && (ref.apiVersion ?? "").startsWith("tally.dev/")
    );
  });
  return hpa?.metadata?.name;
}

export interface HpaLister {
  list(namespace: string): Promise<readonly HorizontalPodAutoscaler[]>;
}

/**
 * Lists HPAs through the API, cached per namespace. If they cannot be listed (no permission, API
 * down), it answers "none" and logs once per namespace: our autoscaler keeps going, as it would
 * without HPAs, rather than stopping every pipeline for a reason the user cannot see.
 */
export function cachedHpaLister(client: KubeClient, ttlMs: number, now: () => number): HpaLister {
  const cache = new Map<string, { at: number; items: readonly HorizontalPodAutoscaler[] }>();
  const warned = new Set<string>();
  return {
    async list(namespace) {
      const hit = cache.get(namespace);
      if (hit !== undefined && now() - hit.at < ttlMs) return hit.items;
      try {
        const page = await client.list<HorizontalPodAutoscaler>(
          resourceTypes.horizontalPodAutoscaler,
          namespace,
        );
        cache.set(namespace, { at: now(), items: page.items });
        warned.delete(namespace);
        return page.items;
      } catch (error) {
        if (!warned.has(namespace)) {
          warned.add(namespace);
          logger.warn(
            { namespace, err: error instanceof Error ? error.message : String(error) },
            "cannot list HorizontalPodAutoscalers; assuming none target Pipelines here",
          );
        }
        return hit?.items ?? [];
      }
    },
  };
}
