/**
 * Reads RowBinary back (pure): the inverse of row-binary.ts for the column types the runtime writes.
 * Used to check batches byte for byte in tests and to inspect a batch in a debugger; production reads
 * go through ClickHouse queries.
 */
import type { ColumnType } from "../../operator/api/v1alpha1/pipeline.js";
import type { RowValue } from "../decode/row.js";

const TWO_32 = 4_294_967_296;
const DAY_MS = 86_400_000;

export class RowBinaryReader {
  private position = 0;

  constructor(private readonly buffer: Buffer) {}

  get done(): boolean {
    return this.position >= this.buffer.length;
  }

  uint8(): number {
    const v = this.buffer.readUInt8(this.position);
    this.position += 1;
    return v;
  }

  uint16(): number {
    const v = this.buffer.readUInt16LE(this.position);
    this.position += 2;
    return v;
  }

  int32(): number {
    const v = this.buffer.readInt32LE(this.position);
    this.position += 4;
    return v;
  }

  uint32(): number {
    const v = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return v;
  }

  int64(): number {
    const lo = this.buffer.readUInt32LE(this.position);
    const hi = this.buffer.readInt32LE(this.position + 4);
    this.position += 8;
    return hi * TWO_32 + lo;
  }

  float32(): number {
    const v = this.buffer.readFloatLE(this.position);
    this.position += 4;
    return v;
  }

  float64(): number {
    const v = this.buffer.readDoubleLE(this.position);
    this.position += 8;
    return v;
  }

  varUint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.uint8();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }

  string(): string {
    const length = this.varUint();
    const text = this.buffer.toString("utf8", this.position, this.position + length);
    this.position += length;
    return text;
  }

  uuid(): string {
    const bytes: string[] = [];
    for (let half = 0; half < 2; half++) {
      const chunk = this.buffer.subarray(this.position + half * 8, this.position + half * 8 + 8);
      bytes.push(Buffer.from(chunk).reverse().toString("hex"));
    }
    this.position += 16;
    const hex = bytes.join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  value(type: ColumnType, nullable: boolean): RowValue {
    if (nullable && this.uint8() === 1) return null;
    switch (type) {
      case "String":
      case "LowCardinality(String)":
        return this.string();
      case "UUID":
        return this.uuid();
      case "Bool":
        return this.uint8() === 1;
      case "Int32":
        return this.int32();
      case "UInt32":
        return this.uint32();
      case "Int64":
      case "UInt64":
        return this.int64();
      case "Float32":
        return this.float32();
      case "Float64":
        return this.float64();
      case "Date":
        return this.uint16() * DAY_MS;
      case "DateTime":
        return this.uint32() * 1000;
      case "DateTime64(3)":
        return this.int64();
      default:
        return assertNever(type);
    }
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected column type ${String(value)}`);
}
