/**
 * What deleting a Pipeline does to its live windows in Redis. With deletionPolicy Delete every key under
 * the pipeline's prefix goes (contracts/redis/live-windows.ts: they all start with it), so nothing of a
 * deleted pipeline outlives it for the TTL; Retain keeps them, like the tables, until they expire. The
 * decision is pure; the deletion is a SCAN + UNLINK loop on one connection.
 */
import { Redis } from "ioredis";
import { redisPrefix } from "../../contracts/redis/live-windows.js";
import { redisSecretKeys } from "../../contracts/runtime-env.js";
import type { KubeClient } from "../../lib/kube/kube-client.js";
import type { DeletionPolicy } from "../core/cleanup.js";
import { readSecretKeys, SecretNotFoundError } from "../core/secrets.js";

const secretField = "spec.sink.redis.connectionSecretRef";

export type LiveWindowsCleanupPlan =
  /** The pipeline writes no live windows. */
  | { readonly action: "none" }
  | { readonly action: "keep"; readonly why: string }
  | { readonly action: "delete"; readonly secret: string; readonly prefix: string };

export type LiveWindowsCleanupOutcome =
  | { readonly kind: "none" }
  | { readonly kind: "kept"; readonly why: string }
  | { readonly kind: "deleted"; readonly keys: number }
  /** The connection Secret is gone: the keys are left to expire on their TTL. */
  | { readonly kind: "skipped"; readonly why: string };

/** From the spec as stored, read field by field: a spec that no longer validates is still deleted as its policy says. */
export function planLiveWindowsCleanup(
  namespace: string,
  name: string,
  policy: DeletionPolicy,
  spec: unknown,
): LiveWindowsCleanupPlan {
  const secret = (spec as { sink?: { redis?: { connectionSecretRef?: { name?: unknown } } } } | undefined)
    ?.sink?.redis?.connectionSecretRef?.name;
  if (typeof secret !== "string") return { action: "none" };
  if (policy !== "Delete") return { action: "keep", why: "deletionPolicy Retain: they expire on their TTL" };
  return { action: "delete", secret, prefix: redisPrefix(namespace, name) };
}

/** A SCAN pattern matching the keys that start with `prefix` exactly (glob characters escaped). */
export function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`;
}

/** Deletes every key starting with `prefix`; returns how many went. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", prefixPattern(prefix), "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}

/**
 * Carries out the plan. A missing Secret skips (retrying cannot help: namespace deletion removes
 * Secrets first); an unreachable Redis throws, so the finalizer stays and the deletion is retried.
 */
export async function runLiveWindowsCleanup(
  client: KubeClient,
  namespace: string,
  plan: LiveWindowsCleanupPlan,
): Promise<LiveWindowsCleanupOutcome> {
  if (plan.action === "none") return { kind: "none" };
  if (plan.action === "keep") return { kind: "kept", why: plan.why };
  let url: string;
  try {
    ({ url } = await readSecretKeys(client, namespace, plan.secret, [redisSecretKeys.url], secretField));
  } catch (error) {
    if (error instanceof SecretNotFoundError) return { kind: "skipped", why: error.message };
    throw error;
  }
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  // Connection errors reach the caller through the commands; this only keeps them off the process.
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return { kind: "deleted", keys: await deleteKeysWithPrefix(redis, plan.prefix) };
  } finally {
    redis.disconnect();
  }
}

/** The sentence the deletion's log line and Event end with (none for a pipeline without live windows). */
export function describeLiveWindowsCleanup(outcome: LiveWindowsCleanupOutcome): string | undefined {
  switch (outcome.kind) {
    case "none":
      return undefined;
    case "kept":
      return `live windows in Redis kept (${outcome.why})`;
    case "deleted":
      return `deleted ${outcome.keys} live-window keys from Redis`;
    case "skipped":
      return `live windows in Redis left to expire: ${outcome.why}`;
  }
}
