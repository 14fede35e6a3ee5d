/**
 * The runtime's environment contract from both sides at once: the operator renders a Pipeline's pod,
 * the kubelet's resolution (the pod-runner's, test/env/pod-runner/pod-env.ts) turns its env into
 * values with sample Secrets, and the worker's settings parser must accept them and use every one.
 * Lives outside operator/ and runtime/ because it imports both programs.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { runtimeConfigKey } from "../../contracts/runtime-config.js";
import { type RuntimeEnvVar, runtimeEnv } from "../../contracts/runtime-env.js";
import { objectNameFor, renderPipelineObjects } from "../../operator/pipeline/render-pipeline-objects.js";
import { parseWorkerSettings, SettingsError, type WorkerSettings } from "../../runtime/worker/settings.js";
import { type ObjectRef, resolveContainer } from "../env/pod-runner/pod-env.js";
import { examplePipelineSpec } from "../support/fixtures/clickhouse-fixtures.js";

const ref = { namespace: "shop", name: "clickstream", uid: "0b3c6d8e-1111-2222-3333-444455556666" };
const settings = { image: "tally-runtime:0.1.0", version: "0.1.0", metricsPort: 9464 };

/** The example pipeline with every optional connection: brokers, SASL and a CA from Secrets, and Redis. */
function fullSpec(): PipelineSpec {
  const spec = examplePipelineSpec();
  spec.source.kafka = {
    ...spec.source.kafka,
    brokers: undefined,
    brokersSecretRef: { name: "kafka-endpoints", key: "bootstrap" },
    tls: { enabled: true, caSecretRef: { name: "kafka-ca", key: "ca.pem" } },
    sasl: { mechanism: "scram-sha-512", credentialsSecretRef: { name: "kafka-user" } },
  };
  expect(spec.sink.redis, "the example must sink to Redis").toBeDefined();
  return spec;
}

/** Sample Secret data under the keys the spec and the contract name; every value distinct. */
const secrets: Record<string, Record<string, string>> = {
  "kafka-endpoints": { bootstrap: "k1.example:9093, k2.example:9093" },
  "kafka-ca": { "ca.pem": "-----BEGIN CERTIFICATE-----\nsample\n-----END CERTIFICATE-----\n" },
  "kafka-user": { username: "sasl-user", password: "sasl-secret" },
  "tally-clickhouse": { url: "https://ch.example:8443", username: "ch-user", password: "ch-secret" },
  "tally-redis": { url: "redis://redis.example:6380/2" },
};

function renderedProcess(spec: PipelineSpec) {
  const objects = renderPipelineObjects(ref, spec, settings);
  const template = objects.deployment.spec?.template;
  const container = template?.spec?.containers[0];
  if (!template?.spec || !container) throw new Error("the Deployment has no pod template container");
  const pod: V1Pod = {
    metadata: {
      ...template.metadata,
      name: `${objectNameFor(ref.name)}-7d4b9-x2x5q`,
      namespace: ref.namespace,
    },
    spec: template.spec,
  };
  const lookup = (object: ObjectRef) =>
    object.kind === "ConfigMap"
      ? object.name === objects.configMap.metadata?.name
        ? objects.configMap.data
        : undefined
      : secrets[object.name];
  const resolved = resolveContainer(pod, container, lookup, { ip: "10.1.2.3" });
  if (!resolved.ok) throw new Error(`the rendered pod would not start: ${resolved.reason}`);
  return { objects, pod, env: resolved.env, args: resolved.args };
}

const noFiles = (path: string): string => {
  throw new Error(`the pod reads no file (${path})`);
};

function parse(args: readonly string[], env: Record<string, string>): WorkerSettings | SettingsError {
  try {
    return parseWorkerSettings(args, env, noFiles);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
}

describe("the runtime's environment, rendered by the operator and read by the worker", () => {
  it("parses a pod rendered with SASL, TLS and Redis and picks up every value", () => {
    const spec = fullSpec();
    const { objects, pod, env, args } = renderedProcess(spec);
    const s = parseWorkerSettings(args, env, noFiles);

    const clickhouseSecret = secrets[spec.sink.clickhouse.connectionSecretRef.name];
    const redisSecret = secrets[spec.sink.redis?.connectionSecretRef.name ?? ""];
    const kafka = spec.source.kafka;
    // The worker re-applies the spec's defaults, operator fields included: the rendered spec is a part of it.
    const { spec: renderedSpec, ...rendered } = JSON.parse(
      objects.configMap.data?.[runtimeConfigKey] ?? "{}",
    );
    const { spec: parsedSpec, ...parsed } = s.config;
    expect(parsed).toEqual(rendered);
    expect(parsedSpec).toMatchObject(renderedSpec);
    expect(s.kafka.brokers).toEqual(secrets["kafka-endpoints"]?.bootstrap?.split(",").map((b) => b.trim()));
    expect(s.kafka.sasl).toEqual({ mechanism: kafka.sasl?.mechanism, ...secrets["kafka-user"] });
    expect(s.kafka.ssl).toEqual({ ca: secrets["kafka-ca"]?.["ca.pem"] });
    expect(s.clickhouse).toEqual(clickhouseSecret);
    expect(s.redisUrl).toBe(redisSecret?.url);
    expect(s.metricsPort).toBe(settings.metricsPort);
    expect(s.podName).toBe(pod.metadata?.name);
    expect(s.podNamespace).toBe(ref.namespace);
  });

  it("uses every variable the operator renders: without any one of them the settings differ or fail", () => {
    const { env, args } = renderedProcess(fullSpec());
    const full = JSON.stringify(parseWorkerSettings(args, env, noFiles));
    const names = Object.keys(env);
    // This pod exercises everything the operator can render.
    expect(names.toSorted()).toEqual(
      Object.values(runtimeEnv as Record<string, RuntimeEnvVar>)
        .filter((v) => v.setBy.includes("operator"))
        .map((v) => v.name)
        .toSorted(),
    );
    const unread = names.filter((name) => {
      const { [name]: _dropped, ...without } = env;
      const parsed = parse(args, without);
      return !(parsed instanceof SettingsError) && JSON.stringify(parsed) === full;
    });
    expect(unread).toEqual([]);
  });

  it("starts the minimal example pod too (no SASL, TLS or broker Secret)", () => {
    const spec = examplePipelineSpec();
    const { env, args } = renderedProcess(spec);
    const s = parseWorkerSettings(args, env, noFiles);
    expect(s.kafka.brokers).toEqual(spec.source.kafka.brokers);
    expect(s.kafka.sasl).toBeUndefined();
    expect(s.clickhouse).toEqual(secrets[spec.sink.clickhouse.connectionSecretRef.name]);
  });
});
