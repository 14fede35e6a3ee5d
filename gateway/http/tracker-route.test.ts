import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTokenTable } from "../auth/token-table.js";
import { createLogger } from "../logger.js";
import type { QueryService } from "../query/query-service.js";
import { buildApp, type GatewayApp } from "./app.js";
import { type BrowserBundle, bundleBrowserEntry } from "./browser-bundle.js";
import { trackerEntry } from "./tracker-route.js";

// GET /tracker.js in-process: the real bundle of gateway/tracker/web/, no token, revalidation by ETag.

const noQueries: QueryService = {
  sources: async () => ({ sources: [], unusable: [] }),
  query: async () => {
    throw new Error("not used");
  },
};

let app: GatewayApp;
let bundle: BrowserBundle;
beforeAll(async () => {
  bundle = await bundleBrowserEntry(trackerEntry, "iife");
  app = await buildApp({
    service: noQueries,
    tokens: () => buildTokenTable([]).table,
    rateLimitPerMinute: 1000,
    logger: createLogger(new Writable({ write: (_c, _e, done) => done() })),
    trackerScript: bundle,
  });
});
afterAll(async () => app.close());

describe("GET /tracker.js", () => {
  it("serves the bundled tracker without a token, cacheable, to any origin", async () => {
    const reply = await app.inject({ url: "/tracker.js", headers: { origin: "https://shop.example.com" } });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers).toMatchObject({
      "content-type": "text/javascript; charset=utf-8",
      etag: bundle.etag,
      "cache-control": "public, max-age=300",
      "access-control-allow-origin": "*",
      "x-content-type-options": "nosniff",
    });
    expect(reply.body).toBe(bundle.code);
    // An IIFE that defines window.tally, with no module syntax left for a classic <script>.
    expect(reply.body).toContain("tally");
    expect(reply.body).not.toMatch(/^\\s*(import|export)\\s/m);
  });

  it("answers 304 to a matching If-None-Match and the script to a stale one", async () => {
    const same = await app.inject({ url: "/tracker.js", headers: { "if-none-match": bundle.etag } });
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe("");
    const stale = await app.inject({ url: "/tracker.js", headers: { "if-none-match": '"old"' } });
    expect(stale.statusCode).toBe(200);
  });
});
