/**
 * The Pipelines and Rollups the gateway can answer from, per namespace: list+watch through the
 * Kubernetes API (every namespace, or TALLY_WATCH_NAMESPACE). Objects are handed out as stored; the
 * query side validates their specs before trusting them.
 */
import type { PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import { Informer } from "../../lib/kube/informer.js";
import { type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import type { Logger } from "../logger.js";

export interface NamespaceSources {
  readonly pipelines: PipelineObject[];
  readonly rollups: RollupObject[];
}

/** What the query side reads: a consistent-enough view of the watched objects. */
export interface SourceRegistrySnapshot {
  snapshot(namespace: string): NamespaceSources;
  /** Namespaces with at least one Pipeline or Rollup, sorted. */
  namespaces(): string[];
  /** False until both kinds have been listed once. */
  synced(): boolean;
}

const byName = (a: { metadata?: { name?: string } }, b: { metadata?: { name?: string } }) =>
  (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");

export class SourceRegistry implements SourceRegistrySnapshot {
  private readonly pipelines: Informer<PipelineObject>;
  private readonly rollups: Informer<RollupObject>;

  constructor(
    client: KubeClient,
    options: { readonly namespace: string | undefined; readonly logger: Logger },
  ) {
    const onError = (kind: string) => (error: unknown, phase: "list" | "watch") =>
      options.logger.warn(
        {
          kind,
          namespace: options.namespace,
          phase,
          err: error instanceof Error ? error.message : String(error),
        },
        "watch failed; retrying",
      );
    // Handlers get keys only; readers look at the cache when they query.
    const ignore = () => undefined;
    const informerOptions = { namespace: options.namespace, resyncMs: 10 * 60_000 };
    this.pipelines = new Informer(client, resourceTypes.pipeline, ignore, {
      ...informerOptions,
      onError: onError("Pipeline"),
    });
    this.rollups = new Informer(client, resourceTypes.rollup, ignore, {
      ...informerOptions,
      onError: onError("Rollup"),
    });
  }

  start(): void {
    this.pipelines.start();
    this.rollups.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.pipelines.stop(), this.rollups.stop()]);
  }

  synced(): boolean {
    return this.pipelines.hasSynced() && this.rollups.hasSynced();
  }

  snapshot(namespace: string): NamespaceSources {
    const inNamespace = (o: { metadata?: { namespace?: string } }) => o.metadata?.namespace === namespace;
    return {
      pipelines: this.pipelines.list().filter(inNamespace).sort(byName),
      rollups: this.rollups.list().filter(inNamespace).sort(byName),
    };
  }

  namespaces(): string[] {
    const names = new Set<string>();
    for (const object of [...this.pipelines.list(), ...this.rollups.list()])
      if (object.metadata?.namespace !== undefined) names.add(object.metadata.namespace);
    return [...names].sort();
  }
}
