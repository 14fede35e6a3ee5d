import { type Static, Type } from "@sinclair/typebox";
import { AggregationList, FilterList } from "./aggregation.js";
import { rollupDefaults as defaults } from "./defaults.js";
import { Conditions, celRules, Duration, Identifier, ObjectName, ObservedGeneration } from "./schema-kit.js";

/** Granularities a rollup may have; each divides a day, so cascades (minute → hour → day) line up. */
export const granularities = ["1m", "5m", "10m", "15m", "30m", "1h", "6h", "12h", "1d"] as const;
export type Granularity = (typeof granularities)[number];

/** Milliseconds of each granularity (all divide a day, so UTC days split evenly). */
export const granularityMs: { readonly [G in Granularity]: number } = {
  "1m": 60_000,
  "5m": 300_000,
  "10m": 600_000,
  "15m": 900_000,
  "30m": 1_800_000,
  "1h": 3_600_000,
  "6h": 21_600_000,
  "12h": 43_200_000,
  "1d": 86_400_000,
};

export const RollupSpec = Type.Object(
  {
    source: Type.Object(
      {
        kind: Type.Union([Type.Literal("Pipeline"), Type.Literal("Rollup")], {
          description: "Pipeline: read its raw table. Rollup: cascade from a finer rollup.",
        }),
        name: ObjectName("Name of the source in this namespace."),
      },
      { description: "What the rollup aggregates." },
    ),
    granularity: Type.Union(
      granularities.map((g) => Type.Literal(g)),
      { description: "Time bucket of each row: 1m, 5m, 10m, 15m, 30m, 1h, 6h, 12h or 1d." },
    ),
    dimensions: Type.Array(Identifier("A field of the source."), {
      description: "Fields rows are grouped by, besides the time bucket.",
      maxItems: 16,
      default: defaults.dimensions,
      "x-kubernetes-list-type": "set",
    }),
    metrics: AggregationList("What each row holds; stored as mergeable aggregate states."),
    filter: FilterList("Only events matching every condition are aggregated."),
    retentionDays: Type.Optional(
      Type.Integer({
        description: "Rows older than this many days are dropped (table TTL).",
        minimum: 1,
        maximum: 36500,
      }),
    ),
    backfill: Type.Boolean({
      description: "Fill the rollup from data already in the source when it is created or changed.",
      default: defaults.backfill,
    }),
    cacheTtl: Duration("How long the gateway caches query results over this rollup.", {
      default: defaults.cacheTtl,
    }),
    deletionPolicy: Type.Union([Type.Literal("Retain"), Type.Literal("Delete")], {
      description:
        "On delete: Retain keeps the table and its data (the view is dropped, so it stops changing); Delete drops both.",
      default: defaults.deletionPolicy,
    }),
  },
  {
    description: "A ClickHouse pre-aggregation: a materialized view into an AggregatingMergeTree table.",
    ...celRules({
      rule: "self.source.kind != 'Rollup' || self.granularity != '1m'",
      message: "a cascaded rollup must be coarser than its source; 1m is the finest granularity",
      fieldPath: ".granularity",
    }),
  },
);
export type RollupSpec = Static<typeof RollupSpec>;

export const RollupStatus = Type.Object(
  {
    observedGeneration: ObservedGeneration(),
    conditions: Conditions(),
    database: Type.Optional(Type.String({ description: "Database of the rollup's table." })),
    table: Type.Optional(Type.String({ description: "The table queries read (the serving version)." })),
    view: Type.Optional(Type.String({ description: "The materialized view feeding the serving table." })),
    servingVersion: Type.Optional(
      Type.Integer({ description: "Version of the definition that serves queries.", minimum: 1 }),
    ),
    ddlHash: Type.Optional(Type.String({ description: "Hash of the DDL applied for the serving version." })),
    granularity: Type.Optional(Type.String({ description: "Granularity of the serving version." })),
    connectionSecret: Type.Optional(
      Type.String({
        description:
          "The Secret (in this namespace) through which the rollup's ClickHouse objects were created: the source pipeline's. Deletion uses it, so it does not need the source to exist.",
      }),
    ),
    migration: Type.Optional(
      Type.Object(
        {
          version: Type.Integer({ description: "The version being built.", minimum: 1 }),
          database: Type.Optional(Type.String({ description: "Database of the version being built." })),
          definitionHash: Type.String({ description: "Hash of the definition being built." }),
          cutoff: Type.String({
            description:
              "Rows inserted before this instant are backfilled; from it on the new view takes them.",
            format: "date-time",
          }),
          phase: Type.Union([Type.Literal("Created"), Type.Literal("Filled")], {
            description:
              "Created: new table and view exist; Filled: backfill staged, partitions being moved in.",
          }),
        },
        {
          description:
            "A new version being built beside the serving one; queries switch when it is complete.",
        },
      ),
    ),
  },
  { description: "Observed state of the rollup." },
);
export type RollupStatus = Static<typeof RollupStatus>;
