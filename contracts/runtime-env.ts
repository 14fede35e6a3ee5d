/**
 * The runtime's environment: every variable a runtime process reads, declared once. The operator's
 * renderer (operator/pipeline/render-pipeline-objects.ts) puts the ones it sets on the pod from here,
 * the worker's settings (runtime/worker/settings.ts) read them by these names and defaults, and the
 * local stack's pod-runner overrides the metrics address with them. The configuration file the first
 * variable carries is runtime-config.ts.
 */
import { runtimeConfigKey } from "./runtime-config.js";

/** The keys of a ClickHouse connection Secret (a Pipeline's or Rollup's `connectionSecretRef`). */
export const clickhouseSecretKeys = { url: "url", username: "username", password: "password" } as const;
/** The key of a Redis connection Secret (`spec.sink.redis.connectionSecretRef`). */
export const redisSecretKeys = { url: "url" } as const;
/** The keys of a Kafka SASL credentials Secret (`spec.source.kafka.sasl.credentialsSecretRef`). */
export const kafkaSaslSecretKeys = { username: "username", password: "password" } as const;

/**
 * Who puts a variable into a runtime process's environment: the operator's renderer, the local stack's
 * pod-runner (overriding the pod's value), whoever starts `tally-runtime` by hand, or a test harness.
 */
type Setter = "operator" | "pod-runner" | "user" | "test";

/** Where the value comes from in a pod the operator renders; `process` is anything else. */
type Source =
  /** The Pipeline's own ConfigMap, at `key`. */
  | { readonly kind: "configMap"; readonly key: string }
  /** The downward API. */
  | { readonly kind: "podField"; readonly fieldPath: "metadata.name" | "metadata.namespace" }
  /** A plain value from the operator's own settings. */
  | { readonly kind: "operatorSetting" }
  /** The Secret the spec field `secretRef` names, at the fixed `key`. */
  | { readonly kind: "secretKey"; readonly secretRef: string; readonly key: string }
  /** The Secret and key the spec field `secretKeyRef` names (a `{name, key}` pair). */
  | { readonly kind: "secretKeyRef"; readonly secretKeyRef: string }
  /** Not rendered by the operator: set in the process's environment. */
  | { readonly kind: "process" };

type Requirement =
  | { readonly kind: "required" }
  | { readonly kind: "requiredWhen"; readonly when: string }
  /** `default` is what an unset (or blank) variable means; undefined when the meaning says it. */
  | { readonly kind: "optional"; readonly default: string | number | undefined };

export interface RuntimeEnvVar {
  readonly name: `TALLY_${string}`;
  readonly setBy: readonly Setter[];
  readonly source: Source;
  readonly requirement: Requirement;
  readonly meaning: string;
}

/** A variable whose value comes from a source of this kind. */
export type RuntimeEnvVarFrom<K extends Source["kind"]> = RuntimeEnvVar & {
  readonly source: Extract<Source, { readonly kind: K }>;
};

export const runtimeEnv = {
  pipelineConfig: {
    name: "TALLY_PIPELINE_CONFIG",
    setBy: ["operator"],
    source: { kind: "configMap", key: runtimeConfigKey },
    requirement: { kind: "requiredWhen", when: "pipeline-worker mode (no --config <pipeline.yaml>)" },
    meaning: "the RuntimeConfig JSON (runtime-config.ts)",
  },
  podName: {
    name: "TALLY_POD_NAME",
    setBy: ["operator", "test"],
    source: { kind: "podField", fieldPath: "metadata.name" },
    requirement: { kind: "optional", default: undefined },
    meaning: "the pod's name, in logs and metrics (unset: local-<pid>)",
  },
  podNamespace: {
    name: "TALLY_POD_NAMESPACE",
    setBy: ["operator"],
    source: { kind: "podField", fieldPath: "metadata.namespace" },
    requirement: { kind: "optional", default: undefined },
    meaning: "the pod's namespace, in logs and metrics",
  },
  metricsPort: {
    name: "TALLY_METRICS_PORT",
    setBy: ["operator", "pod-runner", "test"],
    source: { kind: "operatorSetting" },
    requirement: { kind: "optional", default: undefined },
    meaning: "serve /metrics, /healthz, /readyz on this port (0: any free port; unset: no server)",
  },
  metricsHost: {
    name: "TALLY_METRICS_HOST",
    setBy: ["pod-runner", "test"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: "0.0.0.0" },
    meaning: "the IP address that server binds (every address, so a pod's Service reaches it)",
  },
  kafkaBrokers: {
    name: "TALLY_KAFKA_BROKERS",
    setBy: ["operator", "user", "test"],
    source: { kind: "secretKeyRef", secretKeyRef: "spec.source.kafka.brokersSecretRef" },
    requirement: { kind: "requiredWhen", when: "spec.source.kafka.brokers is empty" },
    meaning: "comma-separated Kafka brokers; overrides spec.source.kafka.brokers when set",
  },
  kafkaSaslUsername: {
    name: "TALLY_KAFKA_SASL_USERNAME",
    setBy: ["operator", "user"],
    source: {
      kind: "secretKey",
      secretRef: "spec.source.kafka.sasl.credentialsSecretRef",
      key: kafkaSaslSecretKeys.username,
    },
    requirement: { kind: "requiredWhen", when: "spec.source.kafka.sasl is set" },
    meaning: "the SASL user",
  },
  kafkaSaslPassword: {
    name: "TALLY_KAFKA_SASL_PASSWORD",
    setBy: ["operator", "user"],
    source: {
      kind: "secretKey",
      secretRef: "spec.source.kafka.sasl.credentialsSecretRef",
      key: kafkaSaslSecretKeys.password,
    },
    requirement: { kind: "requiredWhen", when: "spec.source.kafka.sasl is set" },
    meaning: "the SASL user's password",
  },
  kafkaCa: {
    name: "TALLY_KAFKA_CA",
    setBy: ["operator", "user"],
    source: { kind: "secretKeyRef", secretKeyRef: "spec.source.kafka.tls.caSecretRef" },
    requirement: { kind: "optional", default: undefined },
    meaning: "PEM CA bundle for Kafka TLS (unset: the system's CAs); read only when tls.enabled",
  },
  kafkaSessionTimeoutMs: {
    name: "TALLY_KAFKA_SESSION_TIMEOUT_MS",
    setBy: ["user", "test"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: 30_000 },
    meaning: "how soon the consumer group notices a dead worker",
  },
  clickhouseUrl: {
    name: "TALLY_CLICKHOUSE_URL",
    setBy: ["operator", "user", "test"],
    source: {
      kind: "secretKey",
      secretRef: "spec.sink.clickhouse.connectionSecretRef",
      key: clickhouseSecretKeys.url,
    },
    requirement: { kind: "required" },
    meaning: "the ClickHouse HTTP endpoint holding the raw and window tables",
  },
  clickhouseUsername: {
    name: "TALLY_CLICKHOUSE_USERNAME",
    setBy: ["operator", "user", "test"],
    source: {
      kind: "secretKey",
      secretRef: "spec.sink.clickhouse.connectionSecretRef",
      key: clickhouseSecretKeys.username,
    },
    requirement: { kind: "optional", default: "default" },
    meaning: "the ClickHouse user",
  },
  clickhousePassword: {
    name: "TALLY_CLICKHOUSE_PASSWORD",
    setBy: ["operator", "user", "test"],
    source: {
      kind: "secretKey",
      secretRef: "spec.sink.clickhouse.connectionSecretRef",
      key: clickhouseSecretKeys.password,
    },
    requirement: { kind: "optional", default: "" },
    meaning: "the ClickHouse user's password",
  },
  redisUrl: {
    name: "TALLY_REDIS_URL",
    setBy: ["operator", "user", "test"],
    source: { kind: "secretKey", secretRef: "spec.sink.redis.connectionSecretRef", key: redisSecretKeys.url },
    requirement: { kind: "requiredWhen", when: "spec.sink.redis or a redisHash enrichment is set" },
    meaning: "the Redis live windows are written to and enrichments read from",
  },
  maxBufferedBytes: {
    name: "TALLY_MAX_BUFFERED_BYTES",
    setBy: ["user"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: 64 * 1024 * 1024 },
    meaning: "byte budget for buffered data that is not yet durable",
  },
  shutdownGraceMs: {
    name: "TALLY_SHUTDOWN_GRACE_MS",
    setBy: ["user"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: 25_000 },
    meaning: "how long SIGTERM may take to drain (under the pod's 30 s termination grace)",
  },
  logLevel: {
    name: "TALLY_LOG_LEVEL",
    setBy: ["user", "test"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: "info" },
    meaning: "the pino log level",
  },
  testCrashAt: {
    name: "TALLY_TEST_CRASH_AT",
    setBy: ["test"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: undefined },
    meaning: "fault injection: the crash point at which the worker kills itself (unset: never)",
  },
  testCrashAfterBatches: {
    name: "TALLY_TEST_CRASH_AFTER_BATCHES",
    setBy: ["test"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: 3 },
    meaning: "fault injection: crash at the n-th batch that reaches TALLY_TEST_CRASH_AT",
  },
  benchDiscardResults: {
    name: "TALLY_BENCH_DISCARD_RESULTS",
    setBy: ["test"],
    source: { kind: "process" },
    requirement: { kind: "optional", default: undefined },
    meaning:
      "bench only (test/bench/flink.bench.ts): windows computed, results discarded; nothing is written to ClickHouse, Redis or the dead-letter topic, and a summary of the windows and the CPU from first record to last batch goes to this file at stop (unset: off)",
  },
} as const satisfies Record<string, RuntimeEnvVar>;

/**
 * Schema text for Avro/Protobuf decoding, one variable (or a `_FILE` path) per ConfigMap key the
 * Pipeline names: TALLY_SCHEMA_<NAME>, where <NAME> is `<configmap>_<key>` upper-cased with every
 * character outside [A-Z0-9] replaced by `_` (ConfigMap `click-schemas`, key `click.avsc` →
 * TALLY_SCHEMA_CLICK_SCHEMAS_CLICK_AVSC). Set by the user (runtime/decode/schema-source.ts reads them).
 */
const schemaEnvPrefix = "TALLY_SCHEMA_";
export const schemaFileSuffix = "_FILE";

export function schemaEnvName(ref: { readonly name: string; readonly key: string }): string {
  return `${schemaEnvPrefix}${`${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

const declaredNames: ReadonlySet<string> = new Set(Object.values(runtimeEnv).map((v) => v.name));

/** Whether the runtime reads a variable of this name (a declared one or a schema variable). */
export function isRuntimeEnvName(name: string): boolean {
  return (
    declaredNames.has(name) ||
    (name.startsWith(schemaEnvPrefix) && /^[A-Z0-9_]+$/.test(name.slice(schemaEnvPrefix.length)))
  );
}
