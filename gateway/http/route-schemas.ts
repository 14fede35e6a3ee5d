/**
 * The API's routes as data: path, request and response schemas (the TypeBox schemas of
 * api/v1alpha1/query.ts). fastify validates with them and the OpenAPI document is rendered from them,
 * so the two cannot disagree.
 */
import { Type } from "@sinclair/typebox";
import { ErrorResponse, SourcesResponse } from "../../api/v1alpha1/query.js";
import { QueryApiRequest, QueryApiResponse } from "../../api/v1alpha1/segment.js";
import { DashboardSnapshot } from "../../api/v1alpha1/stream.js";
import { ResourcesResponse } from "../ui/resources-response.js";

export const NamespaceParams = Type.Object(
  {
    namespace: Type.String({
      pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
      maxLength: 63,
      description: "The Kubernetes namespace of the pipelines (a DNS label).",
    }),
  },
  { additionalProperties: false },
);

export const QueryQuerystring = Type.Object(
  {
    explain: Type.Optional(
      Type.Union([Type.Literal("true"), Type.Literal("false")], {
        description: "true: return the plan and the parameterized SQL without running it.",
      }),
    ),
    format: Type.Optional(
      Type.Union([Type.Literal("json"), Type.Literal("csv"), Type.Literal("jsonl")], {
        description:
          "csv or jsonl: the answer's rows as a streamed CSV or JSON Lines download (as Accept: text/csv or application/x-ndjson), at most the row cap (header x-tally-row-cap; a last line marks a cut answer).",
      }),
    ),
  },
  { additionalProperties: false },
);

/** Statuses every authenticated route may answer with an ErrorResponse, and what each means. */
export const errorStatuses = {
  400: "The request is invalid: `field` names what is wrong and `message` what is accepted.",
  401: "No bearer token, or one this gateway does not know.",
  403: "The token may not read this namespace.",
  404: "The namespace has no pipelines, or the source does not exist.",
  422: "Valid, but over a cost limit: `message` says which and how to narrow the query.",
  429: "Rate limit exceeded; retry after the Retry-After header's seconds.",
  500: "The gateway failed; nothing about the request was wrong.",
  503: "A backend (ClickHouse) is unavailable; retry later.",
} as const;

export const errorResponses = Object.fromEntries(
  Object.keys(errorStatuses).map((status) => [status, ErrorResponse]),
);

export const sourcesRoute = {
  method: "GET",
  url: "/api/v1/namespaces/:namespace/sources",
  summary: "The sources a namespace's pipelines offer: metrics, dimensions, granularity, freshness.",
  operationId: "listSources",
  schema: { params: NamespaceParams, response: { 200: SourcesResponse, ...errorResponses } },
} as const;

export const queryRoute = {
  method: "POST",
  url: "/api/v1/namespaces/:namespace/query",
  summary: "Answer a query from the best source that can answer it exactly, with how it was answered.",
  operationId: "query",
  schema: {
    params: NamespaceParams,
    querystring: QueryQuerystring,
    body: QueryApiRequest,
    response: { 200: QueryApiResponse, ...errorResponses },
  },
} as const;

export const resourcesRoute = {
  method: "GET",
  url: "/api/v1/namespaces/:namespace/resources",
  summary:
    "The namespace's Pipelines, Rollups, AlertRules and Dashboards with their status and conditions, as kubectl describe shows them (the web UI's status page).",
  operationId: "listResources",
  schema: { params: NamespaceParams, response: { 200: ResourcesResponse, ...errorResponses } },
} as const;

export const CollectParams = Type.Object(
  {
    namespace: NamespaceParams.properties.namespace,
    name: Type.String({
      pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
      maxLength: 253,
      description: "The Pipeline's name.",
    }),
  },
  { additionalProperties: false },
);

export const CollectAccepted = Type.Object({
  accepted: Type.Integer({ description: "Events the broker acknowledged (all of the request's)." }),
});

export const CollectErrorResponse = Type.Composite([
  ErrorResponse,
  Type.Object({
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          path: Type.String({ description: "events[i] and the JSON pointer inside the event." }),
          message: Type.String(),
        }),
        { description: "Every invalid event's problems (at most 100), when a batch is refused for them." },
      ),
    ),
  }),
]);

/**
 * The collector's request bodies, for the OpenAPI document only: the route reads the raw bytes itself
 * (collect/collect-body.ts, collect/collect-envelope.ts) and each event is checked against the
 * pipeline's own JSON Schema, which no static schema here can state.
 */
const CollectEvent = Type.Object(
  {},
  {
    additionalProperties: true,
    description: "One event, as the pipeline's spec.format.jsonSchema describes it.",
  },
);
export const CollectBatch = Type.Union(
  [CollectEvent, Type.Object({ events: Type.Array(CollectEvent, { minItems: 1, maxItems: 500 }) })],
  { description: "One event, or {events: [...]} (an object whose only key is events)." },
);
export const CollectEnvelope = Type.Object(
  {
    token: Type.String({ description: "A token with the write scope for the namespace." }),
    events: Type.Array(CollectEvent, { minItems: 1, maxItems: 500 }),
  },
  {
    additionalProperties: false,
    description:
      "The browser tracker's form (what navigator.sendBeacon can send: a CORS-simple text/plain POST without an Authorization header): the token travels in the body, never in the URL.",
  },
);

/** The collector's statuses beyond the query API's. */
export const collectErrorStatuses = {
  ...errorStatuses,
  403: "The token may not write to this namespace: it lacks the namespace or the write scope.",
  413: "The body is over 1 MiB or the batch over 500 events.",
  415: "The pipeline does not read JSON events, or the body is neither application/json nor text/plain (the envelope).",
  503: "Kafka did not acknowledge the events; retry after the Retry-After header's seconds.",
} as const;

export const collectRoute = {
  method: "POST",
  url: "/api/v1/namespaces/:namespace/pipelines/:name/events",
  summary:
    "Send one event or {events: [...]} (at most 500) to the pipeline's topic, each checked against its JSON Schema first; accepted once Kafka acknowledged.",
  operationId: "collectEvents",
  schema: {
    params: CollectParams,
    response: {
      202: CollectAccepted,
      400: CollectErrorResponse,
      401: CollectErrorResponse,
      403: CollectErrorResponse,
      404: CollectErrorResponse,
      413: CollectErrorResponse,
      415: CollectErrorResponse,
      422: CollectErrorResponse,
      429: CollectErrorResponse,
      500: CollectErrorResponse,
      503: CollectErrorResponse,
    } satisfies Record<202 | keyof typeof collectErrorStatuses, unknown>,
  },
} as const;

export const StreamQuerystring = Type.Object(
  {
    dashboard: Type.Optional(
      Type.String({
        pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        maxLength: 253,
        description: "The Dashboard to stream (exactly one of dashboard and query).",
      }),
    ),
    query: Type.Optional(
      Type.String({
        maxLength: 65_536,
        description: "One ad-hoc panel: a URL-encoded JSON QueryRequest, as POST /query takes it.",
      }),
    ),
    filter: Type.Optional(
      Type.String({
        maxLength: 65_536,
        description: "Drill-down: a URL-encoded JSON QueryFilter ANDed into every panel's own filter.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const streamRoute = {
  method: "GET",
  url: "/api/v1/namespaces/:namespace/stream",
  summary:
    "Server-Sent Events: a `snapshot` event (id: its version; data: a DashboardSnapshot) at once and whenever a panel's answer changes, a `: hb` comment when idle, an `error` event if the Dashboard goes away. Send Last-Event-ID to resume.",
  operationId: "stream",
  produces: "text/event-stream",
  schema: {
    params: NamespaceParams,
    querystring: StreamQuerystring,
    response: { 200: DashboardSnapshot, ...errorResponses },
  },
} as const;

export const apiRoutes = [sourcesRoute, queryRoute, resourcesRoute, streamRoute] as const;

/** `Cache-Control: no-cache` among the request's directives: run again, then refresh the cache. */
export function noCacheRequested(header: string | string[] | undefined): boolean {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return values.some((v) => v.split(",").some((d) => d.trim().toLowerCase() === "no-cache"));
}
export const openApiPath = "/openapi.json";
