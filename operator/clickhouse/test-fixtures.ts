import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import type { PipelineSpec } from "../api/v1alpha1/pipeline.js";
import type { RollupSpec } from "../api/v1alpha1/rollup.js";
import { formatProblems, validatePipelineSpec, validateRollupSpec } from "../api/v1alpha1/validation.js";
import type { RawSource } from "./rollup-ddl.js";

const examples = resolve(import.meta.dirname, "..", "..", "examples");

/** The example manifests, validated with defaults applied: tests render what users apply. */
export function examplePipelineSpec(): PipelineSpec {
  const doc = parse(readFileSync(resolve(examples, "clickstream-pipeline.yaml"), "utf8")) as {
    spec: unknown;
  };
  const result = validatePipelineSpec(doc.spec);
  if (!result.ok) throw new Error(`examples/clickstream-pipeline.yaml: ${formatProblems(result.problems)}`);
  return result.value;
}

export function rollupSpec(input: unknown): RollupSpec {
  const result = validateRollupSpec(input);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.value;
}

export function rawSourceOf(spec: PipelineSpec): RawSource {
  return {
    database: spec.sink.clickhouse.database,
    table: spec.sink.clickhouse.table,
    eventTimeField: spec.eventTime.field,
    fields: new Map(spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }])),
  };
}
