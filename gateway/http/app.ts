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
import type { RetentionService } from "../analytics/retention-service.js";
import type { SessionsService } from "../analytics/sessions-service.js";
import { type Authentication, authenticate, type TokenTable } from "../auth/token-table.js";
import type { Collector } from "../collect/collector.js";
import { exportFormatOf } from "../export/export-format.js";
import { sendExport } from "../export/export-reply.js";
import { defaultExportRowCap } from "../export/export-stream.js";
import type { QueryExporter } from "../export/query-export.js";
import type { Logger } from "../logger.js";
import type { QueryService } from "../query/query-service.js";
import type { StreamHub } from "../stream/stream-hub.js";
import type { ResourceLister } from "../ui/resource-lister.js";
import type { UiAssets } from "../ui/ui-assets.js";
import { authorizeFor } from "./authorize.js";
import type { BrowserBundle } from "./browser-bundle.js";
import { collectRoutes } from "./collect-route.js";
import { errorReply, RateLimited } from "./error-reply.js";
import { funnelRoutes } from "./funnel-route.js";
import { buildOpenApiDocument } from "./openapi.js";
import { retentionRoutes } from "./retention-route.js";
import {
  type NamespaceParams,
  noCacheRequested,
  openApiPath,
  type QueryQuerystring,
  queryRoute,
  resourcesRoute,
  sourcesRoute,
} from "./route-schemas.js";
import { sessionsRoutes } from "./sessions-route.js";
import { streamRoutes } from "./stream-route.js";
import { trackerScriptRoute } from "./tracker-route.js";
import { uiRoutes } from "./ui-routes.js";

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
  /** `GET /tracker.js` is served when given (main.ts bundles gateway/tracker/web/ at start). */
  readonly trackerScript?: BrowserBundle;
  /** Retention, sessions and the exports of every answer are served when given. */
  readonly analytics?: {
    readonly retention: RetentionService;
    readonly sessions: SessionsService;
    readonly exportQuery: QueryExporter;
    /** Rows an export may hold (default 300,000). */
    readonly exportRowCap?: number;
  };
  /** The status page's resource list (GET …/resources) is served when given. */
  readonly resources?: ResourceLister;
  /** The web UI's files under /ui/ are served when given. */
  readonly ui?: UiAssets;
  /** The live stream's route is served when given. */
  readonly stream?: StreamHub;
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
  const exportRowCap = deps.analytics?.exportRowCap ?? defaultExportRowCap;
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
      reply: FastifyReply,
    ) => {
      // An export (CSV or JSON Lines) streams the whole answer, up to the row cap; see gateway/export.
      const format = exportFormatOf(request.headers.accept, request.query.format);
      if (format !== "json" && deps.analytics !== undefined) {
        const table = await deps.analytics.exportQuery(request.params.namespace, request.body, exportRowCap);
        const stem = `query-${request.body.pipeline ?? request.params.namespace}`;
        return sendExport(reply, format, stem, table, exportRowCap);
      }
      return deps.service.query(request.params.namespace, request.body, {
        explainOnly: request.query.explain === "true",
        bypassCache: noCacheRequested(request.headers["cache-control"]),
      });
    },
  });
  if (deps.collector !== undefined) await app.register(collectRoutes(deps.collector, deps.tokens));
  if (deps.trackerScript !== undefined) await app.register(trackerScriptRoute(deps.trackerScript));
  if (deps.analytics !== undefined) {
    await app.register(retentionRoutes(deps.analytics.retention, exportRowCap));
    await app.register(sessionsRoutes(deps.analytics.sessions, exportRowCap));
  }
  const resources = deps.resources;
  if (resources !== undefined)
    app.route({
      ...resourcesRoute,
      preParsing: authorize,
      handler: async (request: NamespaceRequest) => resources.list(request.params.namespace),
    });
  if (deps.ui !== undefined) await app.register(uiRoutes(deps.ui));
  if (deps.stream !== undefined) await app.register(streamRoutes(deps.stream));
  if (deps.funnel !== undefined) await app.register(funnelRoutes(deps.funnel));
  const openApi = buildOpenApiDocument();
  app.get(openApiPath, async () => openApi);
  return app;
}
export type GatewayApp = Awaited<ReturnType<typeof buildApp>>;
