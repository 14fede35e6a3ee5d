/**
 * CORS for the collector (pure). A Pipeline opts in with the annotation `tally.dev/collector-origins`, a
 * comma list of origins (`https://shop.example.com, http://localhost:3000`) or `*`; an annotation avoids
 * a CRD change for what is a gateway concern. No annotation, or an origin not listed: no grant, so a
 * browser refuses to hand the response to the page.
 */
import type { PipelineObject } from "../../api/v1alpha1/objects.js";

export const collectorOriginsAnnotation = "tally.dev/collector-origins";

export interface AllowedOrigins {
  readonly any: boolean;
  readonly origins: ReadonlySet<string>;
  /** Entries that are not an origin (`scheme://host[:port]`): ignored, and said in the log. */
  readonly invalid: readonly string[];
}

/** `scheme://host[:port]` as a browser sends it in `Origin`, or undefined when `text` is not one. */
function canonicalOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") return undefined;
  if (url.pathname !== "/") return undefined;
  return url.origin;
}

export function allowedOrigins(pipeline: PipelineObject): AllowedOrigins {
  const annotation = pipeline.metadata?.annotations?.[collectorOriginsAnnotation] ?? "";
  const entries = annotation
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  const origins = new Set<string>();
  const invalid: string[] = [];
  for (const entry of entries) {
    if (entry === "*") continue;
    const origin = canonicalOrigin(entry);
    if (origin === undefined) invalid.push(entry);
    else origins.add(origin);
  }
  return { any: entries.includes("*"), origins, invalid };
}

/** The Access-Control-Allow-Origin value for a request from `origin`, or undefined: no grant. */
export function corsGrant(
  origin: string | undefined,
  allowed: AllowedOrigins | undefined,
): string | undefined {
  if (origin === undefined || allowed === undefined) return undefined;
  if (allowed.any) return "*";
  const canonical = canonicalOrigin(origin);
  return canonical !== undefined && canonical === origin && allowed.origins.has(canonical)
    ? origin
    : undefined;
}
