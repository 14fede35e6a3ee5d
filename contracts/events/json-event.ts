/**
 * What a JSON pipeline accepts as an event, shared by the runtime (which decodes each Kafka message with
 * it) and the gateway's collector (which refuses an event before it reaches Kafka): UTF-8 JSON (invalid
 * byte sequences are refused, not replaced), an object, and the spec's JSON Schema compiled with ajv and
 * ajv-formats (formats such as `date-time` included). One definition, so the two cannot disagree.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { fullFormats } from "ajv-formats/dist/formats.js";
import { isPlainUtcDateTime } from "./iso-time.js";

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export class JsonSchemaError extends Error {
  override readonly name = "JsonSchemaError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export type ParsedJson =
  | { readonly kind: "parsed"; readonly value: unknown }
  | { readonly kind: "invalid"; readonly message: string };

/** The bytes as UTF-8 JSON; `message` says why they are not. */
export function parseUtf8Json(bytes: Uint8Array): ParsedJson {
  try {
    return { kind: "parsed", value: JSON.parse(utf8.decode(bytes)) };
  } catch (error) {
    return {
      kind: "invalid",
      message: `not UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** Why a parsed value cannot be an event (not an object), or undefined when it can. */
export function notAnObject(value: unknown): string | undefined {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return undefined;
  return `expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`;
}

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

/**
 * The event schema's validator. `allErrors` changes only how many errors are reported, never whether an
 * event is valid: the runtime stops at the first (cheaper per event), the collector lists them all.
 * Throws a JsonSchemaError naming `field` when the schema is not one ajv can compile.
 */
export function compileEventSchema(
  schema: Record<string, unknown>,
  field: string,
  options: { readonly allErrors: boolean },
): ValidateFunction {
  try {
    return fastDateTime(addFormats(new Ajv({ strict: false, allErrors: options.allErrors }))).compile(schema);
  } catch (error) {
    throw new JsonSchemaError(
      `${field}: not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** One schema error as `<json-pointer> <what is wrong>`: the pointer is "/" for the event itself. */
export function describeSchemaError(error: ErrorObject | undefined): { pointer: string; message: string } {
  if (error === undefined) return { pointer: "/", message: "invalid" };
  if (error.keyword === "required") {
    return {
      pointer: error.instancePath === "" ? "/" : error.instancePath,
      message: `missing required property ${String(error.params.missingProperty)}`,
    };
  }
  return {
    pointer: error.instancePath === "" ? "/" : error.instancePath,
    message: error.message ?? error.keyword,
  };
}
