/**
 * The JSON Schema a Pipeline's events must satisfy (`spec.format.jsonSchema`), compiled the same
 * way in the operator (to refuse a schema that does not compile) and in the runtime (to validate
 * each event): formats such as date-time are checked, and ajv prints nothing of its own.
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export function compileEventSchema(schema: Record<string, unknown>): ValidateFunction {
  return addFormats(new Ajv({ strict: false, allErrors: true, logger: false })).compile(schema);
}
