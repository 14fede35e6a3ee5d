/**
 * POST …/retention (read scope): the retention grid as JSON, or as a CSV / JSON Lines export of one
 * row per cohort and period (`?format=` or Accept).
 */
import type { Static } from "@sinclair/typebox";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { ErrorResponse } from "../../api/v1alpha1/query.js";
import { RetentionRequest, RetentionResponse } from "../../api/v1alpha1/retention.js";
import { retentionTable } from "../analytics/retention-grid.js";
import type { RetentionService } from "../analytics/retention-service.js";
import { exportFormatOf } from "../export/export-format.js";
import { sendExport } from "../export/export-reply.js";
import { authorizeFor } from "./authorize.js";
import { errorStatuses, NamespaceParams, QueryQuerystring } from "./route-schemas.js";

const errorResponses = Object.fromEntries(
  Object.keys(errorStatuses).map((status) => [status, ErrorResponse]),
);

export const retentionRoute = {
  method: "POST",
  url: "/api/v1/namespaces/:namespace/retention",
  summary:
    "Cohorts of entities by the period of their start event, and how many come back with a return event in each of the N periods after.",
  operationId: "retention",
  schema: {
    params: NamespaceParams,
    querystring: QueryQuerystring,
    body: RetentionRequest,
    response: { 200: RetentionResponse, ...errorResponses },
  },
} as const;

type RetentionHttpRequest = FastifyRequest<{
  Params: Static<typeof NamespaceParams>;
  Querystring: Static<typeof QueryQuerystring>;
  Body: RetentionRequest;
}>;

export function retentionRoutes(service: RetentionService, rowCap: number): FastifyPluginAsync {
  return async (scope) => {
    scope.route({
      ...retentionRoute,
      preParsing: authorizeFor("read", "Reading"),
      handler: async (request: RetentionHttpRequest, reply) => {
        const format = exportFormatOf(request.headers.accept, request.query.format);
        const answer = await service.retention(request.params.namespace, request.body, {
          explainOnly: request.query.explain === "true" && format === "json",
          bypassCache: /no-cache/i.test(String(request.headers["cache-control"] ?? "")),
        });
        if (format === "json") return answer;
        const stem = `retention-${answer.explain.source.name}`;
        return sendExport(reply, format, stem, retentionTable(answer.cohorts), rowCap);
      },
    });
  };
}
