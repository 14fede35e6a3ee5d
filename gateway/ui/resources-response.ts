/**
 * The answer of GET /api/v1/namespaces/{ns}/resources: the namespace's Pipelines, Rollups, AlertRules
 * and Dashboards as `kubectl describe` summarises them (the status fields that matter, the conditions
 * with when they began, a dashboard's panels). One TypeBox source for the route's schema, the OpenAPI
 * document and the web UI's types.
 */
import { type Static, Type } from "@sinclair/typebox";

export const resourceKinds = ["Pipeline", "Rollup", "AlertRule", "Dashboard"] as const;
export type ResourceKind = (typeof resourceKinds)[number];

const ResourceKindSchema = Type.Union(
  resourceKinds.map((k) => Type.Literal(k)),
  { description: "Pipeline, Rollup, AlertRule or Dashboard." },
);

export const ResourceCondition = Type.Object({
  type: Type.String({ description: "Ready, Degraded, Progressing, …" }),
  status: Type.Union([Type.Literal("True"), Type.Literal("False"), Type.Literal("Unknown")]),
  reason: Type.String(),
  message: Type.String(),
  since: Type.Optional(
    Type.String({ description: "lastTransitionTime: when the condition took its status." }),
  ),
});
export type ResourceCondition = Static<typeof ResourceCondition>;

export const ResourceSummary = Type.Object({
  kind: ResourceKindSchema,
  name: Type.String(),
  title: Type.Optional(Type.String({ description: "Dashboards: the title." })),
  created: Type.Optional(Type.String({ description: "metadata.creationTimestamp" })),
  ready: Type.Union([Type.Literal("True"), Type.Literal("False"), Type.Literal("Unknown")], {
    description: "The Ready condition's status (Unknown when there is none yet).",
  }),
  stale: Type.Boolean({
    description: "The status describes an older generation than the spec (the operator has not caught up).",
  }),
  details: Type.Array(Type.Object({ name: Type.String(), value: Type.String() }), {
    description: "The status fields kubectl get and describe show for the kind, in order.",
  }),
  conditions: Type.Array(ResourceCondition),
  panels: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        ready: Type.Boolean(),
        reason: Type.Optional(Type.String()),
        message: Type.Optional(Type.String()),
        field: Type.Optional(Type.String()),
      }),
      { description: "Dashboards: each panel's state." },
    ),
  ),
});
export type ResourceSummary = Static<typeof ResourceSummary>;

export const ResourcesResponse = Type.Object({
  namespace: Type.String(),
  resources: Type.Array(ResourceSummary, {
    description: "By kind (Pipeline, Rollup, AlertRule, Dashboard), then name.",
  }),
  unavailable: Type.Array(Type.Object({ kind: ResourceKindSchema, message: Type.String() }), {
    description: "Kinds the gateway could not list (e.g. its ServiceAccount may not), with why.",
  }),
});
export type ResourcesResponse = Static<typeof ResourcesResponse>;
