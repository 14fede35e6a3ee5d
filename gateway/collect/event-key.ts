/**
 * The Kafka key of a collected event (pure). The runtime's dedup only finds a repeated id on the same
 * partition, and keeps order only within a partition, so the key must be stable for a retried event and,
 * ideally, the same for all of one user's events. The key is therefore, in order of preference:
 *  1. the value of the pipeline's `user_id` field, when it declares one: a retry carries the same user,
 *     so it lands on the same partition (dedup still finds it), and a user's events keep their order,
 *     which funnels and sessions rely on;
 *  2. the value of the dedup field (`spec.dedup.field`): retries still meet, per-user order is not kept;
 *  3. none (the producer spreads keyless events over partitions): without either field there is no
 *     dedup to serve and no user to keep in order.
 * A field is read at its `path` (dotted, default its name) as the runtime reads it. An event whose user
 * field is missing or not a scalar falls through to the dedup field, the same way on every retry.
 */
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";

/** The declared field taken as the user id (the entity funnels and retention count by default). */
export const userIdField = "user_id";

export interface KeyField {
  readonly field: string;
  readonly segments: readonly string[];
  readonly why: "user" | "dedup";
}

export function keyFields(spec: Pick<PipelineSpec, "fields" | "dedup">): KeyField[] {
  const keyField = (name: string, why: KeyField["why"]): KeyField[] => {
    const declared = spec.fields.find((f) => f.name === name);
    return declared === undefined ? [] : [{ field: name, segments: (declared.path ?? name).split("."), why }];
  };
  const user = keyField(userIdField, "user");
  const dedup =
    spec.dedup === undefined || spec.dedup.field === userIdField ? [] : keyField(spec.dedup.field, "dedup");
  return [...user, ...dedup];
}

/** Own properties only, as the runtime's field mapping reads a path. */
function readPath(event: unknown, segments: readonly string[]): unknown {
  let current = event;
  for (const segment of segments) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

export function eventKey(event: unknown, fields: readonly KeyField[]): string | null {
  for (const { segments } of fields) {
    const value = readPath(event, segments);
    if (typeof value === "string" && value !== "") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
  }
  return null;
}
