/**
 * Rows of a pipeline's raw table as JSON lines (pure, see json-rows.ts): the declared fields in spec
 * order, then the provenance columns the runtime fills (`_topic`, `_partition`, `_offset`);
 * `_inserted_at` takes its DEFAULT. The column list goes into the INSERT as well.
 */
import { provenanceColumns } from "../../operator/clickhouse/raw-table-ddl.js";
import { quoteIdentifier } from "../../operator/clickhouse/sql.js";
import type { FieldDef, MessageOrigin, Row } from "../decode/row.js";
import type { ChunkedWriter } from "./chunked-writer.js";
import { encoderFor, type ValueEncoder } from "./json-rows.js";

export interface RawRowEncoder {
  /** `(`a`, `b`, ..., `_topic`, `_partition`, `_offset`)` for the INSERT statement. */
  readonly columnList: string;
  /** Appends one row; `row` must hold every declared field (see FieldMapper.complete). */
  encode(writer: ChunkedWriter, row: Row, origin: MessageOrigin): void;
}

const filledByRuntime = ["_topic", "_partition", "_offset"] as const;
for (const name of filledByRuntime) {
  if (!provenanceColumns.some((c) => c.name === name)) throw new Error(`raw table has no ${name} column`);
}

export function compileRawRowEncoder(fields: readonly FieldDef[]): RawRowEncoder {
  const encoders: { readonly name: string; readonly prefix: string; readonly encode: ValueEncoder }[] =
    fields.map((f, i) => ({
      name: f.name,
      prefix: `${i === 0 ? "{" : ","}${JSON.stringify(f.name)}:`,
      encode: encoderFor(f.type, f.nullable),
    }));
  const columns = [...fields.map((f) => f.name), ...filledByRuntime];
  return {
    columnList: `(${columns.map((c) => quoteIdentifier(c, "raw table column")).join(", ")})`,
    encode(writer, row, origin) {
      let line = "";
      for (const field of encoders) {
        const value = row[field.name];
        if (value === undefined) throw new TypeError(`raw row: field ${field.name} is missing`);
        line += field.prefix + field.encode(value);
      }
      line += `,"_topic":${JSON.stringify(origin.topic)},"_partition":${origin.partition},"_offset":${origin.offset}}\n`;
      writer.write(line);
    },
  };
}
