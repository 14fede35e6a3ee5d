/**
 * The four kinds of `tally.dev/v1alpha1`: names, schemas, printer columns and subresources.
 * `renderCrd` turns one into its CustomResourceDefinition; `crds/*.yaml` are generated from here.
 */
import type { TSchema } from "@sinclair/typebox";
import { AlertRuleSpec, AlertRuleStatus } from "./alert-rule.js";
import { DashboardSpec, DashboardStatus } from "./dashboard.js";
import { PipelineSpec, PipelineStatus } from "./pipeline.js";
import { RollupSpec, RollupStatus } from "./rollup.js";
import { type JsonSchema, renderStructuralSchema } from "./structural-schema.js";

export const group = "tally.dev";
const version = "v1alpha1";
export const apiVersion = `${group}/${version}`;

interface PrinterColumn {
  readonly name: string;
  readonly type: "string" | "integer" | "number" | "date";
  readonly jsonPath: string;
  readonly description: string;
  readonly priority?: number;
}

export interface ResourceDefinition {
  readonly kind: "Pipeline" | "Rollup" | "AlertRule" | "Dashboard";
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly description: string;
  readonly spec: TSchema;
  readonly status: TSchema;
  readonly printerColumns: readonly PrinterColumn[];
  readonly scale?: {
    readonly specReplicasPath: string;
    readonly statusReplicasPath: string;
    readonly labelSelectorPath: string;
  };
}

const readyColumn: PrinterColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: "Whether the resource is reconciled and working.",
};
const ageColumn: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since creation.",
};

export const resourceDefinitions: readonly ResourceDefinition[] = [
  {
    kind: "Pipeline",
    plural: "pipelines",
    singular: "pipeline",
    shortNames: ["tpl", "tpipe"],
    description:
      "A streaming pipeline: Kafka topics in, event-time windows, ClickHouse and Redis out, autoscaled on lag.",
    spec: PipelineSpec,
    status: PipelineStatus,
    printerColumns: [
      readyColumn,
      { name: "Replicas", type: "integer", jsonPath: ".status.replicas", description: "Runtime pods." },
      {
        name: "Desired",
        type: "integer",
        jsonPath: ".status.desiredReplicas",
        description: "Replicas the autoscaler wants.",
      },
      { name: "Lag", type: "integer", jsonPath: ".status.lag", description: "Consumer lag in messages." },
      ageColumn,
      {
        name: "Reason",
        type: "string",
        jsonPath: ".status.scaleReason",
        description: "Why the last scale decision was made.",
        priority: 1,
      },
    ],
    scale: {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    },
  },
  {
    kind: "Rollup",
    plural: "rollups",
    singular: "rollup",
    shortNames: ["trl"],
    description:
      "A ClickHouse pre-aggregation (materialized view and AggregatingMergeTree table) over a pipeline or another rollup.",
    spec: RollupSpec,
    status: RollupStatus,
    printerColumns: [
      readyColumn,
      { name: "Table", type: "string", jsonPath: ".status.table", description: "The table queries read." },
      { name: "Granularity", type: "string", jsonPath: ".spec.granularity", description: "Time bucket." },
      {
        name: "Version",
        type: "integer",
        jsonPath: ".status.servingVersion",
        description: "Serving version.",
        priority: 1,
      },
      ageColumn,
    ],
  },
  {
    kind: "AlertRule",
    plural: "alertrules",
    singular: "alertrule",
    shortNames: ["tar"],
    description: "An alert on a rollup metric or a live window, evaluated by the gateway.",
    spec: AlertRuleSpec,
    status: AlertRuleStatus,
    printerColumns: [
      {
        name: "State",
        type: "string",
        jsonPath: ".status.state",
        description: "Ok, Pending, Firing, NoData or Error.",
      },
      {
        name: "Severity",
        type: "string",
        jsonPath: ".spec.severity",
        description: "critical, warning or info.",
      },
      { name: "Since", type: "date", jsonPath: ".status.since", description: "When the state began." },
      ageColumn,
    ],
  },
  {
    kind: "Dashboard",
    plural: "dashboards",
    singular: "dashboard",
    shortNames: ["tdash"],
    description:
      "A dashboard: panels over the namespace's pipelines, rollups and live windows, checked by the operator and served by the gateway.",
    spec: DashboardSpec,
    status: DashboardStatus,
    printerColumns: [
      { name: "Title", type: "string", jsonPath: ".spec.title", description: "The dashboard's title." },
      {
        name: "Panels",
        type: "string",
        jsonPath: ".status.readyPanels",
        description: "Ready panels of all.",
      },
      readyColumn,
      ageColumn,
    ],
  },
];

/** The CustomResourceDefinition of one kind (pure). */
export function renderCrd(definition: ResourceDefinition): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${definition.plural}.${group}`,
      labels: { "app.kubernetes.io/part-of": "tally" },
    },
    spec: {
      group,
      scope: "Namespaced",
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: [...definition.shortNames],
        categories: ["tally", "all"],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: definition.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string", description: "APIVersion of this object." },
                kind: { type: "string", description: "Kind of this object." },
                metadata: { type: "object" },
                spec: renderStructuralSchema(definition.spec as unknown as JsonSchema, "spec"),
                status: renderStructuralSchema(definition.status as unknown as JsonSchema, "status"),
              },
            },
          },
          subresources: {
            status: {},
            ...(definition.scale ? { scale: { ...definition.scale } } : {}),
          },
          additionalPrinterColumns: definition.printerColumns.map((c) => ({ ...c })),
        },
      ],
    },
  };
}
