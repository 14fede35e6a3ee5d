/**
 * `GET /tracker.js`: the browser tracker (gateway/tracker/web/), bundled once at start. It is public,
 * like any script a site embeds, so no token is asked for it (the write token the page passes to
 * `tally.init` is public by design, see gateway/README.md "Tracker"); the global rate limit still applies,
 * keyed by address. Cached for 5 minutes, then revalidated against the bundle's ETag (304), so a new
 * gateway version reaches pages within minutes without re-downloading an unchanged script. Any origin
 * may load it, including with `crossorigin` (CORS) and under a cross-origin resource policy.
 */
import type { FastifyPluginAsync } from "fastify";
import { type BrowserBundle, browserSourcePath } from "./browser-bundle.js";

export const trackerScriptPath = "/tracker.js";

/** The tracker's entry point, bundled as an IIFE that defines `window.tally`. */
export const trackerEntry = browserSourcePath("gateway/tracker/web/tracker.ts");

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === etag || t === `W/${etag}`;
  });
}

export function trackerScriptRoute(bundle: BrowserBundle): FastifyPluginAsync {
  return async (scope) => {
    scope.get(trackerScriptPath, async (request, reply) => {
      reply.headers({
        etag: bundle.etag,
        "cache-control": "public, max-age=300",
        "access-control-allow-origin": "*",
        "cross-origin-resource-policy": "cross-origin",
        "x-content-type-options": "nosniff",
      });
      if (etagMatches(request.headers["if-none-match"], bundle.etag)) return reply.code(304).send();
      return reply.type("text/javascript; charset=utf-8").send(bundle.code);
    });
  };
}
