import { describe, expect, it } from "vitest";
import {
  authenticate,
  buildTokenTable,
  forbiddenBody,
  hasScope,
  mayRead,
  missingScopeBody,
  type TokenSecret,
  tokenDigest,
} from "./token-table.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const secret = (namespace: string, name: string, data?: Record<string, string>): TokenSecret => ({
  ref: { namespace, name },
  data:
    data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

describe("token table", () => {
  const { table, problems } = buildTokenTable([
    secret("tally", "dashboards", { token: "tok-a\n", namespaces: "shop, web" }),
    secret("tally", "admin", { token: "tok-admin", namespaces: "*" }),
    secret("tally", "absent"),
    secret("tally", "no-scope", { token: "tok-b" }),
    secret("tally", "bad-scope", { token: "tok-c", namespaces: "shop,Web_1" }),
    secret("tally", "twin-1", { token: "tok-twin", namespaces: "shop" }),
    secret("tally", "twin-2", { token: "tok-twin", namespaces: "web" }),
    secret("tally", "writer", { token: "tok-w", namespaces: "shop", scopes: "read, write" }),
    secret("tally", "write-only", { token: "tok-wo", namespaces: "shop", scopes: "write" }),
    secret("tally", "bad-scopes", { token: "tok-bs", namespaces: "shop", scopes: "read,admin" }),
  ]);

  it("keys grants by the token's digest, never by the token", () => {
    expect([...table.keys()].sort()).toEqual(
      ["tok-a", "tok-admin", "tok-w", "tok-wo"].map((t) => tokenDigest(t)).sort(),
    );
    expect([...table.keys()].some((k) => k.includes("tok"))).toBe(false);
    expect(tokenDigest("tok-a")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("names each unusable Secret and why, without its values", () => {
    expect(problems).toEqual([
      "Secret tally/absent does not exist",
      'Secret tally/no-scope: needs the keys "token" (non-empty) and "namespaces"',
      'Secret tally/bad-scope: "namespaces" must be * or a comma list of namespace names; not names: "Web_1"',
      "Secrets tally/twin-1 and tally/twin-2 hold the same token; both are ignored",
      'Secret tally/bad-scopes: "scopes" must be a comma list of read, write; not scopes: "admin"',
    ]);
    expect(problems.join(" ")).not.toContain("tok-");
  });

  it("authenticates a known bearer token (trailing newline of the Secret ignored)", () => {
    const result = authenticate(table, "Bearer tok-a");
    expect(result).toEqual({
      kind: "authenticated",
      grant: {
        identity: "tally/dashboards",
        namespaces: new Set(["shop", "web"]),
        scopes: new Set(["read"]),
      },
    });
    expect(authenticate(table, "bearer  tok-admin").kind).toBe("authenticated");
  });

  it.each([
    [undefined, "missing"],
    ["", "missing"],
    ["Basic dXNlcjpwdw==", "malformed"],
    ["Bearer", "malformed"],
    ["Bearer a b", "malformed"],
    ["Bearer tok-b", "unknown"],
    ["Bearer tok-twin", "unknown"],
    ["Bearer TOK-A", "unknown"],
  ])("refuses %j as %s", (header, reason) => {
    expect(authenticate(table, header)).toEqual({ kind: "unauthenticated", reason });
  });

  it("scopes a token to its namespaces; * reads every namespace", () => {
    const read = new Set(["read" as const]);
    const scoped = { identity: "x/y", namespaces: new Set(["shop", "web"]), scopes: read };
    expect(mayRead(scoped, "shop")).toBe(true);
    expect(mayRead(scoped, "billing")).toBe(false);
    expect(mayRead({ identity: "x/z", namespaces: "*", scopes: read }, "billing")).toBe(true);
    expect(forbiddenBody(scoped, "billing")).toEqual({
      error: "Forbidden",
      message: "This token may not read namespace billing; it may read: shop, web.",
      field: "namespace",
      allowed: ["shop", "web"],
    });
  });

  it("reads the scopes key: none means read only (tokens made before scopes stay read-only)", () => {
    const grant = (token: string) => table.get(tokenDigest(token));
    expect(grant("tok-a")?.scopes).toEqual(new Set(["read"]));
    expect(grant("tok-w")?.scopes).toEqual(new Set(["read", "write"]));
    expect(grant("tok-wo")?.scopes).toEqual(new Set(["write"]));
    const readOnly = grant("tok-a");
    if (readOnly === undefined) throw new Error("tok-a missing");
    expect(hasScope(readOnly, "write")).toBe(false);
    expect(missingScopeBody(readOnly, "write", "Sending events")).toEqual({
      error: "MissingScope",
      message:
        'Sending events needs a token with the "write" scope; this token has: read (the token Secret\'s "scopes" key).',
      field: "Authorization",
    });
  });
});
