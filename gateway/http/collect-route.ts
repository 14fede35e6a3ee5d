/**
 * The collector's routes, in a fastify scope of their own: the body is taken as raw bytes (decoded as
 * the runtime decodes a message: UTF-8 refused when invalid, not replaced) with a 1 MiB limit, the
 * route needs the `write` scope, and CORS is granted per pipeline (see collect/cors.ts): the POST
 * carries the grant on every answer, refusals included, so a page can read why it was refused, and
 * the preflight OPTIONS is answered without a token (browsers send none with it).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { collectLimits, tooLargeBody } from "../collect/collect-body.js";
import type { Collector } from "../collect/collector.js";
import { corsGrant } from "../collect/cors.js";
import { authorizeFor } from "./authorize.js";
import { collectRoute } from "./route-schemas.js";

interface CollectRequestParams {
  readonly namespace: string;
  readonly name: string;
}

type CollectRequest = FastifyRequest<{ Params: CollectRequestParams; Body: unknown }>;

function grantOf(collector: Collector, request: FastifyRequest): string | undefined {
  const { namespace, name } = request.params as Partial<CollectRequestParams>;
  const origin = request.headers.origin;
  if (namespace === undefined || name === undefined || origin === undefined) return undefined;
  return corsGrant(origin, collector.origins(namespace, name));
}

export function collectRoutes(collector: Collector): FastifyPluginAsync {
  return async (scope) => {
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser(
      "application/json",
      { parseAs: "buffer", bodyLimit: collectLimits.maxBodyBytes },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler(async (error: { code?: string }, _request, reply: FastifyReply) => {
      if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") return reply.code(413).send(tooLargeBody());
      throw error; // the app's handler answers everything else
    });

    const cors = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      reply.header("vary", "Origin");
      const grant = grantOf(collector, request);
      if (grant !== undefined) reply.header("access-control-allow-origin", grant);
    };

    scope.route({
      ...collectRoute,
      bodyLimit: collectLimits.maxBodyBytes,
      onRequest: cors,
      preParsing: authorizeFor("write", "Sending events"),
      handler: async (request: CollectRequest, reply) => {
        if (!(request.body instanceof Buffer))
          return reply.code(400).send({
            error: "InvalidRequest",
            message: "Send the events as a JSON body with Content-Type: application/json.",
            field: "body",
          });
        const { namespace, name } = request.params;
        const outcome = await collector.collect(namespace, name, request.body);
        if (outcome.kind === "accepted") return reply.code(202).send({ accepted: outcome.accepted });
        if (outcome.retryAfterSeconds !== undefined)
          reply.header("retry-after", String(outcome.retryAfterSeconds));
        return reply.code(outcome.status).send(outcome.body);
      },
    });

    scope.route({
      method: "OPTIONS",
      url: collectRoute.url,
      handler: async (request, reply) => {
        reply.header("vary", "Origin");
        const grant = grantOf(collector, request);
        if (grant !== undefined)
          reply.headers({
            "access-control-allow-origin": grant,
            "access-control-allow-methods": "POST",
            "access-control-allow-headers": "authorization, content-type",
            "access-control-max-age": "600",
          });
        return reply.code(204).send();
      },
    });
  };
}
