/**
 * Where schema text comes from. The Pipeline names Avro and Protobuf schemas by ConfigMap key; the
 * decoders take the text through a `SchemaResolver` so they stay pure. The worker's resolver reads
 * the text from the environment (see `envSchemaResolver`); the ConfigMap key reaches the process as
 *   TALLY_SCHEMA_<NAME>=<schema text>          (env var from configMapKeyRef), or
 *   TALLY_SCHEMA_<NAME>_FILE=<path>            (the key mounted as a file),
 * named by `schemaEnvName` (contracts/runtime-env.ts).
 */
import { readFileSync } from "node:fs";
import { schemaEnvName, schemaFileSuffix } from "../../contracts/runtime-env.js";

interface ConfigMapKeyRef {
  readonly name: string;
  readonly key: string;
}

/** Returns the schema text of `ref`; `field` is the spec path asking for it (for error messages). */
export type SchemaResolver = (ref: ConfigMapKeyRef, field: string) => string;

export class SchemaResolutionError extends Error {
  override readonly name = "SchemaResolutionError";
}

export function envSchemaResolver(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): SchemaResolver {
  return (ref, field) => {
    const name = schemaEnvName(ref);
    const inline = env[name];
    if (inline !== undefined && inline !== "") return inline;
    const path = env[`${name}${schemaFileSuffix}`];
    if (path !== undefined && path !== "") {
      try {
        return readFile(path);
      } catch (error) {
        throw new SchemaResolutionError(
          `${field}: cannot read ${name}${schemaFileSuffix}=${path} (ConfigMap ${ref.name} key ${ref.key}): ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    throw new SchemaResolutionError(
      `${field}: ConfigMap ${ref.name} key ${ref.key} is not available: set ${name} (the schema text) or ${name}${schemaFileSuffix} (a path to it)`,
    );
  };
}
