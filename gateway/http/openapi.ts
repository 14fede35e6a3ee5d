/**
 * The OpenAPI 3.1 document, rendered from the route table's TypeBox schemas (pure). The server serves
 * it; hack/generate-openapi.ts commits it as gateway/openapi.json, and a test keeps the two equal.
 */
import { FunnelRequest, FunnelResponse } from "../../api/v1alpha1/funnel.js";
import { ErrorResponse, QueryFilter, SourcesResponse } from "../../api/v1alpha1/query.js";
import { QueryApiRequest, QueryApiResponse } from "../../api/v1alpha1/segment.js";
import { DashboardSnapshot } from "../../api/v1alpha1/stream.js";
import { ResourcesResponse } from "../ui/resources-response.js";
import { funnelRoute } from "./funnel-route.js";
import { retentionRoute } from "./retention-route.js";
import {
  apiRoutes,
  CollectAccepted,
  CollectBatch,
  CollectEnvelope,
  CollectErrorResponse,
  type CollectParams,
  collectErrorStatuses,
  collectRoute,
  errorStatuses,
  type NamespaceParams,
  type QueryQuerystring,
  type StreamQuerystring,
} from "./route-schemas.js";
import { sessionsRoute } from "./sessions-route.js";

/** Every route the document describes: the query API's and the analytics routes'. */
export const documentedRoutes = [...apiRoutes, funnelRoute, retentionRoute, sessionsRoute] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const components = {
  QueryRequest: QueryApiRequest,
  QueryResponse: QueryApiResponse,
  FunnelRequest,
  FunnelResponse,
  SourcesResponse,
  ResourcesResponse,
  ErrorResponse,
  QueryFilter,
  CollectAccepted,
  CollectErrorResponse,
  DashboardSnapshot,
} as const;

/** Plain JSON (TypeBox's symbol keys dropped), `$ref: "QueryFilter"` pointed at the component, no `$id`. */
function toOpenApi(schema: unknown): Json {
  const plain = JSON.parse(JSON.stringify(schema)) as Json;
  const walk = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== "object") return node;
    const out: { [key: string]: Json } = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$id") continue;
      out[key] =
        key === "$ref" && typeof value === "string" && value in components
          ? `#/components/schemas/${value}`
          : walk(value);
    }
    return out;
  };
  return walk(plain);
}

const ref = (name: keyof typeof components) => ({ $ref: `#/components/schemas/${name}` });
const componentOf = new Map<unknown, keyof typeof components>(
  Object.entries(components).map(([name, schema]) => [schema, name as keyof typeof components]),
);
const bodySchema = (schema: unknown): Json => {
  const name = componentOf.get(schema);
  return name === undefined ? toOpenApi(schema) : ref(name);
};

function parameters(
  inPath: "path" | "query",
  schema: typeof NamespaceParams | typeof QueryQuerystring | typeof CollectParams | typeof StreamQuerystring,
): Json[] {
  const required = new Set<string>(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, property]) => {
    const plain = toOpenApi(property) as { [key: string]: Json };
    const { description, ...rest } = plain;
    return {
      name,
      in: inPath,
      required: inPath === "path" || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

export function buildOpenApiDocument(): Json {
  const paths: { [path: string]: { [method: string]: Json } } = {};
  for (const route of documentedRoutes) {
    const path = route.url.replace(/:([a-zA-Z]+)/g, "{$1}");
    const schema: {
      params: typeof NamespaceParams;
      querystring?: typeof QueryQuerystring | typeof StreamQuerystring;
      body?: unknown;
      response: Record<number, unknown>;
    } = route.schema;
    const produces = "produces" in route ? route.produces : "application/json";
    const responses: { [status: string]: Json } = {
      200: {
        description:
          produces === "application/json"
            ? "OK"
            : "An event stream; each `snapshot` event's data is the schema below, as JSON.",
        content: {
          [produces]: { schema: bodySchema(schema.response[200]) },
          // Exports (?format=csv|jsonl or Accept): the answer's rows, streamed; see gateway/README.md.
          ...(route.method === "POST"
            ? {
                "text/csv": { schema: { type: "string" } },
                "application/x-ndjson": { schema: { type: "string" } },
              }
            : {}),
        },
        ...(route.method === "POST"
          ? {
              headers: {
                "x-tally-row-cap": {
                  description: "Exports: the most rows written; a cut export ends with a line saying so.",
                  schema: { type: "integer" },
                },
              },
            }
          : {}),
      },
    };
    for (const [status, description] of Object.entries(errorStatuses)) {
      responses[status] = {
        description,
        ...(status === "401" ? { headers: { "WWW-Authenticate": { schema: { type: "string" } } } } : {}),
        ...(status === "429"
          ? { headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } } }
          : {}),
        content: { "application/json": { schema: ref("ErrorResponse") } },
      };
    }
    paths[path] = {
      ...paths[path],
      [route.method.toLowerCase()]: {
        operationId: route.operationId,
        summary: route.summary,
        security: [{ bearer: [] }],
        parameters: [
          ...parameters("path", schema.params),
          ...(schema.querystring === undefined ? [] : parameters("query", schema.querystring)),
          ...(route.operationId === "query"
            ? [
                {
                  name: "Cache-Control",
                  in: "header",
                  required: false,
                  description:
                    "no-cache: run the query even if a cached answer exists, then refresh the cache.",
                  schema: { type: "string" },
                },
              ]
            : []),
          ...(produces === "text/event-stream"
            ? [
                {
                  name: "Last-Event-ID",
                  in: "header",
                  required: false,
                  description:
                    "The id of the last snapshot received: the current snapshot is sent only if it differs.",
                  schema: { type: "string" },
                },
              ]
            : []),
        ],
        ...(schema.body === undefined
          ? {}
          : {
              requestBody: {
                required: true,
                content: { "application/json": { schema: bodySchema(schema.body) } },
              },
            }),
        responses,
      },
    };
  }
  paths[collectRoute.url.replace(/:([a-zA-Z]+)/g, "{$1}")] = { post: collectOperation() };
  return {
    openapi: "3.1.0",
    info: {
      title: "Tally gateway",
      version: "v1",
      description:
        "Queries over the data Tally's pipelines compute, routed to the best rollup, with an explain.",
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "A token from one of the gateway's token Secrets, scoped to namespaces.",
        },
      },
      schemas: Object.fromEntries(
        Object.entries(components).map(([name, schema]) => [name, toOpenApi(schema)]),
      ),
    },
  };
}

/** The collector's operation: 202 when Kafka acknowledged, its own refusals, two body forms. */
function collectOperation(): Json {
  const responses: { [status: string]: Json } = {
    202: {
      description: "Accepted: the brokers acknowledged every event.",
      content: { "application/json": { schema: ref("CollectAccepted") } },
    },
  };
  for (const [status, description] of Object.entries(collectErrorStatuses))
    responses[status] = {
      description,
      ...(status === "429" || status === "503"
        ? { headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } } }
        : {}),
      content: { "application/json": { schema: ref("CollectErrorResponse") } },
    };
  return {
    operationId: collectRoute.operationId,
    summary: collectRoute.summary,
    description:
      "With application/json the token is the Authorization header's; with text/plain the body is an envelope carrying the token (no preflight, what navigator.sendBeacon sends). Either way the token needs the write scope. The preflight OPTIONS needs no token; CORS is granted to the origins of the Pipeline's tally.dev/collector-origins annotation.",
    security: [{ bearer: [] }, {}],
    parameters: parameters("path", collectRoute.schema.params),
    requestBody: {
      required: true,
      content: {
        "application/json": { schema: toOpenApi(CollectBatch) },
        "text/plain": { schema: toOpenApi(CollectEnvelope) },
      },
    },
    responses,
  };
}

/** The committed file's text: JSON.stringify's layout (generated, so biome.json leaves it alone). */
export function renderOpenApiJson(document: Json): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
