/**
 * The web UI's static files under /ui/. No token (they hold no data; the page asks for one and sends it
 * with every API call), but the global rate limit applies. A strict Content-Security-Policy: scripts and
 * styles only from this origin, no inline script, no framing, data calls only to this origin. The files
 * change only with a new gateway, so browsers revalidate (no-cache) and get 304 while the ETag holds.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { UiAsset, UiAssets } from "../ui/ui-assets.js";

export const uiContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function send(asset: UiAsset, request: FastifyRequest, reply: FastifyReply) {
  reply.headers({
    "content-security-policy": uiContentSecurityPolicy,
    "cache-control": "no-cache",
    etag: asset.etag,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
  return reply.type(asset.contentType).send(asset.body);
}

export function uiRoutes(assets: UiAssets): FastifyPluginAsync {
  return async (scope) => {
    scope.get("/ui", async (_request, reply) => reply.redirect("/ui/", 301));
    scope.get("/ui/", async (request, reply) => {
      const page = assets.get("");
      if (page === undefined) throw new Error("the web UI's page is missing from its assets");
      return send(page, request, reply);
    });
    scope.get<{ Params: { file: string } }>("/ui/:file", async (request, reply) => {
      const asset = assets.get(request.params.file);
      if (asset === undefined)
        return reply.code(404).send({
          error: "NotFound",
          message: `The web UI has no file ${request.params.file}.`,
          field: "path",
        });
      return send(asset, request, reply);
    });
  };
}
