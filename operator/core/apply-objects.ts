/**
 * Applies desired objects with server-side apply, once each: the desired object's hash is stored
 * in an annotation, and an object whose stored hash matches is not written again. So a restarted
 * operator, or a resync, makes no API writes while nothing changed.
 */
import { createHash } from "node:crypto";
import type { Applicable, KubeClient, ResourceType } from "../../lib/kube/kube-client.js";
import { apiWrites } from "./metrics.js";

const appliedHashAnnotation = "tally.dev/applied-hash";

type ApplyResult = "created" | "patched" | "noop";

function hashObject(object: unknown): string {
  return createHash("sha256").update(JSON.stringify(object)).digest("hex").slice(0, 16);
}

export async function applyIfChanged<T extends Applicable>(
  client: KubeClient,
  type: ResourceType,
  desired: T,
  fieldManager: string,
): Promise<ApplyResult> {
  const hash = hashObject(desired);
  const name = desired.metadata?.name;
  if (name === undefined) throw new Error(`${type.kind} without metadata.name`);
  const current = await client.find<T>(type, desired.metadata?.namespace, name);
  if (current?.metadata?.annotations?.[appliedHashAnnotation] === hash) return "noop";
  const annotated = {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata?.annotations, [appliedHashAnnotation]: hash },
    },
  };
  await client.apply(type, annotated, fieldManager);
  apiWrites.inc({ kind: type.kind, verb: "apply" });
  return current === undefined ? "created" : "patched";
}
