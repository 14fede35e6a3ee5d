/**
 * Which gateway replica evaluates which AlertRule (pure). Rules map to a fixed number of shards by jump
 * consistent hashing of namespace/name (Lamping & Veach: changing the shard count moves only the rules it
 * must); each shard has one Lease, so the Lease traffic grows with the shards, not the rules. Every
 * replica also holds a member Lease (a reusable slot), so a replica that holds no shard yet still counts: each
 * aims at ceil(shards / replicas), takes free or expired shards up to that and releases what it holds
 * beyond it, so a new replica gets its share and a dead one's shards move once its Leases expire.
 */
import { createHash } from "node:crypto";

/** The default number of shards (a setting): 1,000 rules cost 32 Lease renewals per period, not 1,000. */
export const defaultShardCount = 32;

/** Labels on the evaluator's Leases, so one LIST reads them all. */
export const shardLeaseLabel = "tally.dev/alert-lease";

/** Jump consistent hash: the bucket in [0, buckets) of a 64-bit key. */
export function jumpConsistentHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1)
    throw new RangeError(`buckets: expected a positive integer, got ${buckets}`);
  const mask = (1n << 64n) - 1n;
  let k = key & mask;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & mask;
    j = Math.floor((b + 1) * (2 ** 31 / Number((k >> 33n) + 1n)));
  }
  return b;
}

/** The shard of a rule: its namespace/name hashed (not the uid, so a recreated rule stays where it was). */
export function shardOfRule(namespace: string, name: string, shards: number): number {
  const digest = createHash("sha256").update(`${namespace}/${name}`).digest();
  return jumpConsistentHash(digest.readBigUInt64BE(0), shards);
}

/** The Lease of one shard (a DNS name). */
export function shardLeaseName(shard: number): string {
  return `tally-alert-shard-${shard}`;
}

/** The shard a Lease name is for; undefined for any other name. */
export function shardOfLeaseName(name: string): number | undefined {
  const match = /^tally-alert-shard-(0|[1-9][0-9]{0,5})$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** One Lease as read: who holds it and until when it counts as held. */
export interface LeaseView {
  readonly holder: string;
  /** renewTime + leaseDuration; a Lease past it is free to take. */
  readonly expiresAtMs: number;
}

const live = (lease: LeaseView, nowMs: number) => lease.holder !== "" && lease.expiresAtMs > nowMs;

/** A member Lease: slot n, held by one live replica at a time. */
export function memberLeaseName(slot: number): string {
  return `tally-alert-member-${slot}`;
}

/** The slot a member Lease name is for; undefined for any other name. */
export function memberSlotOfLeaseName(name: string): number | undefined {
  const match = /^tally-alert-member-(0|[1-9][0-9]{0,5})$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Which member slot a replica writes: the one it holds, else the lowest free or expired one, else a new
 * one. Slots are reused (a dead replica's once it expired), so the member Leases number the most replicas
 * that ever ran at once, and none need deleting.
 */
export function memberSlot(
  members: ReadonlyMap<number, LeaseView>,
  identity: string,
  nowMs: number,
): { readonly kind: "renew" | "take" | "create"; readonly slot: number } {
  for (const [slot, lease] of members) if (lease.holder === identity) return { kind: "renew", slot };
  const slots = [...members.keys()].sort((a, b) => a - b);
  for (const slot of slots) {
    const lease = members.get(slot);
    if (lease !== undefined && !live(lease, nowMs)) return { kind: "take", slot };
  }
  let slot = 0;
  while (members.has(slot)) slot++;
  return { kind: "create", slot };
}

/** How many shards each replica aims at. */
export function targetShare(shards: number, replicas: number): number {
  return Math.ceil(shards / Math.max(1, replicas));
}

export interface ShardView {
  readonly shards: number;
  /** Shard → its Lease; a shard without one is free. */
  readonly shardLeases: ReadonlyMap<number, LeaseView>;
  readonly memberLeases: Iterable<LeaseView>;
  readonly identity: string;
  readonly nowMs: number;
}

export interface ShardPlan {
  /** The replicas counted (live members and shard holders, this one included). */
  readonly replicas: number;
  readonly target: number;
  /** Held and kept: renewed this round. */
  readonly renew: readonly number[];
  /** Free or expired: taken this round. */
  readonly take: readonly number[];
  /** Held beyond the target: released so another replica can take them. */
  readonly release: readonly number[];
}

/**
 * What a replica does with the shard Leases this round. Extras released are the highest-numbered held
 * (so two replicas converge rather than swap), shards taken the lowest-numbered free ones.
 */
export function planShards(view: ShardView): ShardPlan {
  const { shards, shardLeases, identity, nowMs } = view;
  const replicas = new Set<string>([identity]);
  for (const m of view.memberLeases) if (live(m, nowMs)) replicas.add(m.holder);
  for (const lease of shardLeases.values()) if (live(lease, nowMs)) replicas.add(lease.holder);
  const target = targetShare(shards, replicas.size);
  const held: number[] = [];
  const free: number[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const lease = shardLeases.get(shard);
    if (lease === undefined || !live(lease, nowMs)) free.push(shard);
    else if (lease.holder === identity) held.push(shard);
  }
  const renew = held.slice(0, target);
  return {
    replicas: replicas.size,
    target,
    renew,
    take: free.slice(0, Math.max(0, target - renew.length)),
    release: held.slice(target),
  };
}
