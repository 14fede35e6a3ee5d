/**
 * List, then watch from the list's resourceVersion; resume each new watch from the last event or
 * bookmark seen; relist when the server says the version is gone (410) or the watch fails; resync
 * (hand every cached key to the handler again) periodically. Handlers receive keys only: the
 * reconciler reads the cache or the API itself (level-based, never edge-based).
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  isGone,
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type ResourceType,
  type WatchEvent,
} from "./kube-client.js";

export interface InformerOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** e.g. `metadata.name=x`: RBAC then authorizes the list and watch by resourceNames. */
  readonly fieldSelector?: string;
  readonly resyncMs: number;
  /** How long one watch request may stay open before it is renewed (server-side timeout). */
  readonly watchTimeoutSeconds?: number;
  readonly onError?: (error: unknown, phase: "list" | "watch") => void;
}

export function keyOf(object: KubeObject): string {
  const meta = object.metadata;
  return meta?.namespace ? `${meta.namespace}/${meta.name ?? ""}` : (meta?.name ?? "");
}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly abort = new AbortController();
  private synced = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly type: ResourceType,
    /** `previous` is the cached object a watch event replaced (absent on lists, resyncs and deletes). */
    private readonly onKey: (key: string, object: T | undefined, deleted?: T, previous?: T) => void,
    private readonly options: InformerOptions,
  ) {}

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  hasSynced(): boolean {
    return this.synced;
  }

  start(): void {
    this.running ??= this.loop();
    const resync = setInterval(() => {
      for (const [key, object] of this.cache) this.onKey(key, object);
    }, this.options.resyncMs);
    resync.unref();
    this.abort.signal.addEventListener("abort", () => clearInterval(resync));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** Resolves once the first list has filled the cache. */
  async waitForSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced) {
      if (Date.now() > deadline)
        throw new Error(`${this.type.plural} informer did not sync within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      let resourceVersion: string;
      try {
        resourceVersion = await this.relist();
        failures = 0;
      } catch (error) {
        this.options.onError?.(error, "list");
        failures += 1;
        await this.pause(failures);
        continue;
      }
      // Watch, resuming from the newest version seen, until the version expires or watching fails.
      while (!this.abort.signal.aborted) {
        try {
          resourceVersion = await this.watchOnce(resourceVersion);
          failures = 0;
        } catch (error) {
          if (this.abort.signal.aborted) return;
          if (!isGone(error)) {
            this.options.onError?.(error, "watch");
            failures += 1;
            await this.pause(failures);
          }
          break; // relist
        }
      }
    }
  }

  private async pause(failures: number): Promise<void> {
    const ms = Math.min(30_000, 200 * 2 ** Math.min(failures, 8));
    await sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private async relist(): Promise<string> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.client.list<T>(this.type, this.options.namespace, {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        limit: 500,
        continue: continueToken,
      });
      for (const item of page.items) {
        const key = keyOf(item);
        seen.add(key);
        const previous = this.cache.get(key);
        this.cache.set(key, item);
        if (previous?.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.onKey(key, item);
      }
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? "";
    } while (continueToken !== undefined);
    // Objects deleted while we were not watching.
    for (const key of [...this.cache.keys()]) {
      if (!seen.has(key)) {
        const gone = this.cache.get(key);
        this.cache.delete(key);
        this.onKey(key, undefined, gone);
      }
    }
    this.synced = true;
    return resourceVersion;
  }

  private async watchOnce(fromVersion: string): Promise<string> {
    let resourceVersion = fromVersion;
    let expired: { code?: number; message?: string } | undefined;
    await this.client.watch<T>(
      this.type,
      this.options.namespace,
      {
        resourceVersion,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        timeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
      },
      (event: WatchEvent<T>) => {
        if (event.type === "ERROR") {
          expired = event.object;
          return;
        }
        const version = event.object.metadata?.resourceVersion;
        if (version) resourceVersion = version;
        if (event.type === "BOOKMARK") return;
        const key = keyOf(event.object);
        if (event.type === "DELETED") {
          this.cache.delete(key);
          this.onKey(key, undefined, event.object);
        } else {
          const previous = this.cache.get(key);
          this.cache.set(key, event.object);
          this.onKey(key, event.object, undefined, previous);
        }
      },
      this.abort.signal,
    );
    if (expired !== undefined) {
      throw new KubeApiError(
        expired.code ?? 410,
        "Expired",
        "WATCH",
        this.type.plural,
        expired.message ?? "resource version expired",
      );
    }
    return resourceVersion;
  }
}
