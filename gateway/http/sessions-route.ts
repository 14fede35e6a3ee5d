/**
 * POST …/sessions (read scope): the sessions answer as JSON, or as a CSV / JSON Lines export of one
 * row per breakdown value (the summary, each bucket, dimension value, entry and exit page).
 */
import type { Static } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { ErrorResponse } from "../../api/v1alpha1/query.js";

import { SessionsRequest, SessionsResponse } from "../../api/v1alpha1/sessions.js";
import { sessionsTable } from "../analytics/sessions-answer.js";
import type { SessionsService } from "../analytics/sessions-service.js";
import { exportFormatOf } from "../export/export-format.js";
import { sendExport } from "../export/export-reply.js";
import { authorizeFor } from "./authorize.js";
import { errorStatuses, NamespaceParams, QueryQuerystring } from "./route-schemas.js";

const errorResponses = Object.fromEntries(
  Object.keys(errorStatuses).map((status) => [status, ErrorResponse]),
);

export const sessionsRoute = {
  method: "POST",
  url: "/api/v1/namespaces/:namespace/sessions",
  summary:
    "Sessions from a session id field or an inactivity gap: count, durations, bounce rate, events per session, entry and exit pages, over time and by a dimension.",
  operationId: "sessions",
  schema: {
    params: NamespaceParams,
    querystring: QueryQuerystring,
    body: SessionsRequest,
    response: { 200: SessionsResponse, ...errorResponses },
  },
} as const;

type SessionsHttpRequest = FastifyRequest<{
  Params: Static<typeof NamespaceParams>;
  Querystring: Static<typeof QueryQuerystring>;
  Body: SessionsRequest;
}>;

export function sessionsRoutes(service: SessionsService, rowCap: number): FastifyPluginAsync {
  return async (scope) => {
    scope.route({
      ...sessionsRoute,
      preParsing: authorizeFor("read", "Reading"),
      handler: async (request: SessionsHttpRequest, reply) => {
        const format = exportFormatOf(request.headers.accept, request.query.format);
        const answer = await service.sessions(request.params.namespace, request.body, {
          explainOnly: request.query.explain === "true" && format === "json",
          bypassCache: /no-cache/i.test(String(request.headers["cache-control"] ?? "")),
        });
        if (format === "json") return answer;
        const stem = `sessions-${answer.explain.source.name}`;
        return sendExport(reply, format, stem, sessionsTable(answer), rowCap);
      },
    });
  };
}
