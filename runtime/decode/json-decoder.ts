/**
 * JSON events: UTF-8 (invalid byte sequences are refused, not replaced), one object per message, and
 * optionally a JSON Schema compiled once with ajv (formats such as `date-time` included).
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { fullFormats } from "ajv-formats/dist/formats.js";
import { DecodeFailure } from "./decode-failure.js";
import { isPlainUtcDateTime } from "./iso-time.js";

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

class JsonSchemaError extends Error {
  override readonly name = "JsonSchemaError";
}

interface JsonDecoder {
  readonly format: "json";
  decode(bytes: Uint8Array | null): unknown;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * ajv-formats' `date-time`, answering the usual `…T…Z` form without its split and regular expressions (they
 * allocated more per event than the rest of validation); anything else still goes through the full check.
 */
function fastDateTime(ajv: Ajv): Ajv {
  const full = fullDateTime();
  return ajv.addFormat("date-time", {
    type: "string",
    validate: (text: string) => isPlainUtcDateTime(text) || full.validate(text),
    compare: full.compare,
  });
}

/** ajv-formats' definition of `date-time`: a synchronous string validator with a comparison. */
export function fullDateTime(): {
  readonly validate: (text: string) => boolean;
  readonly compare: (a: string, b: string) => number | undefined;
} {
  const full: unknown = fullFormats["date-time"];
  if (
    typeof full !== "object" ||
    full === null ||
    !("validate" in full && typeof full.validate === "function") ||
    !("compare" in full && typeof full.compare === "function")
  )
    throw new Error("ajv-formats: date-time is no longer a validate function with a compare");
  return full as ReturnType<typeof fullDateTime>;
}

function compileJsonSchema(schema: Record<string, unknown>, field: string): ValidateFunction {
  try {
    return fastDateTime(addFormats(new Ajv({ strict: false, allErrors: false }))).compile(schema);
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
