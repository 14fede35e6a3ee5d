/**
 * The funnel API's request and response (TypeBox: fastify validation, the OpenAPI document, the types).
 * A funnel follows each entity (the pipeline's `user_id` by default) through ordered steps within a
 * conversion window, over the pipeline's raw events in the time range.
 */
import { type Static, Type } from "@sinclair/typebox";
import { QueryExplain, QueryFilter, TimeRange } from "./query.js";
import { Identifier, ObjectName } from "./schema-kit.js";
import { Segment } from "./segment.js";

export const funnelOrders = ["strict", "ordered", "any"] as const;
export type FunnelOrder = (typeof funnelOrders)[number];

export const funnelDefaults = {
  conversionWindowSeconds: 14 * 86_400,
  order: "ordered",
  breakdownLimit: 25,
  histogramBins: 10,
  timezone: "UTC",
} as const;

const Step = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 128, description: "A label for the step in the answer." })),
    event: Type.Ref(QueryFilter, { description: "Which events are this step." }),
  },
  { additionalProperties: false },
);

const Exclusion = Type.Object(
  {
    event: Type.Ref(QueryFilter, { description: "The event that excludes." }),
    fromStep: Type.Integer({
      minimum: 0,
      maximum: 18,
      description: "Step index (0-based) it is counted after.",
    }),
    toStep: Type.Integer({
      minimum: 1,
      maximum: 19,
      description: "Step index (0-based) it is counted before.",
    }),
  },
  {
    additionalProperties: false,
    description:
      "An entity that does `event` after step `fromStep` and before the next step (up to step `toStep`) drops out there: its path stops at the step before the event.",
  },
);

const Breakdown = Type.Object(
  {
    field: Identifier("The field whose value splits the funnel."),
    attribution: Type.Union(
      [
        Type.Object({ type: Type.Literal("first_touch") }, { additionalProperties: false }),
        Type.Object(
          { type: Type.Literal("step"), step: Type.Integer({ minimum: 0, maximum: 19 }) },
          { additionalProperties: false },
        ),
      ],
      {
        default: { type: "first_touch" },
        description:
          "first_touch: the value on the entity's first event matching any step; step: the value on the event that is step `step` of the entity's path (entities that never reach it: null).",
      },
    ),
    limit: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: funnelDefaults.breakdownLimit,
      description:
        "Values kept (most entities at step 0 first, then by value); the rest are one 'Other' bucket.",
    }),
  },
  { additionalProperties: false },
);

export const FunnelRequest = Type.Object(
  {
    pipeline: Type.Optional(
      ObjectName("The pipeline whose raw events are read; optional when it is the only one."),
    ),
    steps: Type.Array(Step, { minItems: 2, maxItems: 20, description: "The steps, in order." }),
    timeRange: TimeRange,
    timezone: Type.String({
      default: funnelDefaults.timezone,
      maxLength: 64,
      description: "IANA timezone for calendar presets.",
    }),
    conversionWindowSeconds: Type.Integer({
      minimum: 1,
      maximum: 90 * 86_400,
      default: funnelDefaults.conversionWindowSeconds,
      description: "The last step must happen at most this long after the first (default 14 days).",
    }),
    order: Type.Union(
      funnelOrders.map((o) => Type.Literal(o)),
      {
        default: funnelDefaults.order,
        description:
          "strict: the steps in order with no other event of the entity between consecutive steps; ordered: the steps in order, other events allowed between; any: the steps in any order within the window (step k counts entities that did k distinct steps within one window).",
      },
    ),
    entity: Type.Optional(
      Identifier("The field that identifies who converts; default the pipeline's user_id."),
    ),
    exclusions: Type.Array(Exclusion, {
      maxItems: 10,
      default: [],
      description: "Exclusion steps (not with order any).",
    }),
    breakdown: Type.Optional(Breakdown),
    histogramBins: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: funnelDefaults.histogramBins,
      description: "Bins of the time-to-convert histogram.",
    }),
    segment: Type.Optional(Segment),
  },
  {
    additionalProperties: false,
    description:
      "A funnel over the events in the time range (a conversion completing after its end is not counted).",
  },
);
export type FunnelRequest = Static<typeof FunnelRequest>;

const StepResult = Type.Object({
  index: Type.Integer(),
  name: Type.String(),
  count: Type.Integer({ description: "Entities that reached this step." }),
  conversionFromFirst: Type.Union([Type.Number(), Type.Null()], { description: "count / step 0's count." }),
  conversionFromPrevious: Type.Union([Type.Number(), Type.Null()], {
    description: "count / previous step's count.",
  }),
  dropOff: Type.Integer({ description: "Previous step's count minus this one's (0 for step 0)." }),
});

const TimeToConvert = Type.Object({
  converted: Type.Integer({ description: "Entities that reached the last step." }),
  medianMs: Type.Union([Type.Number(), Type.Null()], {
    description:
      "Median time from step 0 to the last step (the mean of the two middle values for an even count).",
  }),
  histogram: Type.Object({
    edgesMs: Type.Array(Type.Integer(), { description: "bins + 1 edges; bin i is [edges[i], edges[i+1])." }),
    counts: Type.Array(Type.Integer()),
  }),
});

export const FunnelResponse = Type.Object({
  steps: Type.Array(StepResult),
  timeToConvert: TimeToConvert,
  breakdown: Type.Optional(
    Type.Array(
      Type.Object({
        value: Type.Union([Type.String(), Type.Null()], { description: "The field's value (null: none)." }),
        other: Type.Boolean({ description: "The bucket of every value beyond the limit." }),
        steps: Type.Array(StepResult),
        medianMs: Type.Union([Type.Number(), Type.Null()]),
      }),
    ),
  ),
  explain: Type.Object({
    source: Type.Object({ kind: Type.Literal("Pipeline"), name: Type.String(), table: Type.String() }),
    reason: Type.String({ description: "Why this table." }),
    entity: Type.String(),
    range: QueryExplain.properties.range,
    cache: QueryExplain.properties.cache,
    rowsRead: Type.Optional(Type.Integer({ minimum: 0 })),
    elapsedMs: Type.Optional(Type.Number({ minimum: 0 })),
    sql: Type.Optional(Type.String()),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});
export type FunnelResponse = Static<typeof FunnelResponse>;
export type FunnelStepResult = Static<typeof StepResult>;
