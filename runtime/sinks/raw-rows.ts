/**
 * Rows of a pipeline's raw table in RowBinary (pure): the declared fields in spec order, then the
 * provenance columns the runtime fills (`_topic`, `_partition`, `_offset`); `_inserted_at` takes its
 * DEFAULT. The column list goes into the INSERT so the bytes never depend on the table's column order.
 */
import { provenanceColumns } from "../../operator/clickhouse/raw-table-ddl.js";
import { quoteIdentifier } from "../../operator/clickhouse/sql.js";
import type { FieldDef, MessageOrigin, Row } from "../decode/row.js";
import { encoderFor, type RowBinaryWriter, type ValueEncoder } from "./row-binary.js";

export interface RawRowEncoder {
  /** `(`a`, `b`, ..., `_topic`, `_partition`, `_offset`)` for the INSERT statement. */
  readonly columnList: string;
  /** Appends one row; `row` must hold every declared field (see FieldMapper.complete). */
  encode(writer: RowBinaryWriter, row: Row, origin: MessageOrigin): void;
}

/** The provenance columns written per row, in the order `encode` writes them. */
const filledByRuntime = ["_topic", "_partition", "_offset"] as const;
for (const name of filledByRuntime) {
  if (!provenanceColumns.some((c) => c.name === name)) throw new Error(`raw table has no ${name} column`);
}

export function compileRawRowEncoder(fields: readonly FieldDef[]): RawRowEncoder {
  const encoders: { readonly name: string; readonly encode: ValueEncoder }[] = fields.map((f) => ({
    name: f.name,
    encode: encoderFor(f.type, f.nullable),
  }));
  const columns = [...fields.map((f) => f.name), ...filledByRuntime];
  return {
    columnList: `(${columns.map((c) => quoteIdentifier(c, "raw table column")).join(", ")})`,
    encode(writer, row, origin) {
      for (const field of encoders) {
        const value = row[field.name];
        if (value === undefined) throw new TypeError(`raw row: field ${field.name} is missing`);
        field.encode(writer, value);
      }
      writer.string(origin.topic);
      writer.uint32(origin.partition);
      writer.int64(origin.offset);
    },
  };
}
