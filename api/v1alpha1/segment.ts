/**
 * Segments (Plausible's has_done / has_not_done): "entities who did X at least N times in period P", or
 * who did not. One schema for every analytics request (query, funnel, retention, sessions); the entity is
 * the request's entity field (the pipeline's `user_id` by default). Also the query API's `compare`.
 */
import { type Static, Type } from "@sinclair/typebox";
import { QueryExplain, QueryFilter, QueryRequest, QueryResponse, ResultValue, TimeRange } from "./query.js";

export const Segment = Type.Object(
  {
    op: Type.Union([Type.Literal("has_done"), Type.Literal("has_not_done")], {
      description:
        "has_done: only entities with at least `atLeast` matching events in the segment's range; has_not_done: only entities without (fewer than `atLeast`).",
    }),
    event: Type.Ref(QueryFilter, { description: "Which events count, as a query filter." }),
    // No schema default: ajv ignores defaults inside the compare union, so the code applies 1.
    atLeast: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description: "How many matching events make an entity 'have done' it (default 1).",
      }),
    ),
    timeRange: Type.Optional(
      Type.Union(TimeRange.anyOf, {
        description: "The range the events are counted in; default the request's time range.",
      }),
    ),
  },
  { additionalProperties: false, description: "A filter on entities by what they did." },
);
export type Segment = Static<typeof Segment>;

export const QueryCompare = Type.Union(
  [
    Type.Object(
      {
        segments: Type.Array(Segment, {
          minItems: 1,
          maxItems: 8,
          description: "The same query once per segment (each in place of the request's own segment).",
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        previousPeriod: Type.Literal(true, {
          description:
            "The same query over the period of equal length just before the range; rows are matched by dimensions and by time shifted by the period's length.",
        }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "Compare the answer across segments or with the previous period." },
);
export type QueryCompare = Static<typeof QueryCompare>;

/** The query API's body: a query (as Dashboards and alerts embed it) plus a segment and a comparison. */
export const QueryApiRequest = Type.Object(
  {
    ...QueryRequest.properties,
    segment: Type.Optional(Segment),
    compare: Type.Optional(QueryCompare),
  },
  {
    additionalProperties: false,
    description:
      "A question to a pipeline's data. A segment keeps the events of the entities (the pipeline's user_id) it selects; it needs the raw table, which rollups lack.",
  },
);
export type QueryApiRequest = Static<typeof QueryApiRequest>;

const Row = Type.Record(Type.String(), ResultValue);

/** With `?explain=true` nothing runs, so a comparison has no rows: it says how its own query would run. */
const comparisonExplain = Type.Unsafe<QueryExplain>({
  ...QueryExplain,
  description: "Only with ?explain=true: how this comparison's query would run (its rows are then empty).",
});

export const QueryComparison = Type.Union([
  Type.Object({
    kind: Type.Literal("segments"),
    results: Type.Array(
      Type.Object({ segment: Segment, rows: Type.Array(Row), explain: Type.Optional(comparisonExplain) }),
      { description: "The query's rows per segment, in the order asked (same columns)." },
    ),
  }),
  Type.Object({
    kind: Type.Literal("previousPeriod"),
    range: Type.Object({
      from: Type.String({ format: "date-time" }),
      to: Type.String({ format: "date-time" }),
    }),
    explain: Type.Optional(comparisonExplain),
    rows: Type.Array(
      Type.Object({
        key: Row,
        current: Type.Union([Row, Type.Null()]),
        previous: Type.Union([Row, Type.Null()]),
        changePercent: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()]), {
          description:
            "Per metric column: (current − previous) / previous × 100; null when either is missing or previous is 0.",
        }),
      }),
      {
        description:
          "Rows matched by dimensions and by time minus the period's length: the current rows in order, then rows only the previous period has.",
      },
    ),
  }),
]);
export type QueryComparison = Static<typeof QueryComparison>;

export const QueryApiResponse = Type.Object({
  ...QueryResponse.properties,
  comparison: Type.Optional(QueryComparison),
});
export type QueryApiResponse = Static<typeof QueryApiResponse>;
