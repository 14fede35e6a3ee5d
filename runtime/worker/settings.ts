/**
 * The worker's settings from its arguments and environment (pure: env and file reads are injected).
 *
 *   main.ts pipeline-worker                       in a pod: TALLY_PIPELINE_CONFIG holds the RuntimeConfig JSON
 *   main.ts --config pipeline.yaml [--create-tables]   locally: a Pipeline manifest; consumer group
 *                                                   tally.<namespace>.<name> unless the spec sets one
 *
 * The variables, who sets them, their defaults and meaning: contracts/runtime-env.ts.
 * Anything missing or malformed is a SettingsError naming it; main.ts prints it as one line, exit code 2.
 */
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { formatProblems, validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import type { KafkaConnection } from "../../contracts/kafka/kafka-connection.js";
import { defaultConsumerGroup, type RuntimeConfig } from "../../contracts/runtime-config.js";
import { type RuntimeEnvVar, runtimeEnv } from "../../contracts/runtime-env.js";

export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

export interface WorkerSettings {
  readonly config: RuntimeConfig;
  readonly kafka: KafkaConnection;
  readonly clickhouse: { readonly url: string; readonly username: string; readonly password: string };
  readonly redisUrl: string | undefined;
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly podName: string;
  readonly podNamespace: string | undefined;
  readonly budgetBytes: number;
  readonly shutdownGraceMs: number;
  readonly sessionTimeoutMs: number;
  readonly createTables: boolean;
  /** Bench only: where the discarding result store writes its summary (see sinks/bench-discarding-sink.ts). */
  readonly benchDiscardResultsPath: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;
/** A variable whose unset value the contract defines as a `D`. */
type Defaulted<D> = RuntimeEnvVar & {
  readonly requirement: { readonly kind: "optional"; readonly default: D };
};

function nonEmpty(env: Env, variable: RuntimeEnvVar): string | undefined {
  const value = env[variable.name];
  return value === undefined || value.trim() === "" ? undefined : value;
}

function required(env: Env, variable: RuntimeEnvVar, why: string): string {
  const value = nonEmpty(env, variable);
  if (value === undefined) throw new SettingsError(`${variable.name} is not set (${why})`);
  return value;
}

function optionalInteger(
  env: Env,
  variable: RuntimeEnvVar,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = nonEmpty(env, variable);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${variable.name}=${raw} is not an integer in [${min}, ${max}]`);
  }
  return value;
}

function integer(env: Env, variable: Defaulted<number>, min: number, max?: number): number {
  return optionalInteger(env, variable, min, max) ?? variable.requirement.default;
}

function ipAddress(env: Env, variable: Defaulted<string>): string {
  const raw = nonEmpty(env, variable);
  if (raw === undefined) return variable.requirement.default;
  if (isIP(raw) === 0) throw new SettingsError(`${variable.name}=${raw} is not an IP address`);
  return raw;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A RuntimeConfig from the ConfigMap's JSON (TALLY_PIPELINE_CONFIG). */
function runtimeConfigFromJson(text: string, source: string): RuntimeConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SettingsError(
      `${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (
    !isRecord(parsed) ||
    parsed.kind !== "Pipeline" ||
    !isRecord(parsed.metadata) ||
    !isRecord(parsed.spec)
  ) {
    throw new SettingsError(
      `${source} is not a runtime configuration (kind Pipeline with metadata and spec)`,
    );
  }
  const { namespace, name } = parsed.metadata;
  if (typeof namespace !== "string" || typeof name !== "string" || typeof parsed.consumerGroup !== "string") {
    throw new SettingsError(`${source}: metadata.namespace, metadata.name and consumerGroup must be strings`);
  }
  return {
    apiVersion: "tally.dev/v1alpha1",
    kind: "Pipeline",
    metadata: { namespace, name },
    spec: parsed.spec as unknown as PipelineSpec,
    consumerGroup: parsed.consumerGroup,
  };
}

/** A RuntimeConfig from a Pipeline manifest (YAML or JSON), as `kubectl apply` would take it. */
export function runtimeConfigFromManifest(text: string, source: string): RuntimeConfig {
  let documents: unknown[];
  try {
    documents = parseAllDocuments(text).map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join("; "));
      return d.toJS() as unknown;
    });
  } catch (error) {
    throw new SettingsError(
      `${source} is not YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const pipeline = documents.find((d) => isRecord(d) && d.kind === "Pipeline");
  if (!isRecord(pipeline) || !isRecord(pipeline.spec)) {
    throw new SettingsError(`${source} has no Pipeline manifest (kind: Pipeline with a spec)`);
  }
  const metadata = isRecord(pipeline.metadata) ? pipeline.metadata : {};
  const name = metadata.name;
  if (typeof name !== "string" || name === "") throw new SettingsError(`${source}: metadata.name is missing`);
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : "default";
  const spec = pipeline.spec as unknown as PipelineSpec;
  const kafka =
    isRecord(pipeline.spec.source) && isRecord(pipeline.spec.source.kafka) ? pipeline.spec.source.kafka : {};
  const group =
    typeof kafka.consumerGroup === "string" ? kafka.consumerGroup : defaultConsumerGroup(namespace, name);
  return {
    apiVersion: "tally.dev/v1alpha1",
    kind: "Pipeline",
    metadata: { namespace, name },
    spec,
    consumerGroup: group,
  };
}

export function parseWorkerSettings(
  argv: readonly string[],
  env: Env,
  readFile: (path: string) => string,
): WorkerSettings {
  let values: { config?: string; "create-tables"?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { config: { type: "string" }, "create-tables": { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new SettingsError(`bad arguments: ${error instanceof Error ? error.message : String(error)}`);
  }
  const unknown = positionals.filter((p) => p !== "pipeline-worker");
  if (unknown.length > 0) {
    throw new SettingsError(
      `unknown command ${unknown.join(" ")} (expected: pipeline-worker, or --config <file>)`,
    );
  }

  let config: RuntimeConfig;
  if (values.config !== undefined) {
    let text: string;
    try {
      text = readFile(values.config);
    } catch (error) {
      throw new SettingsError(
        `--config ${values.config}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    config = runtimeConfigFromManifest(text, values.config);
  } else {
    config = runtimeConfigFromJson(
      required(env, runtimeEnv.pipelineConfig, "the runtime configuration; or pass --config <pipeline.yaml>"),
      runtimeEnv.pipelineConfig.name,
    );
  }

  const validated = validatePipelineSpec(config.spec);
  if (!validated.ok) {
    throw new SettingsError(
      `Pipeline ${config.metadata.namespace}/${config.metadata.name}: ${formatProblems(validated.problems)}`,
    );
  }
  const spec = validated.value;
  config = { ...config, spec };
  const kafkaSpec = spec.source.kafka;
  const brokerEnv = nonEmpty(env, runtimeEnv.kafkaBrokers);
  const brokers =
    brokerEnv !== undefined
      ? brokerEnv
          .split(",")
          .map((b) => b.trim())
          .filter((b) => b !== "")
      : (kafkaSpec.brokers ?? []);
  if (brokers.length === 0) {
    throw new SettingsError(
      `${runtimeEnv.kafkaBrokers.name} is not set and spec.source.kafka.brokers is empty (where is Kafka?)`,
    );
  }
  const sasl =
    kafkaSpec.sasl === undefined
      ? undefined
      : {
          mechanism: kafkaSpec.sasl.mechanism,
          username: required(env, runtimeEnv.kafkaSaslUsername, "spec.source.kafka.sasl is set"),
          password: required(env, runtimeEnv.kafkaSaslPassword, "spec.source.kafka.sasl is set"),
        };
  const ssl = kafkaSpec.tls?.enabled === true ? { ca: nonEmpty(env, runtimeEnv.kafkaCa) } : undefined;

  const { clickhouseUrl, clickhouseUsername, clickhousePassword } = runtimeEnv;
  const clickhouse = {
    url: required(env, clickhouseUrl, "where the raw and window tables are"),
    username: nonEmpty(env, clickhouseUsername) ?? clickhouseUsername.requirement.default,
    // A blank password is a password (the empty one), not a missing variable.
    password: env[clickhousePassword.name] ?? clickhousePassword.requirement.default,
  };
  const needsRedis =
    spec.sink.redis !== undefined || (spec.enrich ?? []).some((e) => e.source === "redisHash");
  const redisUrl = needsRedis
    ? required(env, runtimeEnv.redisUrl, "spec.sink.redis or a redisHash enrichment is set")
    : nonEmpty(env, runtimeEnv.redisUrl);

  return {
    config,
    kafka: { brokers, ssl, sasl },
    clickhouse,
    redisUrl,
    metricsPort: optionalInteger(env, runtimeEnv.metricsPort, 0, 65_535),
    metricsHost: ipAddress(env, runtimeEnv.metricsHost),
    podName: nonEmpty(env, runtimeEnv.podName) ?? `local-${process.pid}`,
    podNamespace: nonEmpty(env, runtimeEnv.podNamespace),
    budgetBytes: integer(env, runtimeEnv.maxBufferedBytes, 1024 * 1024),
    shutdownGraceMs: integer(env, runtimeEnv.shutdownGraceMs, 1_000),
    sessionTimeoutMs: integer(env, runtimeEnv.kafkaSessionTimeoutMs, 6_000, 300_000),
    createTables: values["create-tables"] === true,
    benchDiscardResultsPath: nonEmpty(env, runtimeEnv.benchDiscardResults),
  };
}
