/**
 * The sessions API (issue 14): sessions rebuilt from a pipeline's raw events, from a session id field
 * or from an inactivity gap, with their count, durations, bounce rate, events per session, entry and
 * exit pages, over time and by a dimension. Every figure is defined in the schema's descriptions.
 */
import { type Static, Type } from "@sinclair/typebox";
import { QueryExplain, QueryFilter, queryGranularities, TimeRange } from "./query.js";
import { Duration, Identifier, ObjectName } from "./schema-kit.js";
import { Segment } from "./segment.js";

export const SessionsRequest = Type.Object(
  {
    pipeline: Type.Optional(
      ObjectName("The pipeline whose raw events are read; optional when the namespace has one."),
    ),
    entity: Type.Optional(
      Identifier(
        "Who a session belongs to (gap sessions are per entity; segments filter by it); default the pipeline's user_id field. Events with an empty or null value are ignored.",
      ),
    ),
    sessionField: Type.Optional(
      Identifier(
        "A field holding a session id: a session is every event with the same id (events without one are ignored). Absent: sessions come from the inactivity gap.",
      ),
    ),
    gap: Type.Optional(
      Duration(
        "Without sessionField: an entity's next event at least `gap` after its previous one starts a new session (as the runtime's session windows). Default: the gap of the pipeline's first session window, else 30m.",
      ),
    ),
    filter: Type.Optional(Type.Ref(QueryFilter, { description: "Only events matching it make sessions." })),
    urlField: Identifier(
      "The page of an event, for entry and exit pages and single_page_view bounces; default url.",
      { default: "url" },
    ),
    bounce: Type.Union([Type.Literal("single_event"), Type.Literal("single_page_view")], {
      default: "single_event",
      description:
        "single_event: a bounce is a session of exactly one event; single_page_view: a session with at most one event matching `pageView` (its other events are not page views).",
    }),
    pageView: Type.Optional(
      Type.Ref(QueryFilter, {
        description:
          "What a page view is, for bounce single_page_view; default {op: eq, field: type, value: page_view}.",
      }),
    ),
    granularity: Type.Union(
      queryGranularities.map((g) => Type.Literal(g)),
      { default: "1d", description: "Buckets of overTime, by session start; none: no overTime." },
    ),
    dimension: Type.Optional(
      Identifier("byDimension groups sessions by this field's value on the session's first event."),
    ),
    top: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 10,
      description: "Rows of entryPages, exitPages and byDimension (most sessions first, then by value).",
    }),
    timeRange: Type.Union(TimeRange.anyOf, {
      description: "Only events in the range make sessions: a session crossing an edge is cut there.",
    }),
    timezone: Type.String({
      default: "UTC",
      maxLength: 64,
      description: "IANA timezone of overTime's buckets.",
    }),
    segment: Type.Optional(Segment),
  },
  { additionalProperties: false, description: "A sessions question over a pipeline's raw events." },
);
export type SessionsRequest = Static<typeof SessionsRequest>;

export const SessionStats = Type.Object({
  sessions: Type.Integer({ minimum: 0, description: "Sessions." }),
  events: Type.Integer({ minimum: 0, description: "Events in them." }),
  bounces: Type.Integer({ minimum: 0, description: "Sessions that bounced (see `bounce`)." }),
  averageDurationSeconds: Type.Union([Type.Number(), Type.Null()], {
    description:
      "Mean of (last event time − first event time); a one-event session lasts 0 s. null: no sessions.",
  }),
  medianDurationSeconds: Type.Union([Type.Number(), Type.Null()], {
    description: "Median duration: the middle one, or the mean of the two middle ones.",
  }),
  bounceRate: Type.Union([Type.Number(), Type.Null()], { description: "bounces / sessions (0..1)." }),
  eventsPerSession: Type.Union([Type.Number(), Type.Null()], { description: "events / sessions." }),
});
export type SessionStats = Static<typeof SessionStats>;

const PageCount = Type.Object({
  url: Type.Union([Type.String(), Type.Null()], {
    description:
      "The url field of the session's first (entry) or last (exit) event that has one; null: none has.",
  }),
  sessions: Type.Integer({ minimum: 0 }),
});

export const SessionsResponse = Type.Object({
  summary: SessionStats,
  entryPages: Type.Array(PageCount),
  exitPages: Type.Array(PageCount),
  overTime: Type.Array(
    Type.Composite([Type.Object({ time: Type.String({ format: "date-time" }) }), SessionStats]),
    {
      description: "Per bucket of the session's start, buckets without sessions left out.",
    },
  ),
  byDimension: Type.Array(
    Type.Composite([
      Type.Object({ value: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]) }),
      SessionStats,
    ]),
  ),
  gapSeconds: Type.Union([Type.Number(), Type.Null()], {
    description: "The gap used; null with sessionField.",
  }),
  explain: QueryExplain,
});
export type SessionsResponse = Static<typeof SessionsResponse>;
