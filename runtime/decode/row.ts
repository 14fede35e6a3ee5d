/**
 * The runtime's in-memory form of one event: the declared fields of the Pipeline, each coerced to its
 * ClickHouse column type and held in one canonical JavaScript representation. Every stage (CEL, dedup,
 * windows, the JSON row encoder) and the rebuild path (rows read back from ClickHouse) use this same
 * representation, so an event replayed from the raw table is indistinguishable from the original.
 *
 * | Column type                         | Value                                             |
 * | ----------------------------------- | ------------------------------------------------- |
 * | String, LowCardinality(String)      | string (well-formed UTF-16)                       |
 * | UUID                                | lowercase 8-4-4-4-12 hex string                   |
 * | Bool                                | boolean                                           |
 * | Int32, UInt32, Int64, UInt64        | number, a safe integer in the type's range        |
 * | Float32                             | number, rounded to float32 (Math.fround)          |
 * | Float64                             | finite number (never -0)                          |
 * | Date                                | epoch ms of UTC midnight                          |
 * | DateTime                            | epoch ms, whole seconds                           |
 * | DateTime64(3)                       | epoch ms                                          |
 * | Nullable(T)                         | null or T's value                                 |
 */
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";

export type RowValue = string | number | boolean | null;

/** Declared field name → value. Fields not yet set (e.g. filled by enrichment later) are absent. */
export type Row = Record<string, RowValue>;

export interface FieldDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

/** Where a message came from; carried into dead letters and the raw table's provenance columns. */
export interface MessageOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}
