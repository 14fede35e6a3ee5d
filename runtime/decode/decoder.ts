/** The decoder of a Pipeline's `format`, built once; schema text comes through the resolver. */
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { createAvroDecoder } from "./avro-decoder.js";
import { createJsonDecoder } from "./json-decoder.js";
import { createProtobufDecoder } from "./protobuf-decoder.js";
import type { SchemaResolver } from "./schema-source.js";

/** `decode` returns the decoded event, or a DecodeFailure (see decode-failure.ts). */
export type Decoder =
  | ReturnType<typeof createJsonDecoder>
  | ReturnType<typeof createAvroDecoder>
  | ReturnType<typeof createProtobufDecoder>;

export function createDecoder(format: PipelineSpec["format"], resolveSchema: SchemaResolver): Decoder {
  switch (format.type) {
    case "json":
      return createJsonDecoder(format.jsonSchema);
    case "avro":
      return createAvroDecoder(
        resolveSchema(format.schemaConfigMapRef, "spec.format.schemaConfigMapRef"),
        format.readerSchemaConfigMapRef === undefined
          ? undefined
          : resolveSchema(format.readerSchemaConfigMapRef, "spec.format.readerSchemaConfigMapRef"),
      );
    case "protobuf":
      return createProtobufDecoder(
        resolveSchema(format.schemaConfigMapRef, "spec.format.schemaConfigMapRef"),
        format.messageType,
      );
    default:
      return assertNever(format);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected format ${JSON.stringify(value)}`);
}
