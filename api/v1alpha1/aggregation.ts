import { type Static, Type } from "@sinclair/typebox";
import { celRules, Identifier } from "./schema-kit.js";

/** Aggregations shared by Pipeline windows and Rollup metrics: one definition, one meaning. */
const AggregationName = Identifier("Name of the result column (e.g. `page_views`).");

export const Aggregation = Type.Union(
  [
    Type.Object(
      {
        fn: Type.Literal("count", { description: "Number of events (takes no field)." }),
        name: AggregationName,
      },
      { description: "count: the number of events." },
    ),
    Type.Object(
      {
        fn: Type.Union([Type.Literal("sum"), Type.Literal("avg"), Type.Literal("min"), Type.Literal("max")], {
          description: "sum, avg, min or max of a numeric field.",
        }),
        name: AggregationName,
        field: Identifier(
          "The field aggregated; one of the source's fields. sum and avg need a numeric field; min and max a numeric or time field. Null values are skipped.",
        ),
      },
      { description: "A numeric aggregation of one field." },
    ),
    Type.Object(
      {
        fn: Type.Literal("uniq", { description: "Approximate distinct count (HyperLogLog)." }),
        name: AggregationName,
        field: Identifier(
          "The field whose distinct values are counted; one of the source's fields, of any type (strings included). Null values are not counted.",
        ),
      },
      { description: "uniq: approximate number of distinct values." },
    ),
    Type.Object(
      {
        fn: Type.Literal("quantiles", { description: "Approximate quantiles (a mergeable sketch)." }),
        name: AggregationName,
        field: Identifier(
          "The numeric field whose quantiles are estimated; one of the source's fields. Null values are skipped.",
        ),
        quantiles: Type.Array(
          Type.Number({
            description: "A quantile strictly between 0 and 1.",
            exclusiveMinimum: 0,
            exclusiveMaximum: 1,
          }),
          { description: "The quantiles reported, e.g. [0.5, 0.95, 0.99].", minItems: 1, maxItems: 8 },
        ),
      },
      { description: "quantiles of a numeric field." },
    ),
  ],
  { description: "An aggregation; `fn` selects which fields apply." },
);
export type Aggregation = Static<typeof Aggregation>;

export function AggregationList(description: string) {
  return Type.Array(Aggregation, {
    description,
    minItems: 1,
    maxItems: 32,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
  });
}

/** A typed filter condition; values are bound or quoted by type, never spliced as SQL. */
export const FilterCondition = Type.Object(
  {
    field: Identifier("The field compared; one of the source's fields."),
    operator: Type.Union(
      [
        Type.Literal("eq"),
        Type.Literal("ne"),
        Type.Literal("in"),
        Type.Literal("notIn"),
        Type.Literal("gt"),
        Type.Literal("gte"),
        Type.Literal("lt"),
        Type.Literal("lte"),
      ],
      { description: "Comparison: eq, ne, in, notIn, gt, gte, lt, lte." },
    ),
    values: Type.Array(
      Type.String({ description: "A value, parsed as the field's type.", maxLength: 1024 }),
      {
        description: "Values compared against; exactly one except for in and notIn.",
        minItems: 1,
        maxItems: 64,
      },
    ),
  },
  {
    description: "One condition; a list of them is ANDed.",
    ...celRules({
      rule: "self.operator in ['in', 'notIn'] || size(self.values) == 1",
      message: "operator eq, ne, gt, gte, lt and lte take exactly one value",
      fieldPath: ".values",
    }),
  },
);
export type FilterCondition = Static<typeof FilterCondition>;

export function FilterList(description: string) {
  return Type.Optional(Type.Array(FilterCondition, { description, maxItems: 16 }));
}
