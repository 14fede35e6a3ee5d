/**
 * What a stream shows (pure): a Dashboard or one ad-hoc query, in a namespace, with an optional drill-down
 * filter. Subscribers asking the same thing share one view (one read per tick), so the key is the
 * canonical JSON of all three: object keys sorted, so `{a,b}` and `{b,a}` are one view.
 */
import type { QueryFilter, QueryRequest } from "../../api/v1alpha1/query.js";

export type ViewSource =
  | { readonly kind: "dashboard"; readonly name: string }
  | { readonly kind: "query"; readonly request: QueryRequest };

export interface ViewSpec {
  readonly namespace: string;
  readonly source: ViewSource;
  readonly filter: QueryFilter | undefined;
}

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

function canonical(value: unknown): Json {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return (value ?? null) as Json;
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) out[key] = canonical(field);
  }
  return out;
}

export function viewKey(spec: ViewSpec): string {
  return JSON.stringify(canonical([spec.namespace, spec.source, spec.filter ?? null]));
}
