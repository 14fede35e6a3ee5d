/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews the lease
 * every `retryPeriod`; another replica takes it over once it has not been renewed for
 * `leaseDuration`; a leader that cannot renew within `renewDeadline` steps down; a clean shutdown
 * releases the lease so the next leader does not wait. Updates carry the resourceVersion read, so
 * two candidates can never both win (the loser gets 409 Conflict).
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  isConflict,
  isForbidden,
  isNotFound,
  type KubeClient,
  type KubeObject,
  resourceTypes,
} from "./kube-client.js";

export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

type LeaseDecision = "create" | "renew" | "takeover" | "wait";

/** Pure: what a candidate does with the lease as read. */
export function decideLease(
  lease: Lease | undefined,
  identity: string,
  nowMs: number,
  leaseDurationMs: number,
): LeaseDecision {
  if (lease === undefined) return "create";
  const holder = lease.spec?.holderIdentity ?? "";
  if (holder === identity) return "renew";
  if (holder === "") return "takeover";
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? "");
  const duration = (lease.spec?.leaseDurationSeconds ?? leaseDurationMs / 1000) * 1000;
  if (Number.isNaN(renewed) || nowMs - renewed >= duration) return "takeover";
  return "wait";
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly onError?: (error: unknown) => void;
}

export class LeaderElector {
  private leading = false;
  private readonly abort = new AbortController();
  private loopDone: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {}

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Stops campaigning; a leader releases the lease. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loopDone;
    if (this.leading) {
      this.leading = false;
      await this.release().catch((error: unknown) => this.options.onError?.(error));
      this.options.onStoppedLeading();
    }
  }

  private async loop(): Promise<void> {
    let lastRenew = 0;
    while (!this.abort.signal.aborted) {
      try {
        const acquired = await this.tryAcquireOrRenew();
        if (acquired) {
          lastRenew = Date.now();
          if (!this.leading) {
            this.leading = true;
            this.options.onStartedLeading();
          }
        } else if (this.leading) {
          this.stepDown();
        }
      } catch (error) {
        this.options.onError?.(error);
        if (this.leading && Date.now() - lastRenew > this.options.renewDeadlineMs) this.stepDown();
      }
      await sleep(this.options.retryPeriodMs, undefined, { signal: this.abort.signal }).catch(
        () => undefined,
      );
    }
  }

  private stepDown(): void {
    this.leading = false;
    this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.options;
    const lease = await this.client.find<Lease>(resourceTypes.lease, namespace, name);
    const now = Date.now();
    const decision = decideLease(lease, identity, now, leaseDurationMs);
    if (decision === "wait") return false;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: microTime(now),
      acquireTime: decision === "renew" ? (lease?.spec?.acquireTime ?? microTime(now)) : microTime(now),
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (decision === "takeover" ? 1 : 0),
    };
    try {
      if (decision === "create") {
        await this.client.create<Lease>(resourceTypes.lease, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec,
        });
      } else {
        await this.client.replace<Lease>(resourceTypes.lease, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace, resourceVersion: lease?.metadata?.resourceVersion },
          spec,
        });
      }
      return true;
    } catch (error) {
      if (isConflict(error) || (error instanceof Error && /AlreadyExists/.test(error.message))) return false;
      throw error;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const lease = await this.client.find<Lease>(resourceTypes.lease, namespace, name);
    if (lease?.spec?.holderIdentity !== identity) return;
    await this.client.replace<Lease>(resourceTypes.lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", renewTime: microTime(Date.now()) },
    });
  }
}

/**
 * Whether the lease's namespace is there to campaign in: `missing` means it does not exist and this
 * identity may not create it; `unverifiable` that it may not even read namespaces (the chart grants
 * none, and runs the operator in its own, existing release namespace).
 */
type LeaseNamespace =
  | { readonly kind: "exists" }
  | { readonly kind: "created" }
  | { readonly kind: "unverifiable" }
  | { readonly kind: "missing"; readonly reason: string };

/** Makes sure the lease namespace exists, creating it when permitted, before anyone campaigns. */
export async function ensureLeaseNamespace(client: KubeClient, namespace: string): Promise<LeaseNamespace> {
  try {
    await client.get(resourceTypes.namespace, undefined, namespace);
    return { kind: "exists" };
  } catch (error) {
    if (isForbidden(error)) return { kind: "unverifiable" };
    if (!isNotFound(error)) throw error;
  }
  try {
    await client.create(resourceTypes.namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace },
    });
    return { kind: "created" };
  } catch (error) {
    if (isConflict(error)) return { kind: "exists" }; // created by someone else meanwhile
    if (isForbidden(error)) return { kind: "missing", reason: error instanceof Error ? error.message : "" };
    throw error;
  }
}
