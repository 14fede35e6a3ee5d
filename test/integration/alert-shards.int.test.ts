/**
 * The alert evaluator's shard Leases on the real apiserver (ShardCoordinator, as each gateway replica runs
 * it): two replicas split the shards evenly with no shard held twice; a third that joins gets its share
 * from the others; a replica whose apiserver calls all fail from one moment on (dead, or cut off: it
 * releases nothing) stops counting its shards within the renew deadline, and the others hold every shard
 * again within one lease duration plus a retry period.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { targetShare } from "../../gateway/alerts/rule-shards.js";
import { ShardCoordinator } from "../../gateway/alerts/shard-coordinator.js";
import { KubeClient } from "../../lib/kube/kube-client.js";
import { kubeconfigPath } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { createNamespace, deleteNamespace } from "../support/kube.js";

const shards = 12;
const leaseDurationMs = 5_000;

/** A client whose every call fails once `cut` is set: a replica that died without a word. */
function severableClient(client: KubeClient): { client: KubeClient; cut: () => void } {
  let severed = false;
  const wrapped = new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        if (severed) return Promise.reject(new Error("connection refused (replica gone)"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client: wrapped, cut: () => (severed = true) };
}

describe("alert shard Leases", () => {
  let namespace: string;
  const running: ShardCoordinator[] = [];
  beforeAll(async () => {
    namespace = await createNamespace("alert-shards");
  });
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop().catch(() => undefined)));
    await deleteNamespace(namespace);
  });

  it("splits the shards, gives a joining replica its share, and moves a dead replica's shards", async () => {
    const base = KubeClient.fromEnvironment(kubeconfigPath);
    const replica = (identity: string, client: KubeClient = base) => {
      const coordinator = new ShardCoordinator({
        client,
        namespace,
        identity,
        shards,
        leaseDurationMs,
        onShardsChanged: async () => undefined,
        onError: () => undefined,
      });
      running.push(coordinator);
      coordinator.start();
      return coordinator;
    };
    const heldBy = (cs: readonly ShardCoordinator[]) => cs.map((c) => c.heldShards());
    const expectPartition = (held: number[][], replicas: number) => {
      const all = held.flat().sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: shards }, (_, s) => s));
      for (const h of held) expect(h.length).toBeLessThanOrEqual(targetShare(shards, replicas));
    };

    // Sampled all along: no shard is ever held by two replicas at once (a replica stops counting a shard
    // at the renew deadline, before the Lease expires and another may take it).
    const doubles: string[] = [];
    const sampler = setInterval(() => {
      const seen = new Map<number, number>();
      running.forEach((c, i) => {
        for (const s of c.heldShards()) {
          const other = seen.get(s);
          if (other !== undefined) doubles.push(`shard ${s}: replicas ${other} and ${i}`);
          seen.set(s, i);
        }
      });
    }, 50);

    const a = replica("replica-a");
    const severable = severableClient(base);
    const b = replica("replica-b", severable.client);
    await eventually(async () => {
      expectPartition(heldBy([a, b]), 2);
      expect(heldBy([a, b]).map((h) => h.length)).toEqual([6, 6]);
    }, 20_000);

    // A third joins: the others release their extras, it takes them; 4 each.
    const c = replica("replica-c");
    await eventually(async () => {
      expectPartition(heldBy([a, b, c]), 3);
      expect(heldBy([a, b, c]).map((h) => h.length)).toEqual([4, 4, 4]);
    }, 20_000);

    // b dies without releasing anything: it stops counting its shards, a and c take them over.
    const bShards = b.heldShards();
    const diedAt = Date.now();
    severable.cut();
    await eventually(async () => expect(b.heldShards()).toEqual([]), leaseDurationMs);
    expect(Date.now() - diedAt).toBeLessThanOrEqual(Math.round(leaseDurationMs * 0.66) + 1_500);
    await eventually(async () => {
      const held = heldBy([a, c]);
      expectPartition(held, 2);
      expect(held.flat()).toEqual(expect.arrayContaining(bShards));
    }, 3 * leaseDurationMs);
    // Not before b's Leases expired (renewed at most a retry period before it died)…
    expect(Date.now() - diedAt).toBeGreaterThanOrEqual(leaseDurationMs - leaseDurationMs / 5 - 200);
    // …and within a lease duration and two retry periods of it.
    expect(Date.now() - diedAt).toBeLessThanOrEqual(leaseDurationMs + (2 * leaseDurationMs) / 5 + 1_000);
    clearInterval(sampler);
    expect(doubles).toEqual([]);
  }, 120_000);
});
