/**
 * Wires a controller together: informers feed keys into the work queue (events are never handed to
 * the reconciler), the queue runs the reconcile, and every outcome lands in metrics and — for
 * failures — in exactly one log line.
 */
import { Informer, type InformerOptions, keyOf } from "../../lib/kube/informer.js";
import type { KubeClient, KubeObject, ResourceType } from "../../lib/kube/kube-client.js";
import { logger } from "./logger.js";
import { queueDepth, queueLatency, reconcileDuration, reconcileErrors, reconcileTotal } from "./metrics.js";
import { sameJson } from "./stable-json.js";
import { type ReconcileOutcome, WorkQueue } from "./work-queue.js";

interface SecondaryWatch {
  readonly type: ResourceType;
  readonly labelSelector?: string;
  /** The primary keys an object of this type concerns (e.g. its owner). */
  keysFor(object: KubeObject | undefined, key: string, primaries: readonly KubeObject[]): string[];
}

export interface ControllerDefinition<T extends KubeObject> {
  readonly name: string;
  readonly primary: ResourceType;
  readonly secondaries?: readonly SecondaryWatch[];
  readonly concurrency: number;
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly timeoutMs: number;
  readonly resyncMs: number;
  reconcile(key: string, cached: T | undefined): Promise<ReconcileOutcome>;
  /**
   * Whether a watched change to a primary is worth a reconcile (default: every change). Lists and
   * resyncs always enqueue, so a filtered change is at most delayed to the next resync, never lost.
   */
  primaryChanged?(previous: T, next: T): boolean;
  /** Other primary objects to reconcile when one changes (e.g. rollups cascading from it). */
  dependents?(object: T | undefined, key: string, primaries: readonly T[]): string[];
}

export class ControllerRunner<T extends KubeObject> {
  readonly primary: Informer<T>;
  private readonly secondaries: Informer<KubeObject>[];
  private readonly queue: WorkQueue;

  constructor(
    client: KubeClient,
    private readonly definition: ControllerDefinition<T>,
    namespace?: string,
  ) {
    const log = logger.child({ controller: definition.name });
    const onError: InformerOptions["onError"] = (error, phase) =>
      log.warn({ err: error instanceof Error ? error.message : String(error), phase }, "informer retrying");
    this.queue = new WorkQueue((key) => definition.reconcile(key, this.primary.get(key)), {
      concurrency: definition.concurrency,
      baseBackoffMs: definition.baseBackoffMs,
      maxBackoffMs: definition.maxBackoffMs,
      timeoutMs: definition.timeoutMs,
      onResult: (event) => {
        const [namespace_, name] = event.key.split("/", 2);
        reconcileTotal.inc({ controller: definition.name, outcome: event.outcome });
        reconcileDuration.observe({ controller: definition.name }, event.durationMs / 1000);
        queueLatency.observe({ controller: definition.name }, event.queuedMs / 1000);
        queueDepth.set({ controller: definition.name }, this.queue.depth());
        if (event.outcome === "error") {
          reconcileErrors.inc({ controller: definition.name });
          log.error(
            {
              namespace: namespace_,
              name,
              err: event.error instanceof Error ? event.error.message : String(event.error),
              retryInMs: event.retryInMs,
              failures: event.failures,
            },
            "reconcile failed; retrying",
          );
        } else if (event.outcome === "terminal") {
          log.warn(
            {
              namespace: namespace_,
              name,
              err: event.error instanceof Error ? event.error.message : String(event.error),
            },
            "spec refused; waiting for a change",
          );
        }
      },
    });
    this.primary = new Informer<T>(
      client,
      definition.primary,
      (key, object, deleted, previous) => {
        if (
          previous !== undefined &&
          object !== undefined &&
          definition.primaryChanged?.(previous, object) === false
        )
          return;
        this.enqueue(key);
        for (const dependent of definition.dependents?.(object ?? deleted, key, this.primary.list()) ?? [])
          this.enqueue(dependent);
      },
      {
        namespace,
        resyncMs: definition.resyncMs,
        onError,
      },
    );
    this.secondaries = (definition.secondaries ?? []).map(
      (watch) =>
        new Informer<KubeObject>(
          client,
          watch.type,
          (key, object, deleted) => {
            for (const primaryKey of watch.keysFor(object ?? deleted, key, this.primary.list()))
              this.enqueue(primaryKey);
          },
          { namespace, labelSelector: watch.labelSelector, resyncMs: definition.resyncMs, onError },
        ),
    );
  }

  enqueue(key: string): void {
    this.queue.add(key);
    queueDepth.set({ controller: this.definition.name }, this.queue.depth());
  }

  async start(): Promise<void> {
    for (const informer of this.secondaries) informer.start();
    this.primary.start();
    await this.primary.waitForSync(60_000);
    for (const informer of this.secondaries) await informer.waitForSync(60_000);
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary.stop(), ...this.secondaries.map((i) => i.stop())]);
    await this.queue.shutdown();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }
}

/** Keys of the owners of a given kind named in an object's owner references. */
export function ownerKeys(kind: string): SecondaryWatch["keysFor"] {
  return (object, key) => {
    const namespace = key.includes("/") ? key.split("/", 1)[0] : undefined;
    return (object?.metadata?.ownerReferences ?? [])
      .filter((o) => o.kind === kind)
      .map((o) => (namespace ? `${namespace}/${o.name}` : o.name));
  };
}

/**
 * Whether anything but the status (and bookkeeping such as resourceVersion) changed: the spec (by
 * generation), labels, annotations, finalizers, owners or deletion. Controllers that write status but
 * do not read it back use this to ignore their own and each other's status writes.
 */
export function changedBeyondStatus(previous: KubeObject, next: KubeObject): boolean {
  const a = previous.metadata;
  const b = next.metadata;
  return (
    a?.generation !== b?.generation ||
    a?.deletionTimestamp !== b?.deletionTimestamp ||
    !sameJson(a?.labels, b?.labels) ||
    !sameJson(a?.annotations, b?.annotations) ||
    !sameJson(a?.finalizers, b?.finalizers) ||
    !sameJson(a?.ownerReferences, b?.ownerReferences)
  );
}

export { keyOf };
