import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  jumpConsistentHash,
  type LeaseView,
  memberLeaseName,
  memberSlot,
  memberSlotOfLeaseName,
  planShards,
  shardLeaseName,
  shardOfLeaseName,
  shardOfRule,
  targetShare,
} from "./rule-shards.js";

const now = 1_000_000;
const held = (holder: string): LeaseView => ({ holder, expiresAtMs: now + 5_000 });
const expired = (holder: string): LeaseView => ({ holder, expiresAtMs: now - 1 });

describe("jumpConsistentHash", () => {
  it("matches the reference implementation's buckets", () => {
    // Values printed by the paper's C++ code (JumpConsistentHash(key, buckets)), compiled separately.
    expect(jumpConsistentHash(0n, 1)).toBe(0);
    expect(jumpConsistentHash(0n, 32)).toBe(0);
    expect(jumpConsistentHash(1n, 32)).toBe(17);
    expect(jumpConsistentHash(2n, 32)).toBe(31);
    expect(jumpConsistentHash(0xffffffffffffffffn, 32)).toBe(10);
    expect(jumpConsistentHash(123456789n, 1000)).toBe(294);
    expect(jumpConsistentHash(987654321987654321n, 7)).toBe(6);
  });

  it("stays in range, and growing the buckets only moves keys to the new bucket", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 1, max: 200 }),
        (key, buckets) => {
          const before = jumpConsistentHash(key, buckets);
          const after = jumpConsistentHash(key, buckets + 1);
          expect(before).toBeGreaterThanOrEqual(0);
          expect(before).toBeLessThan(buckets);
          expect(after === before || after === buckets).toBe(true);
        },
      ),
    );
  });

  it("refuses a bucket count that is not a positive integer", () => {
    expect(() => jumpConsistentHash(1n, 0)).toThrow(/buckets/);
  });
});

describe("shardOfRule", () => {
  it("is stable and spreads 1,000 rules over 32 shards", () => {
    expect(shardOfRule("team-a", "errors-high", 32)).toBe(shardOfRule("team-a", "errors-high", 32));
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 1_000; i++) {
      const shard = shardOfRule("bench", `rule-${i}`, 32);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    // ~31 each; no shard empty or holding more than twice its share.
    expect(Math.min(...counts)).toBeGreaterThan(10);
    expect(Math.max(...counts)).toBeLessThan(63);
  });

  it("tells namespace from name (a/b-c is not a-b/c)", () => {
    const pairs = Array.from({ length: 50 }, (_, i) => [
      shardOfRule("a", `b-${i}`, 1024),
      shardOfRule("a-b", `${i}`, 1024),
    ]);
    expect(pairs.some(([x, y]) => x !== y)).toBe(true);
  });
});

describe("lease names", () => {
  it("round-trips a shard through its Lease name and rejects others", () => {
    expect(shardOfLeaseName(shardLeaseName(17))).toBe(17);
    expect(shardOfLeaseName("tally-alert-shard-07")).toBeUndefined();
    expect(shardOfLeaseName(memberLeaseName(3))).toBeUndefined();
    expect(memberSlotOfLeaseName(memberLeaseName(3))).toBe(3);
    expect(memberSlotOfLeaseName(shardLeaseName(3))).toBeUndefined();
  });
});

describe("memberSlot", () => {
  const slots = (entries: [number, LeaseView][]) => new Map(entries);
  it("renews the slot it holds, even an expired one", () => {
    expect(
      memberSlot(
        slots([
          [0, held("b")],
          [1, expired("a")],
        ]),
        "a",
        now,
      ),
    ).toEqual({ kind: "renew", slot: 1 });
  });
  it("takes the lowest released or expired slot before making a new one", () => {
    expect(
      memberSlot(
        slots([
          [0, held("b")],
          [1, held("")],
          [2, expired("c")],
        ]),
        "a",
        now,
      ),
    ).toEqual({
      kind: "take",
      slot: 1,
    });
    expect(
      memberSlot(
        slots([
          [0, held("b")],
          [2, expired("c")],
        ]),
        "a",
        now,
      ),
    ).toEqual({ kind: "take", slot: 2 });
  });
  it("makes the lowest missing slot when every slot is live", () => {
    expect(
      memberSlot(
        slots([
          [0, held("b")],
          [2, held("c")],
        ]),
        "a",
        now,
      ),
    ).toEqual({ kind: "create", slot: 1 });
    expect(memberSlot(slots([]), "a", now)).toEqual({ kind: "create", slot: 0 });
  });
});

describe("targetShare", () => {
  it.each([
    [32, 1, 32],
    [32, 2, 16],
    [32, 3, 11],
    [32, 5, 7],
    [32, 40, 1],
    [32, 0, 32],
  ])("%i shards over %i replicas: %i each", (shards, replicas, share) => {
    expect(targetShare(shards, replicas)).toBe(share);
  });
});

describe("planShards", () => {
  const plan = (
    shardLeases: [number, LeaseView][],
    memberLeases: LeaseView[] = [],
    identity = "a",
    shards = 8,
  ) => planShards({ shards, shardLeases: new Map(shardLeases), memberLeases, identity, nowMs: now });

  it("alone: takes every shard", () => {
    expect(plan([])).toEqual({
      replicas: 1,
      target: 8,
      renew: [],
      take: [0, 1, 2, 3, 4, 5, 6, 7],
      release: [],
    });
  });

  it("renews what it holds and takes expired shards, a dead replica's included", () => {
    const p = plan([
      [0, held("a")],
      [1, expired("b")],
      [2, { holder: "", expiresAtMs: now + 5_000 }],
    ]);
    expect(p.renew).toEqual([0]);
    expect(p.take).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(p.replicas).toBe(1);
  });

  it("a new replica (a member Lease, no shard yet) makes the holder release its extras", () => {
    const all = Array.from({ length: 8 }, (_, s): [number, LeaseView] => [s, held("a")]);
    const p = plan(all, [held("a"), held("b")]);
    expect(p).toMatchObject({ replicas: 2, target: 4, renew: [0, 1, 2, 3], take: [], release: [4, 5, 6, 7] });
    // …and the newcomer takes the released ones, no more than its share.
    const released = all.map(([s, l]): [number, LeaseView] => [s, s >= 4 ? held("") : l]);
    expect(plan(released, [held("a"), held("b")], "b")).toMatchObject({ take: [4, 5, 6, 7], release: [] });
  });

  it("takes nothing held by a live replica, and no more than its share of the free ones", () => {
    const p = plan(
      [
        [0, held("b")],
        [1, held("c")],
      ],
      [held("b"), held("c")],
    );
    expect(p).toMatchObject({ replicas: 3, target: 3, renew: [], take: [2, 3, 4], release: [] });
  });

  it("an expired member Lease does not count as a replica", () => {
    expect(plan([], [expired("b")]).target).toBe(8);
  });

  it("shards always end up held exactly once when replicas plan in turns", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 40 }), (replicas, shards) => {
        const ids = Array.from({ length: replicas }, (_, i) => `r${i}`);
        const leases = new Map<number, LeaseView>();
        const members = ids.map(held);
        for (let round = 0; round < 4; round++)
          for (const id of ids) {
            const p = planShards({
              shards,
              shardLeases: leases,
              memberLeases: members,
              identity: id,
              nowMs: now,
            });
            for (const s of p.release) leases.set(s, held(""));
            for (const s of [...p.renew, ...p.take]) leases.set(s, held(id));
          }
        const byHolder = new Map<string, number>();
        for (const lease of leases.values())
          byHolder.set(lease.holder, (byHolder.get(lease.holder) ?? 0) + 1);
        expect(leases.size).toBe(shards);
        expect(byHolder.get("") ?? 0).toBe(0);
        for (const count of byHolder.values())
          expect(count).toBeLessThanOrEqual(targetShare(shards, replicas));
      }),
    );
  });
});
