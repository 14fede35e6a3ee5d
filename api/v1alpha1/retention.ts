/**
 * The retention API (issue 14): cohorts of entities by the period of a start event, and how many of each
 * cohort come back with a return event in each following period. One TypeBox source for the HTTP
 * schema, the OpenAPI document and the TypeScript types. The segment filter is the shared shape of
 * the analytics endpoints (query, funnel, retention, sessions).
 */
import { type Static, Type } from "@sinclair/typebox";
import { QueryExplain, QueryFilter, TimeRange } from "./query.js";
import { Identifier, ObjectName } from "./schema-kit.js";
import { Segment } from "./segment.js";

export const retentionPeriods = ["hour", "day", "week", "month"] as const;
export type RetentionPeriod = (typeof retentionPeriods)[number];

export const RetentionRequest = Type.Object(
  {
    pipeline: Type.Optional(
      ObjectName("The pipeline whose raw events are read; optional when the namespace has one."),
    ),
    entity: Type.Optional(
      Identifier(
        "The field that identifies who is retained; default the pipeline's user_id field. Events with an empty or null value are ignored.",
      ),
    ),
    startEvent: Type.Optional(
      Type.Ref(QueryFilter, {
        description: "Events that put an entity in a cohort; absent: any event does.",
      }),
    ),
    returnEvent: Type.Optional(
      Type.Ref(QueryFilter, { description: "Events that count as coming back; absent: any event does." }),
    ),
    period: Type.Union(
      retentionPeriods.map((p) => Type.Literal(p)),
      {
        default: "day",
        description:
          "The cohort and return period, in the request's timezone: hour (absolute hours), day (local calendar days), week (Monday to Monday, local), month (local calendar months).",
      },
    ),
    periods: Type.Integer({
      minimum: 1,
      maximum: 60,
      default: 7,
      description: "N: returns are counted in the N periods after the cohort's period (columns 1..N).",
    }),
    mode: Type.Union([Type.Literal("recurring"), Type.Literal("first_time")], {
      default: "recurring",
      description:
        "recurring: an entity is in the cohort of every period in which it did a start event (it may be in several cohorts); first_time: only in the cohort of the period of its first start event ever (the earliest in the raw table, before the range included).",
    }),
    timeRange: Type.Union(TimeRange.anyOf, {
      description:
        "Which cohorts: every period from the one containing `from` to the one containing the last instant before `to` (the range is widened to whole periods). Returns are read up to N periods after the last cohort.",
    }),
    timezone: Type.String({ default: "UTC", maxLength: 64, description: "IANA timezone of the periods." }),
    segment: Type.Optional(Segment),
  },
  { additionalProperties: false, description: "A retention question over a pipeline's raw events." },
);
export type RetentionRequest = Static<typeof RetentionRequest>;

const RetentionCell = Type.Object({
  period: Type.Integer({ description: "k: 0 is the cohort's own period, 1..N the ones after it." }),
  entities: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description:
      "k = 0: the cohort's size; k ≥ 1: cohort entities with a return event in period cohort + k (each counted once however often it returned). null: that period has not started yet.",
  }),
  percent: Type.Union([Type.Number(), Type.Null()], {
    description:
      "100 × entities / cohort size, rounded to 2 decimals; null for an empty cohort or a period not started.",
  }),
});

export const RetentionResponse = Type.Object({
  period: Type.String(),
  mode: Type.String(),
  cohorts: Type.Array(
    Type.Object({
      start: Type.String({ format: "date-time", description: "The cohort period's first instant." }),
      size: Type.Integer({ minimum: 0, description: "Entities in the cohort." }),
      cells: Type.Array(RetentionCell, { description: "Periods 0..N." }),
    }),
    { description: "One per period of the range, in time order; empty cohorts included (size 0)." },
  ),
  explain: QueryExplain,
});
export type RetentionResponse = Static<typeof RetentionResponse>;
