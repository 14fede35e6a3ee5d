/**
 * The Dashboards the gateway streams: list+watch through the Kubernetes API (every namespace, or
 * TALLY_WATCH_NAMESPACE), as the source registry watches Pipelines and Rollups. Specs are handed out as
 * stored; the stream validates each panel before trusting it.
 */
import type { DashboardObject } from "../../api/v1alpha1/objects.js";
import { Informer } from "../../lib/kube/informer.js";
import { type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import type { Logger } from "../logger.js";

export interface DashboardLookup {
  get(namespace: string, name: string): DashboardObject | undefined;
}

export class DashboardWatch implements DashboardLookup {
  private readonly informer: Informer<DashboardObject>;

  constructor(
    client: KubeClient,
    options: { readonly namespace: string | undefined; readonly logger: Logger },
  ) {
    this.informer = new Informer(client, resourceTypes.dashboard, () => undefined, {
      namespace: options.namespace,
      resyncMs: 10 * 60_000,
      onError: (error: unknown, phase: "list" | "watch") =>
        options.logger.warn(
          {
            kind: "Dashboard",
            namespace: options.namespace,
            phase,
            err: error instanceof Error ? error.message : String(error),
          },
          "watch failed; retrying",
        ),
    });
  }

  start(): void {
    this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }

  synced(): boolean {
    return this.informer.hasSynced();
  }

  get(namespace: string, name: string): DashboardObject | undefined {
    return this.informer.get(`${namespace}/${name}`);
  }
}
