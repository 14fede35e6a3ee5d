/**
 * The Redis key of a query result (pure). The planner passes the query already normalized (relative
 * ranges resolved to absolute and aligned to the source's granularity), so two requests that ask the
 * same question share a key; this module only makes the JSON canonical (object keys sorted, array
 * order kept, since it carries meaning: metrics order, ORDER BY) and hashes it.
 */
import { createHash } from "node:crypto";

/** The hash tag `{namespace}` keeps a namespace's keys (value, stale copy, lock) in one Redis Cluster slot. */
export function resultCacheKeyPrefix(namespace: string): string {
  return `tally:gw:q:{${namespace}}:`;
}

export function resultCacheKey(namespace: string, normalizedQuery: unknown): string {
  const digest = createHash("sha256").update(canonicalJson(normalizedQuery)).digest("hex");
  return `${resultCacheKeyPrefix(namespace)}${digest}`;
}

/**
 * JSON with object keys sorted at every level. Refuses what JSON cannot carry faithfully (NaN and
 * Infinity would both become null, a Date or Map would lose its value) instead of colliding keys.
 */
export function canonicalJson(value: unknown, path = "$"): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new TypeError(`resultCacheKey: ${path} is ${value}, not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item, index) => canonicalJson(item, `${path}[${index}]`)).join(",")}]`;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>)
      // An absent optional field and one set to undefined are the same query.
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item, `${path}.${key}`)}`);
    return `{${entries.join(",")}}`;
  }
  const kind = typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
  throw new TypeError(`resultCacheKey: ${path} is a ${kind}; expected plain JSON data`);
}
