import type { Aggregation } from "./aggregation.js";
import type { ColumnType } from "./pipeline.js";

/** What each declared column type allows, so renderers and validators agree on one table. */
interface ColumnTypeTraits {
  readonly numeric: boolean;
  readonly orderable: boolean;
  readonly temporal: boolean;
  /** The type with LowCardinality stripped: what aggregate states and casts use. */
  readonly base: string;
}

export const columnTypeTraits: { readonly [T in ColumnType]: ColumnTypeTraits } = {
  String: { numeric: false, orderable: true, temporal: false, base: "String" },
  "LowCardinality(String)": { numeric: false, orderable: true, temporal: false, base: "String" },
  UUID: { numeric: false, orderable: false, temporal: false, base: "UUID" },
  Bool: { numeric: false, orderable: false, temporal: false, base: "Bool" },
  Int32: { numeric: true, orderable: true, temporal: false, base: "Int32" },
  Int64: { numeric: true, orderable: true, temporal: false, base: "Int64" },
  UInt32: { numeric: true, orderable: true, temporal: false, base: "UInt32" },
  UInt64: { numeric: true, orderable: true, temporal: false, base: "UInt64" },
  Float32: { numeric: true, orderable: true, temporal: false, base: "Float32" },
  Float64: { numeric: true, orderable: true, temporal: false, base: "Float64" },
  Date: { numeric: false, orderable: true, temporal: true, base: "Date" },
  DateTime: { numeric: false, orderable: true, temporal: true, base: "DateTime" },
  "DateTime64(3)": { numeric: false, orderable: true, temporal: true, base: "DateTime64(3)" },
};

/** The column's full type: LowCardinality(Nullable(String)) nests the other way round from Nullable(T). */
export function renderColumnType(type: ColumnType, nullable: boolean): string {
  if (!nullable) return type;
  if (type === "LowCardinality(String)") return "LowCardinality(Nullable(String))";
  return `Nullable(${type})`;
}

/** Why `fn` cannot aggregate a field of `type`, or undefined when it can (uniq takes any type). */
export function aggregationFieldProblem(fn: Aggregation["fn"], type: ColumnType): string | undefined {
  const traits = columnTypeTraits[type];
  if ((fn === "sum" || fn === "avg" || fn === "quantiles") && !traits.numeric)
    return `${fn} needs a numeric field`;
  if ((fn === "min" || fn === "max") && !traits.numeric && !traits.temporal)
    return `${fn} needs a numeric or time field`;
  return undefined;
}
