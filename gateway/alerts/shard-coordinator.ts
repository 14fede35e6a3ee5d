/**
 * The shard Leases of the alert evaluator (the I/O around planShards): every retry period one LIST of the
 * evaluator's Leases, then this replica's member slot renewed (or a free one taken), its shards beyond its share released and
 * its kept and newly taken shards written, each with the resourceVersion read, so two replicas never both
 * win a shard (the loser gets 409 Conflict). A shard not renewed within the renew deadline is dropped
 * (stop evaluating before another replica may take it). A starting replica only announces itself in its
 * first round, so replicas started together split the shards without handing any over.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isConflict, type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import type { Lease } from "../../lib/kube/leader-election.js";
import {
  type LeaseView,
  memberLeaseName,
  memberSlot,
  memberSlotOfLeaseName,
  planShards,
  shardLeaseLabel,
  shardLeaseName,
  shardOfLeaseName,
} from "./rule-shards.js";

export interface ShardCoordinatorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly identity: string;
  readonly shards: number;
  readonly leaseDurationMs: number;
  /**
   * Called with the shards this replica holds, each time that set changes; resolves once the evaluations
   * of shards no longer held have ended (a shard is released only then, so nothing is sent twice).
   */
  readonly onShardsChanged: (held: ReadonlySet<number>) => Promise<void>;
  readonly onError: (error: unknown, what: string) => void;
}

/** Member slots tried in one round before waiting for the next. */
const maxSlotAttempts = 4;

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

function leaseView(lease: Lease, fallbackDurationMs: number): LeaseView {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? "");
  const duration = (lease.spec?.leaseDurationSeconds ?? fallbackDurationMs / 1000) * 1000;
  return {
    holder: lease.spec?.holderIdentity ?? "",
    expiresAtMs: Number.isNaN(renewed) ? 0 : renewed + duration,
  };
}

export class ShardCoordinator {
  private readonly abort = new AbortController();
  private loopDone: Promise<void> | undefined;
  /** Shard → when this replica last renewed its Lease. */
  private readonly held = new Map<number, number>();
  /** The member slot this replica holds, released on stop. */
  private memberSlot: number | undefined;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;

  constructor(private readonly options: ShardCoordinatorOptions) {
    this.renewDeadlineMs = Math.round(options.leaseDurationMs * 0.66);
    this.retryPeriodMs = Math.round(options.leaseDurationMs / 5);
  }

  /** Whether this replica holds `shard` now (renewed within the renew deadline). */
  holds(shard: number): boolean {
    const renewed = this.held.get(shard);
    return renewed !== undefined && Date.now() - renewed <= this.renewDeadlineMs;
  }

  heldShards(): number[] {
    return [...this.held.keys()].filter((s) => this.holds(s)).sort((a, b) => a - b);
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Stops; the shards and the member Lease are released so the other replicas take over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loopDone;
    const shards = [...this.held.keys()];
    this.held.clear();
    await this.options.onShardsChanged(new Set());
    const names = shards.map(shardLeaseName);
    if (this.memberSlot !== undefined) names.push(memberLeaseName(this.memberSlot));
    await Promise.all(
      names.map((name) =>
        this.release(name).catch((error: unknown) => this.options.onError(error, `release ${name}`)),
      ),
    );
  }

  /** Tells the evaluator; waits for its evaluations to end, but at most a retry period (renewals go first). */
  private async changed(): Promise<void> {
    await Promise.race([
      this.options.onShardsChanged(new Set(this.heldShards())),
      sleep(this.retryPeriodMs, undefined, { signal: this.abort.signal }).catch(() => undefined),
    ]);
  }

  private async loop(): Promise<void> {
    let first = true;
    while (!this.abort.signal.aborted) {
      const before = this.heldShards().join(",");
      try {
        await this.round(first);
        first = false;
      } catch (error) {
        this.options.onError(error, "shard round");
      }
      for (const shard of [...this.held.keys()]) if (!this.holds(shard)) this.held.delete(shard);
      if (this.heldShards().join(",") !== before && !this.abort.signal.aborted) await this.changed();
      await sleep(this.retryPeriodMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  private async round(announceOnly: boolean): Promise<void> {
    const { client, namespace, identity, shards, leaseDurationMs } = this.options;
    const listed = await client.list<Lease>(resourceTypes.lease, namespace, {
      labelSelector: shardLeaseLabel,
    });
    const nowMs = Date.now();
    const shardLeases = new Map<number, Lease>();
    const members = new Map<number, Lease>();
    for (const lease of listed.items) {
      const name = lease.metadata?.name ?? "";
      const shard = shardOfLeaseName(name);
      const slot = memberSlotOfLeaseName(name);
      if (shard !== undefined) shardLeases.set(shard, lease);
      else if (slot !== undefined) members.set(slot, lease);
    }
    const views = (leases: Map<number, Lease>) =>
      new Map([...leases].map(([n, l]) => [n, leaseView(l, leaseDurationMs)]));
    await this.announce(members, nowMs);
    if (announceOnly) return;

    const plan = planShards({
      shards,
      shardLeases: views(shardLeases),
      memberLeases: views(members).values(),
      identity,
      nowMs,
    });
    // Stop evaluating before letting go: the next holder may start at once.
    for (const shard of plan.release) this.held.delete(shard);
    if (plan.release.length > 0) await this.changed();
    await Promise.all([
      ...plan.release.map((shard) =>
        this.release(shardLeaseName(shard), shardLeases.get(shard)).catch((error: unknown) =>
          this.options.onError(error, `release shard ${shard}`),
        ),
      ),
      ...[...plan.renew, ...plan.take].map((shard) => this.write(shard, shardLeases.get(shard), nowMs)),
    ]);
    // Shards this replica thinks it holds but the Leases say otherwise (taken after an expiry): dropped.
    const kept = new Set([...plan.renew, ...plan.take]);
    for (const shard of [...this.held.keys()]) if (!kept.has(shard)) this.held.delete(shard);
  }

  private leaseObject(name: string, kind: "shard" | "member", spec: Lease["spec"], from?: Lease): Lease {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name,
        namespace: this.options.namespace,
        labels: { [shardLeaseLabel]: kind },
        ...(from?.metadata?.resourceVersion === undefined
          ? {}
          : { resourceVersion: from.metadata.resourceVersion }),
      },
      spec,
    };
  }

  /**
   * Renews this replica's member slot, or takes one. A slot another replica won meanwhile (a conflict) is
   * passed over and the next one tried, so replicas started together all hold a slot after their first
   * round and see each other in their second (none takes every shard only to hand half over).
   */
  private async announce(members: ReadonlyMap<number, Lease>, nowMs: number): Promise<void> {
    const { client, identity, leaseDurationMs } = this.options;
    const views = new Map([...members].map(([n, l]) => [n, leaseView(l, leaseDurationMs)]));
    for (let attempt = 0; attempt < maxSlotAttempts; attempt++) {
      const { kind, slot } = memberSlot(views, identity, nowMs);
      const before = members.get(slot);
      const spec = {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime: kind === "renew" ? (before?.spec?.acquireTime ?? microTime(nowMs)) : microTime(nowMs),
        renewTime: microTime(nowMs),
      };
      const object = this.leaseObject(memberLeaseName(slot), "member", spec, before);
      try {
        if (kind === "create") await client.create<Lease>(resourceTypes.lease, object);
        else await client.replace<Lease>(resourceTypes.lease, object);
        this.memberSlot = slot;
        return;
      } catch (error) {
        if (!isConflict(error) && !(error instanceof Error && /AlreadyExists/.test(error.message)))
          throw error;
        if (kind === "renew") return; // taken over after this replica's expired: a new slot next round
        views.set(slot, { holder: "another replica", expiresAtMs: nowMs + leaseDurationMs });
      }
    }
  }

  /** Renews or takes one shard; a conflict means another replica has it. */
  private async write(shard: number, lease: Lease | undefined, nowMs: number): Promise<void> {
    const { client, identity, leaseDurationMs } = this.options;
    const mineBefore = lease?.spec?.holderIdentity === identity && this.held.has(shard);
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: microTime(nowMs),
      acquireTime: mineBefore ? (lease?.spec?.acquireTime ?? microTime(nowMs)) : microTime(nowMs),
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (mineBefore ? 0 : 1),
    };
    const object = this.leaseObject(shardLeaseName(shard), "shard", spec, lease);
    try {
      if (lease === undefined) await client.create<Lease>(resourceTypes.lease, object);
      else await client.replace<Lease>(resourceTypes.lease, object);
      this.held.set(shard, nowMs);
    } catch (error) {
      if (isConflict(error) || (error instanceof Error && /AlreadyExists/.test(error.message))) {
        this.held.delete(shard);
        return;
      }
      // Kept until the renew deadline passes: one failed renewal is not a lost Lease.
      this.options.onError(error, `write shard ${shard}`);
    }
  }

  /** Empties the holder of a Lease this replica holds, so another replica may take it at once. */
  private async release(name: string, listed?: Lease): Promise<void> {
    const { client, namespace, identity } = this.options;
    const lease = listed ?? (await client.find<Lease>(resourceTypes.lease, namespace, name));
    if (lease?.spec?.holderIdentity !== identity) return;
    await client.replace<Lease>(resourceTypes.lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", renewTime: microTime(Date.now()) },
    });
  }
}
