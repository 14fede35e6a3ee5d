/**
 * JSON events: UTF-8 (invalid byte sequences are refused, not replaced), one object per message, and
 * optionally a JSON Schema compiled once with ajv (formats such as `date-time` included).
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { DecodeFailure } from "./decode-failure.js";

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export class JsonSchemaError extends Error {
  override readonly name = "JsonSchemaError";
}

export interface JsonDecoder {
  readonly format: "json";
  decode(bytes: Uint8Array | null): unknown;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function compileJsonSchema(schema: Record<string, unknown>, field: string): ValidateFunction {
  try {
    return addFormats(new Ajv({ strict: false, allErrors: false })).compile(schema);
  } catch (error) {
    throw new JsonSchemaError(
      `${field}: not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Returns the decoded object or a DecodeFailure. */
export function createJsonDecoder(schema: Record<string, unknown> | undefined): JsonDecoder {
  const validate = schema === undefined ? undefined : compileJsonSchema(schema, "spec.format.jsonSchema");
  return {
    format: "json",
    decode(bytes) {
      if (bytes === null || bytes.length === 0)
        return new DecodeFailure("decode", "empty message (no value)");
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(bytes));
      } catch (error) {
        return new DecodeFailure(
          "decode",
          `not UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return new DecodeFailure(
          "decode",
          `expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`,
        );
      }
      if (validate !== undefined && !validate(value)) {
        const first = validate.errors?.[0];
        const where = first?.instancePath ? first.instancePath : "/";
        const detail =
          first === undefined
            ? "invalid"
            : first.keyword === "required"
              ? `missing required property ${String(first.params.missingProperty)}`
              : (first.message ?? first.keyword);
        return new DecodeFailure("schema", `JSON Schema: ${where} ${detail}`);
      }
      return value;
    },
  };
}
