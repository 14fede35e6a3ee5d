/**
 * Rows of a pipeline's raw table as JSON lines (pure, see json-rows.ts): the declared fields in spec
 * order, then the provenance columns the runtime fills (`_topic`, `_partition`, `_offset`);
 * `_inserted_at` takes its DEFAULT. The column list goes into the INSERT as well.
 */
import { provenanceColumns } from "../../contracts/clickhouse/raw-table-ddl.js";
import { quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import type { FieldDef, MessageOrigin, Row, RowValue } from "../decode/row.js";
import type { ChunkedWriter } from "./chunked-writer.js";
import { maxJsonBytes, type ValueWriter, valueWriterFor, writeBytes, writeNumber } from "./json-rows.js";

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

interface CompiledField {
  readonly name: string;
  /** `{"name":` or `,"name":`, UTF-8. */
  readonly prefix: Buffer;
  readonly write: ValueWriter;
}

/** `}` and a line feed. */
const ROW_END = Buffer.from("}\n");
/** Room for the offset: String(n) of any number is at most 25 characters. */
const MAX_OFFSET_BYTES = 32;

/**
 * `,"_topic":…,"_partition":…,"_offset":` for an origin, encoded once per topic and partition (a
 * processor passes the same ones with every row).
 */
class ProvenanceBytes {
  private topic: string | undefined;
  private partition = 0;
  private bytes = Buffer.alloc(0);

  of(origin: MessageOrigin): Buffer {
    if (origin.topic !== this.topic || origin.partition !== this.partition) {
      this.topic = origin.topic;
      this.partition = origin.partition;
      this.bytes = Buffer.from(
        `,"_topic":${JSON.stringify(origin.topic)},"_partition":${origin.partition},"_offset":`,
      );
    }
    return this.bytes;
  }
}

/**
 * Writes each row straight into the writer's chunk: the constant parts are encoded once, the values by
 * json-rows.ts writers. The row's room is reserved up front from an upper bound of its size, so no
 * write checks bounds and no row becomes a string first.
 */
export function compileRawRowEncoder(fields: readonly FieldDef[]): RawRowEncoder {
  const compiled: readonly CompiledField[] = fields.map((f, i) => ({
    name: f.name,
    prefix: Buffer.from(`${i === 0 ? "{" : ","}${JSON.stringify(f.name)}:`),
    write: valueWriterFor(f.type, f.nullable),
  }));
  const constantBytes = compiled.reduce((sum, f) => sum + f.prefix.length, ROW_END.length + MAX_OFFSET_BYTES);
  const columns = [...fields.map((f) => f.name), ...filledByRuntime];
  const provenance = new ProvenanceBytes();
  // The row's values in field order, looked up once while sizing it (reused: encoding is synchronous).
  const values: RowValue[] = [];

  /** Collects the row's values into `values` and returns an upper bound of its bytes but for the provenance columns. */
  function sizeRow(row: Row): number {
    let bytes = constantBytes;
    let i = 0;
    for (const { name } of compiled) {
      const value = row[name];
      if (value === undefined) throw new TypeError(`raw row: field ${name} is missing`);
      values[i++] = value;
      bytes += maxJsonBytes(value);
    }
    return bytes;
  }

  return {
    columnList: `(${columns.map((c) => quoteIdentifier(c, "raw table column")).join(", ")})`,
    encode(writer, row, origin) {
      const origins = provenance.of(origin);
      const out = writer.reserve(sizeRow(row) + origins.length);
      let at = writer.cursor;
      let i = 0;
      for (const field of compiled)
        at = field.write(out, writeBytes(out, at, field.prefix), values[i++] as RowValue);
      at = writeNumber(out, writeBytes(out, at, origins), origin.offset);
      writer.advanceTo(writeBytes(out, at, ROW_END));
    },
  };
}
