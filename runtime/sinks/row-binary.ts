/**
 * ClickHouse RowBinary encoding (pure). Rows are written in RowBinary rather than JSON so the bytes of a
 * batch are a function of its values alone (no text parsing or server time zone involved): a replayed
 * batch is byte-identical to the original, and there is no ambiguity in how a DateTime64 is read.
 * Types and layouts follow ClickHouse's "RowBinary" format documentation: little-endian integers and
 * floats, strings as LEB128 length + UTF-8, UUID as two little-endian UInt64 halves, Nullable as a
 * 1-byte null flag before the value, LowCardinality(T) as T.
 */
import type { ColumnType } from "../../operator/api/v1alpha1/pipeline.js";
import type { RowValue } from "../decode/row.js";

const TWO_32 = 4_294_967_296;
const DAY_MS = 86_400_000;

function varUintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/**
 * Appends RowBinary values to fixed-size chunks (not one doubling buffer), so the memory a batch holds
 * grows in small steps and `allocatedBytes` is an honest figure for the runtime's byte budget.
 */
export class RowBinaryWriter {
  private readonly done: Buffer[] = [];
  private doneBytes = 0;
  private buffer: Buffer;
  private position = 0;
  private allocated: number;

  constructor(private readonly chunkBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
    this.allocated = chunkBytes;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.doneBytes + this.position;
  }

  /** Bytes of memory the writer holds: every chunk it allocated, used or not. */
  get allocatedBytes(): number {
    return this.allocated;
  }

  private ensure(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    // A finished chunk's unused tail stays allocated (the subarray keeps the whole chunk alive), so it
    // stays counted in `allocatedBytes`.
    if (this.position > 0) {
      this.done.push(this.buffer.subarray(0, this.position));
      this.doneBytes += this.position;
    } else {
      this.allocated -= this.buffer.length;
    }
    const size = Math.max(this.chunkBytes, bytes);
    this.buffer = Buffer.allocUnsafe(size);
    this.allocated += size;
    this.position = 0;
  }

  /** The bytes written so far, as one buffer. */
  toBuffer(): Buffer {
    return Buffer.concat([...this.done, this.buffer.subarray(0, this.position)], this.length);
  }

  uint8(value: number): void {
    this.ensure(1);
    this.buffer[this.position++] = value;
  }

  uint16(value: number): void {
    this.ensure(2);
    this.buffer.writeUInt16LE(value, this.position);
    this.position += 2;
  }

  int32(value: number): void {
    this.ensure(4);
    this.buffer.writeInt32LE(value, this.position);
    this.position += 4;
  }

  uint32(value: number): void {
    this.ensure(4);
    this.buffer.writeUInt32LE(value, this.position);
    this.position += 4;
  }

  /** A safe integer as a 64-bit two's-complement little-endian value (Int64 and UInt64 alike). */
  int64(value: number): void {
    this.ensure(8);
    const hi = Math.floor(value / TWO_32);
    const lo = value - hi * TWO_32;
    this.buffer.writeUInt32LE(lo, this.position);
    this.buffer.writeInt32LE(hi, this.position + 4);
    this.position += 8;
  }

  float32(value: number): void {
    this.ensure(4);
    this.buffer.writeFloatLE(value, this.position);
    this.position += 4;
  }

  float64(value: number): void {
    this.ensure(8);
    this.buffer.writeDoubleLE(value, this.position);
    this.position += 8;
  }

  varUint(value: number): void {
    this.ensure(10);
    this.putVarUint(value);
  }

  private putVarUint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.buffer[this.position++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[this.position++] = v;
  }

  string(value: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit: reserve that, write once, then put the length before it
    // (moving the bytes left when the length turned out shorter than reserved for).
    const max = value.length * 3;
    const prefix = varUintSize(max);
    this.ensure(prefix + max);
    const start = this.position + prefix;
    const written = value.length === 0 ? 0 : this.buffer.write(value, start, "utf8");
    const lengthBytes = varUintSize(written);
    if (lengthBytes !== prefix)
      this.buffer.copy(this.buffer, this.position + lengthBytes, start, start + written);
    this.putVarUint(written); // space was reserved above: must not call ensure() (it could switch chunks)
    this.position += written;
  }

  /** 8-4-4-4-12 hex → ClickHouse's UUID layout: each 64-bit half little-endian. */
  uuid(value: string): void {
    const hex = value.replace(/-/g, "");
    this.ensure(16);
    for (let half = 0; half < 2; half++) {
      for (let i = 7; i >= 0; i--) {
        this.buffer[this.position++] = Number.parseInt(
          hex.slice(half * 16 + i * 2, half * 16 + i * 2 + 2),
          16,
        );
      }
    }
  }
}

export type ValueEncoder = (writer: RowBinaryWriter, value: RowValue) => void;

function expect<T extends RowValue>(value: RowValue, check: (v: RowValue) => v is T, type: string): T {
  if (!check(value)) throw new TypeError(`RowBinary ${type}: unexpected value ${JSON.stringify(value)}`);
  return value;
}
const isString = (v: RowValue): v is string => typeof v === "string";
const isNumber = (v: RowValue): v is number => typeof v === "number";
const isBoolean = (v: RowValue): v is boolean => typeof v === "boolean";

function baseEncoder(type: ColumnType): ValueEncoder {
  switch (type) {
    case "String":
    case "LowCardinality(String)":
      return (w, v) => w.string(expect(v, isString, type));
    case "UUID":
      return (w, v) => w.uuid(expect(v, isString, type));
    case "Bool":
      return (w, v) => w.uint8(expect(v, isBoolean, type) ? 1 : 0);
    case "Int32":
      return (w, v) => w.int32(expect(v, isNumber, type));
    case "UInt32":
      return (w, v) => w.uint32(expect(v, isNumber, type));
    case "Int64":
    case "UInt64":
      return (w, v) => w.int64(expect(v, isNumber, type));
    case "Float32":
      return (w, v) => w.float32(expect(v, isNumber, type));
    case "Float64":
      return (w, v) => w.float64(expect(v, isNumber, type));
    case "Date":
      return (w, v) => w.uint16(Math.floor(expect(v, isNumber, type) / DAY_MS));
    case "DateTime":
      return (w, v) => w.uint32(Math.floor(expect(v, isNumber, type) / 1000));
    case "DateTime64(3)":
      return (w, v) => w.int64(expect(v, isNumber, type));
    default:
      return assertNever(type);
  }
}

/** The encoder of one column; values must already be in the canonical representation (decode/row.ts). */
export function encoderFor(type: ColumnType, nullable: boolean): ValueEncoder {
  const base = baseEncoder(type);
  if (!nullable) return base;
  return (w, v) => {
    if (v === null) {
      w.uint8(1);
      return;
    }
    w.uint8(0);
    base(w, v);
  };
}

function assertNever(value: never): never {
  throw new Error(`unexpected column type ${String(value)}`);
}
