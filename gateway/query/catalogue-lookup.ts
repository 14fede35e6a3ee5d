/**
 * The namespace's catalogue as the query, funnel, retention and sessions services read it: rebuilt only
 * when one of its Pipelines or Rollups changed (a name or resourceVersion), else the cached one.
 */
import type { PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import { buildCatalogue, type NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import type { SourceSnapshot } from "./create-query-service.js";

function snapshotVersion(snapshot: SourceSnapshot): string {
  const version = (o: PipelineObject | RollupObject) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`;
  return [...snapshot.pipelines.map(version), "|", ...snapshot.rollups.map(version)].join(",");
}

export function catalogueLookup(
  snapshot: (namespace: string) => SourceSnapshot,
): (namespace: string) => NamespaceCatalogue {
  const cached = new Map<string, { version: string; catalogue: NamespaceCatalogue }>();
  return (namespace) => {
    const current = snapshot(namespace);
    const version = snapshotVersion(current);
    const hit = cached.get(namespace);
    if (hit?.version === version) return hit.catalogue;
    const catalogue = buildCatalogue(namespace, current.pipelines, current.rollups);
    cached.set(namespace, { version, catalogue });
    return catalogue;
  };
}
