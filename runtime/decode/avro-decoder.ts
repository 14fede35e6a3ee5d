/**
 * Avro binary events with schema evolution: the writer schema the producers use and, optionally, the
 * reader schema the pipeline expects (fields added with defaults, removed, promoted types). avsc resolves
 * one into the other once at start; a message that does not decode under the writer schema, has trailing
 * bytes, or carries a long beyond 2^53 is a decode failure.
 */
import avro from "avsc";
import { DecodeFailure } from "./decode-failure.js";

class AvroSchemaError extends Error {
  override readonly name = "AvroSchemaError";
}

interface AvroDecoder {
  readonly format: "avro";
  decode(bytes: Uint8Array | null): unknown;
}

function parseSchema(text: string, field: string): avro.Type {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AvroSchemaError(
      `${field}: the schema is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return avro.Type.forSchema(json as avro.Schema);
  } catch (error) {
    throw new AvroSchemaError(
      `${field}: not a valid Avro schema: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

export function createAvroDecoder(writerSchema: string, readerSchema: string | undefined): AvroDecoder {
  const writer = parseSchema(writerSchema, "spec.format.schemaConfigMapRef");
  const reader =
    readerSchema === undefined
      ? undefined
      : parseSchema(readerSchema, "spec.format.readerSchemaConfigMapRef");
  let resolver: avro.Resolver | undefined;
  if (reader !== undefined) {
    try {
      resolver = reader.createResolver(writer);
    } catch (error) {
      throw new AvroSchemaError(
        `spec.format.readerSchemaConfigMapRef: the reader schema cannot read the writer schema: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const type = reader ?? writer;
  return {
    format: "avro",
    decode(bytes) {
      if (bytes === null || bytes.length === 0)
        return new DecodeFailure("decode", "empty message (no value)");
      try {
        const buffer = Buffer.isBuffer(bytes)
          ? bytes
          : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        return resolver === undefined ? type.fromBuffer(buffer) : type.fromBuffer(buffer, resolver);
      } catch (error) {
        return new DecodeFailure(
          "decode",
          `not Avro of the writer schema: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    },
  };
}
