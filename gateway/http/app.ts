/**
 * The HTTP API: fastify with the route table's schemas (defaults applied, unknown fields refused),
 * bearer-token auth scoped per namespace, a per-token rate limit, and one ErrorResponse shape for
 * every refusal. Request logs are written here, one line per request with its namespace and the
 * token's identity; fastify's own request logging is off, so no header ever reaches the log.
 */
import rateLimit from "@fastify/rate-limit";
import type { Static } from "@sinclair/typebox";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest, LogController } from "fastify";
import { QueryFilter } from "../../api/v1alpha1/query.js";
import type { FunnelService } from "../analytics/funnel-service.js";
import { type Authentication, authenticate, type TokenTable } from "../auth/token-table.js";
import type { Collector } from "../collect/collector.js";
import type { Logger } from "../logger.js";
import type { QueryService } from "../query/query-service.js";
import { authorizeFor } from "./authorize.js";
import { collectRoutes } from "./collect-route.js";
import { errorReply, RateLimited } from "./error-reply.js";
import { funnelRoutes } from "./funnel-route.js";
import { buildOpenApiDocument } from "./openapi.js";
import {
  type NamespaceParams,
  noCacheRequested,
  openApiPath,
  type QueryQuerystring,
  queryRoute,
  sourcesRoute,
} from "./route-schemas.js";

declare module "fastify" {
  interface FastifyRequest {
    authentication: Authentication | null;
  }
}

export type RequestObserver = (sample: {
  route: string;
  method: string;
  status: number;
  seconds: number;
}) => void;

export interface AppDeps {
  readonly service: QueryService;
  /** The current token table (the token Secrets' watch replaces it on rotation). */
  readonly tokens: () => TokenTable;
  readonly rateLimitPerMinute: number;
  readonly logger: Logger;
  readonly observe?: RequestObserver;
  /** The event collector's route is served when given. */
  readonly collector?: Collector;
  /** POST …/funnel is served when given. */
  readonly funnel?: FunnelService;
}

type NamespaceRequest = FastifyRequest<{ Params: Static<typeof NamespaceParams> }>;

function namespaceOf(request: FastifyRequest): string | undefined {
  const params = request.params as Partial<Static<typeof NamespaceParams>> | undefined;
  return typeof params?.namespace === "string" ? params.namespace : undefined;
}

/**
 * The router refuses a path parameter it cannot decode, or one past maxParamLength (100), before any
 * route or schema runs. The namespace is the only path parameter: name it, in the one error shape.
 */
function routerError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const malformed = error.code === "FST_ERR_BAD_URL" || error.code === "FST_ERR_MAX_PARAM_LENGTH";
  const { status, body } = malformed
    ? {
        status: 400,
        body: {
          error: "InvalidRequest",
          message: "namespace must be a DNS label: at most 63 characters of a-z, 0-9 and -",
          field: "namespace",
        },
      }
    : errorReply(error);
  void reply.code(status).send(body);
}

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 256 * 1024,
    frameworkErrors: routerError,
    ajv: {
      customOptions: {
        useDefaults: true,
        removeAdditional: false,
        coerceTypes: false,
        allErrors: false,
        verbose: true,
      },
    },
  });
  app.addSchema(QueryFilter);
  app.decorateRequest("authentication", null);

  // Identify first (every route), so the rate limit can key on the token; refuse later, per route.
  app.addHook("onRequest", async (request) => {
    request.authentication = authenticate(deps.tokens(), request.headers.authorization);
  });
  await app.register(rateLimit, {
    global: true,
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) =>
      request.authentication?.kind === "authenticated"
        ? `token:${request.authentication.grant.identity}`
        : `address:${request.ip}`,
    errorResponseBuilder: (_request, context) => new RateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const seconds = reply.elapsedTime / 1000;
    deps.observe?.({ route, method: request.method, status: reply.statusCode, seconds });
    const authentication = request.authentication;
    request.log.info(
      {
        namespace: namespaceOf(request),
        route,
        method: request.method,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        token: authentication?.kind === "authenticated" ? authentication.grant.identity : undefined,
      },
      "request",
    );
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { status, body, fault } = errorReply(error);
    if (fault)
      request.log.error(
        { namespace: namespaceOf(request), route: request.routeOptions.url, err: error },
        "request failed",
      );
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send({ error: "NotFound", message: `No route ${request.method} ${request.url.split("?")[0]}.` }),
  );

  const authorize = authorizeFor("read", "Reading");
  app.route({
    ...sourcesRoute,
    preParsing: authorize,
    handler: async (request: NamespaceRequest) => deps.service.sources(request.params.namespace),
  });
  app.route({
    ...queryRoute,
    preParsing: authorize,
    handler: async (
      request: FastifyRequest<{
        Params: Static<typeof NamespaceParams>;
        Querystring: Static<typeof QueryQuerystring>;
        Body: Static<typeof queryRoute.schema.body>;
      }>,
    ) =>
      deps.service.query(request.params.namespace, request.body, {
        explainOnly: request.query.explain === "true",
        bypassCache: noCacheRequested(request.headers["cache-control"]),
      }),
  });
  if (deps.collector !== undefined) await app.register(collectRoutes(deps.collector));
  if (deps.funnel !== undefined) await app.register(funnelRoutes(deps.funnel));
  const openApi = buildOpenApiDocument();
  app.get(openApiPath, async () => openApi);
  return app;
}
export type GatewayApp = Awaited<ReturnType<typeof buildApp>>;
