import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTokenTable } from "../auth/token-table.js";
import { createLogger } from "../logger.js";
import type { QueryService } from "../query/query-service.js";
import { cachedResourceLister } from "../ui/resource-lister.js";
import { loadUiAssets } from "../ui/ui-assets.js";
import { buildApp, type GatewayApp } from "./app.js";

// The web UI's files (no token, strict CSP, ETag revalidation) and the status page's resource list
// (read scope, a short cache, a kind that cannot be listed reported beside the others) through fastify's inject.

const b64 = (s: string) => Buffer.from(s).toString("base64");
const shopToken = "shop-token-ui-1";
const { table } = buildTokenTable([
  { ref: { namespace: "tally", name: "shop" }, data: { token: b64(shopToken), namespaces: b64("shop") } },
]);
const unused: QueryService = {
  sources: async () => ({ sources: [], unusable: [] }),
  query: async () => {
    throw new Error("not used");
  },
};

const listCalls: string[] = [];
let now = 0;
const client = {
  async list<T>(type: { plural: string }, namespace?: string) {
    listCalls.push(`${type.plural}/${namespace}`);
    if (type.plural === "alertrules")
      throw new Error("GET /apis/tally.dev/v1alpha1/alertrules: 403 Forbidden");
    const items =
      type.plural === "dashboards"
        ? [{ metadata: { name: "clickstream" }, spec: { title: "Clickstream" } }]
        : [];
    return { metadata: {}, items: items as T[] };
  },
};

let app: GatewayApp;
beforeAll(async () => {
  app = await buildApp({
    service: unused,
    tokens: () => table,
    rateLimitPerMinute: 1000,
    logger: createLogger(new Writable({ write: (_c, _e, done) => done() })),
    resources: cachedResourceLister(client, { ttlMs: 2_000, now: () => now }),
    ui: await loadUiAssets(),
  });
});
afterAll(async () => app.close());

describe("web UI files", () => {
  it("serves the page without a token, with a CSP that allows no inline script and a revalidating cache", async () => {
    const page = await app.inject({ method: "GET", url: "/ui/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    // No inline script in the page: every <script> has a src.
    expect(page.body.match(/<script(?![^>]*\ssrc=)[^>]*>/g)).toBeNull();

    const script = await app.inject({ method: "GET", url: "/ui/app.js" });
    expect(script.statusCode).toBe(200);
    expect(script.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(script.body.length).toBeGreaterThan(10_000); // the bundle, uPlot included
    const again = await app.inject({
      method: "GET",
      url: "/ui/app.js",
      headers: { "if-none-match": String(script.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");

    const css = await app.inject({ method: "GET", url: "/ui/app.css" });
    expect(css.body).toContain(".uplot"); // uPlot's stylesheet, then ours
    expect(css.body).toContain(".panel");
  });

  it("redirects /ui to /ui/ and names a missing file", async () => {
    const bare = await app.inject({ method: "GET", url: "/ui" });
    expect(bare.statusCode).toBe(301);
    expect(bare.headers.location).toBe("/ui/");
    const missing = await app.inject({ method: "GET", url: "/ui/secret.json" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "NotFound", field: "path" });
  });
});

describe("GET /api/v1/namespaces/{ns}/resources", () => {
  const get = (token?: string, ns = "shop") =>
    app.inject({
      method: "GET",
      url: `/api/v1/namespaces/${ns}/resources`,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  it("needs a token for the namespace", async () => {
    expect((await get()).statusCode).toBe(401);
    expect((await get(shopToken, "other")).statusCode).toBe(403);
    expect(listCalls).toEqual([]);
  });

  it("lists the four kinds, reports the one it cannot list, and reuses the answer within the TTL", async () => {
    const first = await get(shopToken);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      namespace: "shop",
      resources: [
        {
          kind: "Dashboard",
          name: "clickstream",
          title: "Clickstream",
          ready: "Unknown",
          stale: false,
          details: [],
          conditions: [],
        },
      ],
      unavailable: [
        {
          kind: "AlertRule",
          message: "cannot list alertrules: GET /apis/tally.dev/v1alpha1/alertrules: 403 Forbidden",
        },
      ],
    });
    expect(listCalls.sort()).toEqual([
      "alertrules/shop",
      "dashboards/shop",
      "pipelines/shop",
      "rollups/shop",
    ]);
    now += 1_999;
    await get(shopToken);
    expect(listCalls).toHaveLength(4);
    now += 1;
    await get(shopToken);
    expect(listCalls).toHaveLength(8);
  });
});
