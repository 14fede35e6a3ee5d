/**
 * The shard Leases of the alert evaluator (the I/O around planShards): every retry period one LIST of the
 * evaluator's Leases, then this replica's member Lease renewed, its shards beyond its share released and
 * its kept and newly taken shards written, each with the resourceVersion read, so two replicas never both
 * win a shard (the loser gets 409 Conflict). A shard not renewed within the renew deadline is dropped
 * (stop evaluating before another replica may take it). A starting replica only announces itself in its
 * first round, so replicas started together split the shards without handing any over.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isConflict, isNotFound, type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import type { Lease } from "../../lib/kube/leader-election.js";
import {
  type LeaseView,
  memberLeaseName,
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

/** A member Lease expired this many lease durations ago is a dead replica's: deleted. */
const staleMemberDurations = 10;

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
  private announced: Lease | undefined;
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
    const { client, namespace, identity } = this.options;
    await Promise.all(
      shards.map((shard) =>
        this.release(shard).catch((error: unknown) => this.options.onError(error, `release shard ${shard}`)),
      ),
    );
    await client
      .delete(resourceTypes.lease, namespace, memberLeaseName(identity))
      .catch((error: unknown) => this.options.onError(error, "delete the member lease"));
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
    const members: Lease[] = [];
    for (const lease of listed.items) {
      const kind = lease.metadata?.labels?.[shardLeaseLabel];
      const shard = shardOfLeaseName(lease.metadata?.name ?? "");
      if (kind === "member") members.push(lease);
      else if (kind === "shard" && shard !== undefined) shardLeases.set(shard, lease);
    }
    const mine = members.find((m) => m.metadata?.name === memberLeaseName(identity));
    await this.announce(mine, nowMs);
    await this.deleteStaleMembers(members, nowMs);
    if (announceOnly) return;

    const plan = planShards({
      shards,
      shardLeases: new Map([...shardLeases].map(([s, l]) => [s, leaseView(l, leaseDurationMs)])),
      memberLeases: members.map((m) => leaseView(m, leaseDurationMs)),
      identity,
      nowMs,
    });
    // Stop evaluating before letting go: the next holder may start at once.
    for (const shard of plan.release) this.held.delete(shard);
    if (plan.release.length > 0) await this.changed();
    await Promise.all([
      ...plan.release.map((shard) =>
        this.release(shard, shardLeases.get(shard)).catch((error: unknown) =>
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

  private async announce(mine: Lease | undefined, nowMs: number): Promise<void> {
    const { client, identity, leaseDurationMs } = this.options;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: mine?.spec?.acquireTime ?? microTime(nowMs),
      renewTime: microTime(nowMs),
    };
    const object = this.leaseObject(memberLeaseName(identity), "member", spec, mine ?? this.announced);
    this.announced =
      mine === undefined
        ? await client.create<Lease>(resourceTypes.lease, object).catch(async (error: unknown) => {
            if (!isConflict(error) && !(error instanceof Error && /AlreadyExists/.test(error.message)))
              throw error;
            return undefined;
          })
        : await client.replace<Lease>(resourceTypes.lease, object);
  }

  private async deleteStaleMembers(members: readonly Lease[], nowMs: number): Promise<void> {
    const { client, namespace, leaseDurationMs } = this.options;
    for (const member of members) {
      const view = leaseView(member, leaseDurationMs);
      const name = member.metadata?.name;
      if (name === undefined || nowMs - view.expiresAtMs < staleMemberDurations * leaseDurationMs) continue;
      await client.delete(resourceTypes.lease, namespace, name).catch((error: unknown) => {
        if (!isNotFound(error)) this.options.onError(error, `delete the stale member lease ${name}`);
      });
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

  private async release(shard: number, listed?: Lease): Promise<void> {
    const { client, namespace, identity } = this.options;
    const lease = listed ?? (await client.find<Lease>(resourceTypes.lease, namespace, shardLeaseName(shard)));
    if (lease?.spec?.holderIdentity !== identity) return;
    await client.replace<Lease>(resourceTypes.lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", renewTime: microTime(Date.now()) },
    });
  }
}
