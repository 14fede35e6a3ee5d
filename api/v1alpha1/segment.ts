/**
 * Segments (Plausible's has_done / has_not_done): "entities who did X at least N times in period P", or
 * who did not. One schema for every analytics request (query, funnel, retention, sessions); the entity is
 * the request's entity field (the pipeline's `user_id` by default). Also the query API's `compare`.
 */
import { type Static, Type } from "@sinclair/typebox";
import { QueryFilter, TimeRange } from "./query.js";

export const Segment = Type.Object(
  {
    op: Type.Union([Type.Literal("has_done"), Type.Literal("has_not_done")], {
      description:
        "has_done: only entities with at least `atLeast` matching events in the segment's range; has_not_done: only entities without (fewer than `atLeast`).",
    }),
    event: Type.Ref(QueryFilter, { description: "Which events count, as a query filter." }),
    atLeast: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1,
      description: "How many matching events make an entity 'have done' it.",
    }),
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
          description: "The same query once per segment (on top of the request's own segment, if any).",
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
