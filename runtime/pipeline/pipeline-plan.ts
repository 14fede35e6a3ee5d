/**
 * Everything the worker derives from a Pipeline's configuration, compiled once at start: the decoder,
 * field mapping, transforms, dedup and event-time settings, window specs, batch thresholds and the raw
 * row encoder. A spec that cannot run is refused here with every problem named (ConfigError).
 */

import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { validatePipelineSemantics } from "../../api/v1alpha1/validate-pipeline.js";
import { formatProblems, validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import type { RuntimeConfig } from "../../contracts/runtime-config.js";
import { windowSpecsOf } from "../../contracts/windows/pipeline-window-specs.js";
import type { WindowSpec } from "../../contracts/windows/window-spec.js";
import { createDecoder, type Decoder } from "../decode/decoder.js";
import { compileFieldMapper, type FieldMapper } from "../decode/field-mapping.js";
import type { FieldDef } from "../decode/row.js";
import type { SchemaResolver } from "../decode/schema-source.js";
import { compileRawRowEncoder, type RawRowEncoder } from "../sinks/raw-rows.js";
import { compileTransforms, type Transforms } from "./transforms.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

interface EventTimeSettings {
  readonly field: string;
  readonly maxOutOfOrdernessMs: number;
  readonly allowedLatenessMs: number;
  readonly idleTimeoutMs: number;
}

export interface PipelinePlan {
  readonly namespace: string;
  readonly name: string;
  readonly consumerGroup: string;
  readonly spec: PipelineSpec;
  readonly topics: readonly string[];
  readonly fields: readonly FieldDef[];
  readonly decoder: Decoder;
  readonly mapper: FieldMapper;
  readonly transforms: Transforms;
  readonly dedup: { readonly field: string; readonly horizonMs: number } | undefined;
  readonly eventTime: EventTimeSettings;
  readonly windows: readonly WindowSpec[];
  readonly batch: { readonly maxRows: number; readonly maxDelayMs: number };
  readonly rawEncoder: RawRowEncoder;
}

/** Validates the spec (schema with defaults, then semantics) and compiles it. */
export function compilePipelinePlan(config: RuntimeConfig, resolveSchema: SchemaResolver): PipelinePlan {
  const where = `Pipeline ${config.metadata.namespace}/${config.metadata.name}`;
  const validated = validatePipelineSpec(config.spec);
  if (!validated.ok) throw new ConfigError(`${where}: ${formatProblems(validated.problems)}`);
  const spec = validated.value;
  const problems = validatePipelineSemantics(spec);
  if (problems.length > 0) throw new ConfigError(`${where}: ${formatProblems(problems)}`);
  try {
    const deferred = new Set<string>([
      ...(spec.enrich ?? []).flatMap((e) => e.fields),
      ...(spec.transforms ?? []).flatMap((t) => (t.type === "set" ? [t.field] : [])),
    ]);
    const mapper = compileFieldMapper(spec.fields, deferred);
    return {
      namespace: config.metadata.namespace,
      name: config.metadata.name,
      consumerGroup: config.consumerGroup,
      spec,
      topics: spec.source.kafka.topics,
      fields: mapper.fields,
      decoder: createDecoder(spec.format, resolveSchema),
      mapper,
      transforms: compileTransforms(spec.transforms, mapper),
      dedup:
        spec.dedup === undefined
          ? undefined
          : { field: spec.dedup.field, horizonMs: parseDuration(spec.dedup.horizon, "spec.dedup.horizon") },
      eventTime: {
        field: spec.eventTime.field,
        maxOutOfOrdernessMs: parseDuration(
          spec.eventTime.maxOutOfOrderness,
          "spec.eventTime.maxOutOfOrderness",
        ),
        allowedLatenessMs: parseDuration(spec.eventTime.allowedLateness, "spec.eventTime.allowedLateness"),
        idleTimeoutMs: parseDuration(spec.eventTime.idleTimeout, "spec.eventTime.idleTimeout"),
      },
      windows: windowSpecsOf(spec),
      batch: {
        maxRows: spec.sink.clickhouse.batch.maxRows,
        maxDelayMs: parseDuration(spec.sink.clickhouse.batch.maxDelay, "spec.sink.clickhouse.batch.maxDelay"),
      },
      rawEncoder: compileRawRowEncoder(mapper.fields),
    };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${where}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
