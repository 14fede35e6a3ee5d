/**
 * The Dashboard kind: a title and panels, each a query of the gateway's query language (the same
 * `QueryRequest` schema the HTTP API takes) or a pipeline's live window, a visualisation and a refresh
 * policy. The operator checks every panel against the namespace's sources and reports each one in the
 * status; the gateway serves the panels that check out.
 */
import { type Static, Type } from "@sinclair/typebox";
import { dashboardDefaults as defaults } from "./defaults.js";
import { QueryRequest } from "./query.js";
import { Conditions, celRules, Duration, Identifier, ObjectName, ObservedGeneration } from "./schema-kit.js";

export const visualizations = ["timeseries", "bar", "table", "stat", "topN"] as const;
export type Visualization = (typeof visualizations)[number];

const WindowSource = Type.Object(
  {
    pipeline: ObjectName("The Pipeline whose live window is shown."),
    window: Identifier("The window's name in the pipeline (one of its spec.windows[*].name)."),
    metrics: Type.Array(Identifier("An aggregation of the window, by its name."), {
      description: "The window's aggregations shown.",
      minItems: 1,
      maxItems: 32,
    }),
    dimensions: Type.Optional(
      Type.Array(Identifier("One of the window's groupBy fields."), {
        description: "The window's groupBy fields the rows are grouped by; all of them when left out.",
        maxItems: 16,
      }),
    ),
  },
  { description: "A pipeline's live window: its open instances as the runtime updates them." },
);

const PanelSource = Type.Union(
  [
    Type.Object(
      { query: QueryRequest },
      { description: "A query of the pipeline's events or window table." },
    ),
    Type.Object({ window: WindowSource }, { description: "A pipeline's live window." }),
  ],
  {
    description:
      "Where the panel's rows come from: `query` (the gateway's query language, as POST /query takes it) or `window` (a live window); exactly one.",
  },
);

const Refresh = Type.Object(
  {
    mode: Type.Union([Type.Literal("live"), Type.Literal("interval")], {
      description: "live: pushed when the underlying data changes. interval: re-read every `every`.",
      default: defaults["panels[*].refresh.mode"],
    }),
    every: Type.Optional(Duration("With mode interval: how often the panel is re-read (at least 1s).")),
  },
  {
    description: "When the panel is updated.",
    default: {},
    ...celRules(
      {
        rule: "(self.mode == 'interval') == has(self.every)",
        message: "every is required with mode interval and not allowed with mode live",
        fieldPath: ".every",
      },
      {
        rule: "!has(self.every) || duration(self.every) >= duration('1s')",
        message: "every must be at least 1s",
        fieldPath: ".every",
      },
    ),
  },
);

export const DashboardPanel = Type.Object(
  {
    name: Identifier("The panel's name, unique in the dashboard; the status reports panels by it."),
    title: Type.Optional(
      Type.String({ description: "Shown above the panel (default: the name).", maxLength: 256 }),
    ),
    visualization: Type.Union(
      visualizations.map((v) => Type.Literal(v)),
      {
        description:
          "timeseries (needs a time bucket: a granularity, or a window), bar, table, stat (one number per metric: no dimensions) or topN (the top dimension values by the first metric).",
      },
    ),
    source: PanelSource,
    refresh: Refresh,
    topN: Type.Optional(
      Type.Object(
        {
          limit: Type.Integer({
            description: "How many dimension values are shown.",
            minimum: 1,
            maximum: 100,
            default: defaults["panels[*].topN.limit"],
          }),
        },
        { description: "With visualization topN: how many values are ranked." },
      ),
    ),
  },
  {
    description: "One panel.",
    ...celRules({
      rule: "!has(self.topN) || self.visualization == 'topN'",
      message: "topN is only allowed with visualization topN",
      fieldPath: ".topN",
    }),
  },
);
export type DashboardPanel = Static<typeof DashboardPanel>;

export const maxPanels = 32;

export const DashboardSpec = Type.Object(
  {
    title: Type.String({ description: "The dashboard's title.", minLength: 1, maxLength: 256 }),
    description: Type.Optional(Type.String({ description: "What the dashboard is for.", maxLength: 4096 })),
    panels: Type.Array(DashboardPanel, {
      description: "The panels, in display order.",
      minItems: 1,
      maxItems: maxPanels,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    }),
  },
  { description: "A dashboard: panels over the namespace's pipelines, rollups and live windows." },
);
export type DashboardSpec = Static<typeof DashboardSpec>;

export const DashboardPanelStatus = Type.Object(
  {
    name: Identifier("The panel's name."),
    ready: Type.Boolean({
      description: "Whether the panel checks out against its sources and can be served.",
    }),
    reason: Type.Optional(
      Type.String({ description: "Why not ready, PascalCase (InvalidPanel, InvalidSpec).", maxLength: 128 }),
    ),
    message: Type.Optional(
      Type.String({ description: "What is wrong, each problem with its field path.", maxLength: 4096 }),
    ),
    field: Type.Optional(
      Type.String({
        description: "The first field at fault, e.g. spec.panels[2].source.query.metrics[1].",
        maxLength: 512,
      }),
    ),
  },
  { description: "One panel's state." },
);
export type DashboardPanelStatus = Static<typeof DashboardPanelStatus>;

export const DashboardStatus = Type.Object(
  {
    observedGeneration: ObservedGeneration(),
    conditions: Conditions(),
    readyPanels: Type.Optional(
      Type.String({
        description: "Ready panels of all, as kubectl get shows them (e.g. 3/4).",
        maxLength: 16,
      }),
    ),
    panels: Type.Optional(
      Type.Array(DashboardPanelStatus, {
        description: "Each panel's state, in spec order.",
        maxItems: maxPanels,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
      }),
    ),
  },
  { description: "Observed state of the dashboard." },
);
export type DashboardStatus = Static<typeof DashboardStatus>;
