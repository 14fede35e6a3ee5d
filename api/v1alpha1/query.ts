/**
 * The gateway's query language: one TypeBox source for the HTTP API's request and response schemas
 * (and its OpenAPI document), for the TypeScript types, and for the Dashboard panels and alert queries
 * that embed a query. Metrics are the sources' own (see contracts/catalogue) or an aggregation written
 * inline with the same definition a Rollup uses, so "the same metric" means the same thing everywhere.
 */
import { type Static, Type } from "@sinclair/typebox";
import { Aggregation } from "./aggregation.js";
import { queryDefaults as defaults } from "./defaults.js";
import { granularities } from "./rollup.js";
import { Identifier, ObjectName } from "./schema-kit.js";

const FieldName = Identifier("A field of the pipeline (a dimension of the source).");
const Scalar = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()], {
  description: "A value, checked against the field's type.",
});

const leafFilters = [
  Type.Object(
    { op: Type.Literal("eq"), field: FieldName, value: Scalar },
    { additionalProperties: false, description: "field equals value." },
  ),
  Type.Object(
    {
      op: Type.Literal("in"),
      field: FieldName,
      values: Type.Array(Scalar, { minItems: 1, maxItems: 1000 }),
    },
    { additionalProperties: false, description: "field is one of values." },
  ),
  Type.Object(
    { op: Type.Literal("contains"), field: FieldName, value: Type.String({ minLength: 1, maxLength: 1024 }) },
    { additionalProperties: false, description: "a string field contains value (case-sensitive)." },
  ),
  Type.Object(
    {
      op: Type.Literal("range"),
      field: FieldName,
      gt: Type.Optional(Scalar),
      gte: Type.Optional(Scalar),
      lt: Type.Optional(Scalar),
      lte: Type.Optional(Scalar),
    },
    { additionalProperties: false, description: "field within bounds (at least one of gt, gte, lt, lte)." },
  ),
] as const;

/** A filter tree: leaves compare one field; and/or/not combine them. */
export const QueryFilter = Type.Recursive(
  (Self) =>
    Type.Union([
      ...leafFilters,
      Type.Object(
        { op: Type.Literal("and"), filters: Type.Array(Self, { minItems: 1, maxItems: 32 }) },
        { additionalProperties: false, description: "every filter holds." },
      ),
      Type.Object(
        { op: Type.Literal("or"), filters: Type.Array(Self, { minItems: 1, maxItems: 32 }) },
        { additionalProperties: false, description: "at least one filter holds." },
      ),
      Type.Object(
        { op: Type.Literal("not"), filter: Self },
        { additionalProperties: false, description: "the filter does not hold." },
      ),
    ]),
  { $id: "QueryFilter", description: "A condition on the pipeline's fields." },
);
export type QueryFilter = Static<typeof QueryFilter>;
export type LeafFilter = Extract<QueryFilter, { field: string }>;

/** `last_15m`, `7d` (the same as `last_7d`), `today`, `this_week` …: resolved against now in the timezone. */
export const relativeRangePattern =
  "^((last_)?[1-9][0-9]{0,4}(m|h|d|w)|today|yesterday|this_week|last_week|this_month|last_month)$";

export const TimeRange = Type.Union(
  [
    Type.Object(
      {
        preset: Type.String({
          pattern: relativeRangePattern,
          description:
            "A relative range: last_<n><m|h|d|w> (or <n><unit>) ends now; today, yesterday, this_week, last_week, this_month, last_month are calendar ranges in the query's timezone (weeks start on Monday).",
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        from: Type.String({ format: "date-time", description: "Start, inclusive (RFC 3339)." }),
        to: Type.String({ format: "date-time", description: "End, exclusive (RFC 3339)." }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "The event-time range: a preset or absolute bounds." },
);
export type TimeRange = Static<typeof TimeRange>;

export const queryGranularities = [...granularities, "none"] as const;
export type QueryGranularity = (typeof queryGranularities)[number];

export const QueryRequest = Type.Object(
  {
    pipeline: Type.Optional(
      ObjectName("The pipeline whose data is queried; optional when the namespace has only one."),
    ),
    window: Type.Optional(
      Identifier("Query one of the pipeline's live windows (its window table) instead of events."),
    ),
    metrics: Type.Array(
      Type.Union([Identifier("A metric the source offers (see /sources)."), Aggregation], {
        description:
          "A metric name the source offers (see /sources), or an aggregation defined inline: {fn, name, field, quantiles} as in a Rollup.",
      }),
      {
        minItems: 1,
        maxItems: 32,
        description: "Metric names, or aggregations defined inline.",
      },
    ),
    dimensions: Type.Array(FieldName, {
      maxItems: 16,
      default: defaults.dimensions,
      description: "Fields the result is grouped by.",
    }),
    filter: Type.Optional(
      Type.Ref(QueryFilter, {
        description:
          "Only events matching it count: {op: eq|in|contains|range, field, value(s)/bounds}, or and/or (filters: [...]) and not (filter: {...}) combining them.",
      }),
    ),
    timeRange: TimeRange,
    granularity: Type.Union(
      queryGranularities.map((g) => Type.Literal(g)),
      {
        default: defaults.granularity,
        description: "Time bucket of each row; none: one row per dimension values.",
      },
    ),
    timezone: Type.String({
      default: defaults.timezone,
      maxLength: 64,
      description: "IANA timezone for presets and time buckets, e.g. Europe/Paris.",
    }),
    orderBy: Type.Array(
      Type.Object(
        {
          field: Identifier("A dimension, a metric result column, or `time`."),
          direction: Type.Union([Type.Literal("asc"), Type.Literal("desc")], {
            description: "asc or desc.",
            default: defaults["orderBy[*].direction"],
          }),
        },
        { additionalProperties: false, description: "One sort key." },
      ),
      { maxItems: 8, default: defaults.orderBy, description: "Sort order; time then dimensions by default." },
    ),
    limit: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: defaults.limit,
      description: "Rows returned.",
    }),
    offset: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: defaults.offset,
      description: "Rows skipped.",
    }),
  },
  { additionalProperties: false, description: "A question to a pipeline's data." },
);
export type QueryRequest = Static<typeof QueryRequest>;

const SourceRef = Type.Object({
  kind: Type.Union([Type.Literal("Rollup"), Type.Literal("Window"), Type.Literal("Pipeline")]),
  name: Type.String({ description: "The Rollup, the window or the Pipeline (raw table)." }),
  table: Type.String({ description: "The ClickHouse table read (database.table)." }),
});

export const QueryExplain = Type.Object(
  {
    source: SourceRef,
    segments: Type.Array(
      Type.Object({
        source: SourceRef,
        from: Type.String({ format: "date-time" }),
        to: Type.String({ format: "date-time" }),
      }),
      { description: "Which source answered which part of the range (edges of a non-aligned range)." },
    ),
    candidates: Type.Array(
      Type.Object({
        kind: Type.String(),
        name: Type.String(),
        chosen: Type.Boolean(),
        reason: Type.String({ description: "Why it was chosen or rejected." }),
      }),
      { description: "Every source considered." },
    ),
    range: Type.Object({
      from: Type.String({ format: "date-time" }),
      to: Type.String({ format: "date-time" }),
    }),
    approximate: Type.Array(Type.String(), { description: "Result columns that are estimates." }),
    rowsRead: Type.Optional(Type.Integer({ minimum: 0 })),
    elapsedMs: Type.Optional(Type.Number({ minimum: 0 })),
    cache: Type.Object({
      status: Type.Union([
        Type.Literal("hit"),
        Type.Literal("miss"),
        Type.Literal("stale"),
        Type.Literal("bypass"),
        Type.Literal("unavailable"),
      ]),
      ttlSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
      settled: Type.Boolean({ description: "The whole range is behind the pipeline's watermark." }),
    }),
    sql: Type.Optional(Type.String({ description: "The parameterized SQL (with ?explain=true)." })),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { description: "How the answer was produced." },
);
export type QueryExplain = Static<typeof QueryExplain>;

export const ResultValue = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
export type ResultValue = Static<typeof ResultValue>;

export const QueryResponse = Type.Object({
  columns: Type.Array(
    Type.Object({
      name: Type.String(),
      role: Type.Union([Type.Literal("time"), Type.Literal("dimension"), Type.Literal("metric")]),
      type: Type.String({ description: "ClickHouse type of the column." }),
    }),
  ),
  rows: Type.Array(Type.Record(Type.String(), ResultValue)),
  explain: QueryExplain,
});
export type QueryResponse = Static<typeof QueryResponse>;

/** A 4xx answer: what was wrong, where, and what would be accepted. */
export const ErrorResponse = Type.Object({
  error: Type.String({ description: "A machine-readable reason, e.g. UnknownMetric." }),
  message: Type.String({ description: "What is wrong and what to change." }),
  field: Type.Optional(Type.String({ description: "The request field at fault, e.g. metrics[2]." })),
  allowed: Type.Optional(Type.Array(Type.String(), { description: "The valid values." })),
});
export type ErrorResponse = Static<typeof ErrorResponse>;

const MetricOffer = Type.Object({
  name: Type.String(),
  fn: Type.String({ description: "count, sum, avg, min, max, uniq or quantiles." }),
  field: Type.Optional(Type.String()),
  quantiles: Type.Optional(Type.Array(Type.Number())),
  exact: Type.Boolean({ description: "false for estimates (uniq, quantiles)." }),
  columns: Type.Array(Type.String(), { description: "The result columns it produces." }),
});

/** What one source offers a query: the answer of GET /sources, and what the router chooses among. */
export const SourceDescription = Type.Object({
  kind: Type.Union([Type.Literal("Pipeline"), Type.Literal("Rollup"), Type.Literal("Window")]),
  name: Type.String({ description: "The Pipeline, the Rollup, or the window's name in its pipeline." }),
  pipeline: Type.String({ description: "The pipeline whose events it holds." }),
  ready: Type.Boolean(),
  reason: Type.Optional(Type.String({ description: "Why it is not ready." })),
  table: Type.Optional(Type.String({ description: "database.table" })),
  metrics: Type.Array(MetricOffer),
  dimensions: Type.Array(Type.String()),
  granularity: Type.Optional(Type.String({ description: "Rollups: the bucket; windows: size/slide/gap." })),
  retentionDays: Type.Optional(Type.Integer()),
  filter: Type.Optional(Type.Array(Type.Unknown(), { description: "Rollups: only events matching it." })),
  watermark: Type.Optional(
    Type.String({ format: "date-time", description: "Freshness: events before it are complete." }),
  ),
});
export type SourceDescription = Static<typeof SourceDescription>;

export const SourcesResponse = Type.Object({
  sources: Type.Array(SourceDescription),
  unusable: Type.Array(Type.Object({ kind: Type.String(), name: Type.String(), reason: Type.String() }), {
    description: "Objects no query can use (invalid spec, broken cascade), with why.",
  }),
});
export type SourcesResponse = Static<typeof SourcesResponse>;
