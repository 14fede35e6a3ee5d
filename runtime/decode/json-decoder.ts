/**
 * JSON events: one object per message, checked as contracts/events/json-event.ts defines (the gateway's
 * collector checks events the same way before they reach Kafka).
 */
import {
  compileEventSchema,
  describeSchemaError,
  notAnObject,
  parseUtf8Json,
} from "../../contracts/events/json-event.js";
import { DecodeFailure } from "./decode-failure.js";

interface JsonDecoder {
  readonly format: "json";
  decode(bytes: Uint8Array | null): unknown;
}

/** Returns the decoded object or a DecodeFailure. */
export function createJsonDecoder(schema: Record<string, unknown> | undefined): JsonDecoder {
  const validate =
    schema === undefined
      ? undefined
      : compileEventSchema(schema, "spec.format.jsonSchema", { allErrors: false });
  return {
    format: "json",
    decode(bytes) {
      if (bytes === null || bytes.length === 0)
        return new DecodeFailure("decode", "empty message (no value)");
      const parsed = parseUtf8Json(bytes);
      if (parsed.kind === "invalid") return new DecodeFailure("decode", parsed.message);
      const value = parsed.value;
      const shape = notAnObject(value);
      if (shape !== undefined) return new DecodeFailure("decode", shape);
      if (validate !== undefined && !validate(value)) {
        const { pointer, message } = describeSchemaError(validate.errors?.[0]);
        return new DecodeFailure("schema", `JSON Schema: ${pointer} ${message}`);
      }
      return value;
    },
  };
}
