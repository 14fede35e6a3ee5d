/**
 * Protobuf binary events: the .proto text parsed once (field names kept as written), one message type.
 * Decoded messages become plain objects: 64-bit integers as decimal strings (coerced per column type
 * later, so no precision is lost silently), enums by name, absent proto3 scalars as their defaults,
 * absent `optional` fields and sub-messages as missing.
 */
import protobuf from "protobufjs";
import { DecodeFailure } from "./decode-failure.js";

class ProtobufSchemaError extends Error {
  override readonly name = "ProtobufSchemaError";
}

interface ProtobufDecoder {
  readonly format: "protobuf";
  decode(bytes: Uint8Array | null): unknown;
}

const toObjectOptions: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  oneofs: false,
};

export function createProtobufDecoder(protoText: string, messageType: string): ProtobufDecoder {
  let type: protobuf.Type;
  try {
    type = protobuf.parse(protoText, { keepCase: true }).root.lookupType(messageType);
  } catch (error) {
    throw new ProtobufSchemaError(
      `spec.format: cannot use message type ${messageType} of the .proto in schemaConfigMapRef: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    format: "protobuf",
    decode(bytes) {
      if (bytes === null) return new DecodeFailure("decode", "empty message (no value)");
      try {
        return type.toObject(type.decode(bytes), toObjectOptions);
      } catch (error) {
        return new DecodeFailure(
          "decode",
          `not a ${messageType} message: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    },
  };
}
