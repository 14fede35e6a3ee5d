/**
 * POST /api/v1/namespaces/{ns}/funnel (read scope): the funnel over a pipeline's raw events. The body's
 * schema is api/v1alpha1/funnel.ts (defaults applied, unknown fields refused); `?explain=true` returns
 * the SQL without running it, `Cache-Control: no-cache` runs it again.
 */
import type { Static } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { FunnelRequest, FunnelResponse } from "../../api/v1alpha1/funnel.js";
import type { FunnelService } from "../analytics/funnel-service.js";
import { authorizeFor } from "./authorize.js";
import { errorResponses, NamespaceParams, noCacheRequested, QueryQuerystring } from "./route-schemas.js";

export const funnelRoute = {
  method: "POST",
  url: "/api/v1/namespaces/:namespace/funnel",
  summary:
    "Follow each entity through ordered steps within a conversion window: per-step counts, conversion, drop-off, time to convert, breakdown.",
  operationId: "funnel",
  schema: {
    params: NamespaceParams,
    querystring: QueryQuerystring,
    body: FunnelRequest,
    response: { 200: FunnelResponse, ...errorResponses },
  },
} as const;

type FunnelHttpRequest = FastifyRequest<{
  Params: Static<typeof NamespaceParams>;
  Querystring: Static<typeof QueryQuerystring>;
  Body: FunnelRequest;
}>;

export function funnelRoutes(service: FunnelService): FastifyPluginAsync {
  return async (scope) => {
    scope.route({
      ...funnelRoute,
      preParsing: authorizeFor("read", "Reading"),
      handler: async (request: FunnelHttpRequest) =>
        service.funnel(request.params.namespace, request.body, {
          explainOnly: request.query.explain === "true",
          bypassCache: noCacheRequested(request.headers["cache-control"]),
        }),
    });
  };
}
