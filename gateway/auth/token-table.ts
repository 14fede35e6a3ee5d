/**
 * Bearer tokens and what each may do, from the token Secrets (pure). A Secret holds `token`,
 * `namespaces` (comma list, or `*`) and optionally `scopes` (comma list of `read` and `write`; without
 * it `read`, so every token made before scopes existed stays read-only). The table is keyed by the
 * token's SHA-256 digest, so no plain token is kept; a Map lookup of a digest leaks nothing useful
 * through timing.
 */
import { createHash } from "node:crypto";
import type { ErrorResponse } from "../../api/v1alpha1/query.js";
import type { SecretRef } from "../settings.js";

/** read: the query API; write: sending events to the collector. */
export const tokenScopes = ["read", "write"] as const;
export type TokenScope = (typeof tokenScopes)[number];

export interface Grant {
  /** The Secret's namespace/name: the token's name in logs, metrics and the rate limit. */
  readonly identity: string;
  readonly namespaces: "*" | ReadonlySet<string>;
  readonly scopes: ReadonlySet<TokenScope>;
}

export type TokenTable = ReadonlyMap<string, Grant>;

export interface TokenSecret {
  readonly ref: SecretRef;
  /** The Secret's `data` (base64 values); undefined when the Secret does not exist. */
  readonly data: Readonly<Record<string, string>> | undefined;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function tokenDigest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

function decoded(data: Readonly<Record<string, string>>, key: string): string | undefined {
  const value = data[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8").trim();
}

/** The table, and what is wrong with the Secrets it skipped (no Secret's values in the messages). */
export function buildTokenTable(secrets: Iterable<TokenSecret>): { table: TokenTable; problems: string[] } {
  const table = new Map<string, Grant>();
  const problems: string[] = [];
  for (const { ref, data } of secrets) {
    const identity = `${ref.namespace}/${ref.name}`;
    if (data === undefined) {
      problems.push(`Secret ${identity} does not exist`);
      continue;
    }
    const token = decoded(data, "token");
    const namespaces = decoded(data, "namespaces");
    if (token === undefined || token === "" || namespaces === undefined) {
      problems.push(`Secret ${identity}: needs the keys "token" (non-empty) and "namespaces"`);
      continue;
    }
    let scope: Grant["namespaces"];
    if (namespaces === "*") scope = "*";
    else {
      const list = namespaces.split(",").map((n) => n.trim());
      const bad = list.filter((n) => !dnsLabel.test(n));
      if (bad.length > 0) {
        problems.push(
          `Secret ${identity}: "namespaces" must be * or a comma list of namespace names; not names: ${bad.map((b) => JSON.stringify(b)).join(", ")}`,
        );
        continue;
      }
      scope = new Set(list);
    }
    const scopes = parseScopes(decoded(data, "scopes"));
    if (!Array.isArray(scopes)) {
      problems.push(`Secret ${identity}: ${scopes.problem}`);
      continue;
    }
    const digest = tokenDigest(token);
    const other = table.get(digest);
    if (other !== undefined) {
      // One token, two scopes: which applies would be arbitrary, so neither does.
      problems.push(`Secrets ${other.identity} and ${identity} hold the same token; both are ignored`);
      table.delete(digest);
      continue;
    }
    table.set(digest, { identity, namespaces: scope, scopes: new Set(scopes) });
  }
  return { table, problems };
}

const isScope = (s: string): s is TokenScope => (tokenScopes as readonly string[]).includes(s);

/** The `scopes` key: absent or empty means read only. */
function parseScopes(text: string | undefined): TokenScope[] | { problem: string } {
  if (text === undefined || text === "") return ["read"];
  const list = text.split(",").map((s) => s.trim());
  const bad = list.filter((s) => !isScope(s));
  if (bad.length > 0)
    return {
      problem: `"scopes" must be a comma list of ${tokenScopes.join(", ")}; not scopes: ${bad.map((b) => JSON.stringify(b)).join(", ")}`,
    };
  return list.filter(isScope);
}

export type Authentication =
  | { readonly kind: "authenticated"; readonly grant: Grant }
  | { readonly kind: "unauthenticated"; readonly reason: "missing" | "malformed" | "unknown" };

export function authenticate(table: TokenTable, authorization: string | undefined): Authentication {
  if (authorization === undefined || authorization === "")
    return { kind: "unauthenticated", reason: "missing" };
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (match?.[1] === undefined) return { kind: "unauthenticated", reason: "malformed" };
  const grant = table.get(tokenDigest(match[1]));
  return grant === undefined
    ? { kind: "unauthenticated", reason: "unknown" }
    : { kind: "authenticated", grant };
}

export function mayRead(grant: Grant, namespace: string): boolean {
  return grant.namespaces === "*" || grant.namespaces.has(namespace);
}

export function hasScope(grant: Grant, scope: TokenScope): boolean {
  return grant.scopes.has(scope);
}

/** 403 for a token without the scope an operation needs, naming it and the scopes the token has. */
export function missingScopeBody(grant: Grant, scope: TokenScope, operation: string): ErrorResponse {
  const has = tokenScopes.filter((s) => grant.scopes.has(s));
  return {
    error: "MissingScope",
    message: `${operation} needs a token with the "${scope}" scope; this token has: ${has.join(", ")} (the token Secret's "scopes" key).`,
    field: "Authorization",
  };
}

export function unauthenticatedBody(reason: "missing" | "malformed" | "unknown"): ErrorResponse {
  const message = {
    missing: "This API needs a bearer token: send `Authorization: Bearer <token>`.",
    malformed: "The Authorization header must be `Bearer <token>`.",
    unknown: "The bearer token is not one this gateway knows (revoked, rotated, or mistyped).",
  }[reason];
  return { error: "Unauthenticated", message, field: "Authorization" };
}

export function forbiddenBody(grant: Grant, namespace: string): ErrorResponse {
  const allowed = grant.namespaces === "*" ? undefined : [...grant.namespaces].sort();
  return {
    error: "Forbidden",
    message: `This token may not read namespace ${namespace}${allowed === undefined ? "" : `; it may read: ${allowed.join(", ")}`}.`,
    field: "namespace",
    ...(allowed === undefined ? {} : { allowed }),
  };
}
