/**
 * The collector's routes, in a fastify scope of their own: the body is taken as raw bytes (decoded as
 * the runtime decodes a message: UTF-8 refused when invalid, not replaced) with a 1 MiB limit, the
 * route needs the `write` scope, and CORS is granted per pipeline (see collect/cors.ts): the POST
 * carries the grant on every answer, refusals included, so a page can read why it was refused, and
 * the preflight OPTIONS is answered without a token (browsers send none with it).
 *
 * A text/plain body is the envelope `{"token", "events"}` (collect/collect-envelope.ts: what the browser
 * tracker and its beacons send): its token is checked once the body is read, by the same rules as the
 * Authorization header's, and it must have the write scope like any other request here.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { authenticate, type TokenTable } from "../auth/token-table.js";
import { collectLimits, tooLargeBody } from "../collect/collect-body.js";
import {
  type CollectEnvelope,
  isEnvelopeContentType,
  parseCollectEnvelope,
} from "../collect/collect-envelope.js";
import type { CollectOutcome } from "../collect/collect-outcome.js";
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

const isEnvelope = (body: unknown): body is CollectEnvelope =>
  typeof body === "object" && body !== null && !(body instanceof Buffer) && "kind" in body;

function answer(reply: FastifyReply, outcome: CollectOutcome): FastifyReply {
  if (outcome.kind === "accepted") return reply.code(202).send({ accepted: outcome.accepted });
  if (outcome.retryAfterSeconds !== undefined) reply.header("retry-after", String(outcome.retryAfterSeconds));
  return reply.code(outcome.status).send(outcome.body);
}

export function collectRoutes(collector: Collector, tokens: () => TokenTable): FastifyPluginAsync {
  const authorizeWrite = authorizeFor("write", "Sending events");
  return async (scope) => {
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser(
      "application/json",
      { parseAs: "buffer", bodyLimit: collectLimits.maxBodyBytes },
      (_request, body, done) => done(null, body),
    );
    scope.removeContentTypeParser("text/plain");
    scope.addContentTypeParser(
      "text/plain",
      { parseAs: "buffer", bodyLimit: collectLimits.maxBodyBytes },
      (_request, body, done) => done(null, parseCollectEnvelope(body as Buffer)),
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
      // The header's token is checked before the body is read; an envelope's once it is.
      preParsing: async (request: FastifyRequest, reply: FastifyReply) => {
        if (!isEnvelopeContentType(request.headers["content-type"])) return authorizeWrite(request, reply);
      },
      preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
        const envelope = request.body;
        if (!isEnvelope(envelope)) return;
        if (envelope.kind === "refused") return reply.code(envelope.status).send(envelope.body);
        request.authentication = authenticate(tokens(), `Bearer ${envelope.token}`);
        return authorizeWrite(request, reply);
      },
      handler: async (request: CollectRequest, reply) => {
        const { namespace, name } = request.params;
        if (isEnvelope(request.body) && request.body.kind === "envelope")
          return answer(reply, await collector.collectBody(namespace, name, request.body.body));
        if (!(request.body instanceof Buffer))
          return reply.code(400).send({
            error: "InvalidRequest",
            message: "Send the events as a JSON body with Content-Type: application/json.",
            field: "body",
          });
        return answer(reply, await collector.collect(namespace, name, request.body));
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
