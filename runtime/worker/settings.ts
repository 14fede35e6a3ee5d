/**
 * The worker's settings from its arguments and environment (pure: env and file reads are injected).
 *
 *   main.ts pipeline-worker                       in a pod: TALLY_PIPELINE_CONFIG holds the RuntimeConfig JSON
 *   main.ts --config pipeline.yaml [--create-tables]   locally: a Pipeline manifest; consumer group
 *                                                   tally.<namespace>.<name> unless the spec sets one
 *
 * Environment (as the operator renders it, operator/pipeline/render-pipeline-objects.ts):
 *   TALLY_KAFKA_BROKERS            comma-separated; overrides spec.source.kafka.brokers when set
 *   TALLY_KAFKA_SASL_USERNAME/PASSWORD, TALLY_KAFKA_CA   when the spec asks for SASL / a CA
 *   TALLY_CLICKHOUSE_URL (required), TALLY_CLICKHOUSE_USERNAME (default "default"), TALLY_CLICKHOUSE_PASSWORD
 *   TALLY_REDIS_URL                required when spec.sink.redis or a redisHash enrichment is set
 *   TALLY_METRICS_PORT             serve /metrics, /healthz, /readyz (0: any free port; unset locally: none)
 *   TALLY_METRICS_HOST             the IP address that server binds (default 0.0.0.0, so a pod's Service
 *                                  reaches it; the local stack's pod-runner gives 127.0.0.1)
 *   TALLY_POD_NAME, TALLY_POD_NAMESPACE
 *   TALLY_SCHEMA_<NAME>[_FILE]     Avro/Protobuf schema text (decode/schema-source.ts)
 *   TALLY_MAX_BUFFERED_BYTES       byte budget for buffered, not yet durable data (default 64 MiB)
 *   TALLY_SHUTDOWN_GRACE_MS        how long SIGTERM may take to drain (default 25000, under the pod's 30 s)
 *   TALLY_KAFKA_SESSION_TIMEOUT_MS how soon the group notices a dead worker (default 30000)
 * Anything missing or malformed is a SettingsError naming it; main.ts prints it as one line, exit code 2.
 */
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { formatProblems, validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import type { KafkaConnection } from "../../contracts/kafka/kafka-connection.js";
import { defaultConsumerGroup, type RuntimeConfig } from "../../contracts/runtime-config.js";

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
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value;
}

function required(env: Env, name: string, why: string): string {
  const value = nonEmpty(env, name);
  if (value === undefined) throw new SettingsError(`${name} is not set (${why})`);
  return value;
}

function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name}=${raw} is not an integer in [${min}, ${max}]`);
  }
  return value;
}

function ipAddress(env: Env, name: string, fallback: string): string {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (isIP(raw) === 0) throw new SettingsError(`${name}=${raw} is not an IP address`);
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
      required(env, "TALLY_PIPELINE_CONFIG", "the runtime configuration; or pass --config <pipeline.yaml>"),
      "TALLY_PIPELINE_CONFIG",
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
  const brokerEnv = nonEmpty(env, "TALLY_KAFKA_BROKERS");
  const brokers =
    brokerEnv !== undefined
      ? brokerEnv
          .split(",")
          .map((b) => b.trim())
          .filter((b) => b !== "")
      : (kafkaSpec.brokers ?? []);
  if (brokers.length === 0) {
    throw new SettingsError(
      "TALLY_KAFKA_BROKERS is not set and spec.source.kafka.brokers is empty (where is Kafka?)",
    );
  }
  const sasl =
    kafkaSpec.sasl === undefined
      ? undefined
      : {
          mechanism: kafkaSpec.sasl.mechanism,
          username: required(env, "TALLY_KAFKA_SASL_USERNAME", "spec.source.kafka.sasl is set"),
          password: required(env, "TALLY_KAFKA_SASL_PASSWORD", "spec.source.kafka.sasl is set"),
        };
  const ssl = kafkaSpec.tls?.enabled === true ? { ca: nonEmpty(env, "TALLY_KAFKA_CA") } : undefined;

  const clickhouse = {
    url: required(env, "TALLY_CLICKHOUSE_URL", "where the raw and window tables are"),
    username: nonEmpty(env, "TALLY_CLICKHOUSE_USERNAME") ?? "default",
    password: env.TALLY_CLICKHOUSE_PASSWORD ?? "",
  };
  const needsRedis =
    spec.sink.redis !== undefined || (spec.enrich ?? []).some((e) => e.source === "redisHash");
  const redisUrl = needsRedis
    ? required(env, "TALLY_REDIS_URL", "spec.sink.redis or a redisHash enrichment is set")
    : nonEmpty(env, "TALLY_REDIS_URL");

  return {
    config,
    kafka: { brokers, ssl, sasl },
    clickhouse,
    redisUrl,
    metricsPort:
      nonEmpty(env, "TALLY_METRICS_PORT") === undefined
        ? undefined
        : integer(env, "TALLY_METRICS_PORT", 0, 0, 65_535),
    metricsHost: ipAddress(env, "TALLY_METRICS_HOST", "0.0.0.0"),
    podName: nonEmpty(env, "TALLY_POD_NAME") ?? `local-${process.pid}`,
    podNamespace: nonEmpty(env, "TALLY_POD_NAMESPACE"),
    budgetBytes: integer(env, "TALLY_MAX_BUFFERED_BYTES", 64 * 1024 * 1024, 1024 * 1024),
    shutdownGraceMs: integer(env, "TALLY_SHUTDOWN_GRACE_MS", 25_000, 1_000),
    sessionTimeoutMs: integer(env, "TALLY_KAFKA_SESSION_TIMEOUT_MS", 30_000, 6_000, 300_000),
    createTables: values["create-tables"] === true,
  };
}
