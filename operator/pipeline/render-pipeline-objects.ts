/**
 * A Pipeline's Kubernetes objects (pure): the runtime configuration ConfigMap, the Deployment of
 * runtime pods, the metrics Service and the PodDisruptionBudget. The pod template carries a hash of
 * everything the pods read at start, so any change rolls them and an unchanged spec renders
 * byte-identical objects (a restarted operator then writes nothing). Nothing else goes into that hash:
 * a scale (spec.replicas, which also bumps metadata.generation) only adds or removes pods.
 */
import { createHash } from "node:crypto";
import type {
  V1ConfigMap,
  V1Deployment,
  V1EnvVar,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1ResourceRequirements,
  V1Service,
} from "@kubernetes/client-node";
import { configuredReplicas } from "../../api/v1alpha1/defaults.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { apiVersion } from "../../api/v1alpha1/resources.js";
import {
  consumerGroupOf,
  type RuntimeConfig,
  runtimeConfigKey,
  runtimeSpecOf,
} from "../../contracts/runtime-config.js";
import { type RuntimeEnvVarFrom, runtimeEnv } from "../../contracts/runtime-env.js";
import { configHashAnnotation, pipelineLabels, pipelineSelectorLabels } from "../labels.js";

/** What the operator is configured with (from its own Deployment), injected for purity. */
export interface RuntimeSettings {
  readonly image: string;
  readonly version: string;
  readonly metricsPort: number;
}

interface PipelineRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export function objectNameFor(pipeline: string): string {
  return `tally-${pipeline}`;
}

function ownerReference(ref: PipelineRef): V1OwnerReference {
  return {
    apiVersion,
    kind: "Pipeline",
    name: ref.name,
    uid: ref.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function renderRuntimeConfig(ref: PipelineRef, spec: PipelineSpec): RuntimeConfig {
  return {
    apiVersion,
    kind: "Pipeline",
    metadata: { namespace: ref.namespace, name: ref.name },
    spec: runtimeSpecOf(spec),
    consumerGroup: consumerGroupOf(ref.namespace, ref.name, spec),
  };
}

/** A variable from the contract's fixed key of the Secret the spec names. */
function secretEnv(variable: RuntimeEnvVarFrom<"secretKey">, secret: string): V1EnvVar {
  return { name: variable.name, valueFrom: { secretKeyRef: { name: secret, key: variable.source.key } } };
}

/** A variable from the Secret and key the spec names. */
function secretRefEnv(
  variable: RuntimeEnvVarFrom<"secretKeyRef">,
  ref: { name: string; key: string },
): V1EnvVar {
  return { name: variable.name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
}

/** Credentials reach the pods only as Secret references; the ConfigMap never holds one. */
function renderEnv(ref: PipelineRef, spec: PipelineSpec, settings: RuntimeSettings): V1EnvVar[] {
  const kafka = spec.source.kafka;
  const { pipelineConfig, podName, podNamespace, metricsPort } = runtimeEnv;
  const env: V1EnvVar[] = [
    {
      name: pipelineConfig.name,
      valueFrom: { configMapKeyRef: { name: objectNameFor(ref.name), key: pipelineConfig.source.key } },
    },
    { name: podName.name, valueFrom: { fieldRef: { fieldPath: podName.source.fieldPath } } },
    { name: podNamespace.name, valueFrom: { fieldRef: { fieldPath: podNamespace.source.fieldPath } } },
    { name: metricsPort.name, value: String(settings.metricsPort) },
  ];
  if (kafka.brokersSecretRef) env.push(secretRefEnv(runtimeEnv.kafkaBrokers, kafka.brokersSecretRef));
  if (kafka.sasl) {
    env.push(secretEnv(runtimeEnv.kafkaSaslUsername, kafka.sasl.credentialsSecretRef.name));
    env.push(secretEnv(runtimeEnv.kafkaSaslPassword, kafka.sasl.credentialsSecretRef.name));
  }
  if (kafka.tls?.caSecretRef) env.push(secretRefEnv(runtimeEnv.kafkaCa, kafka.tls.caSecretRef));
  const clickhouse = spec.sink.clickhouse.connectionSecretRef.name;
  env.push(secretEnv(runtimeEnv.clickhouseUrl, clickhouse));
  env.push(secretEnv(runtimeEnv.clickhouseUsername, clickhouse));
  env.push(secretEnv(runtimeEnv.clickhousePassword, clickhouse));
  if (spec.sink.redis) env.push(secretEnv(runtimeEnv.redisUrl, spec.sink.redis.connectionSecretRef.name));
  return env;
}

function renderResources(spec: PipelineSpec): V1ResourceRequirements {
  const requested = spec.template?.resources;
  return {
    requests: { cpu: "250m", memory: "256Mi", ...requested?.requests },
    limits: { memory: "512Mi", ...requested?.limits },
  };
}

interface PipelineObjects {
  readonly configMap: V1ConfigMap;
  readonly deployment: V1Deployment;
  readonly service: V1Service;
  readonly podDisruptionBudget: V1PodDisruptionBudget;
  readonly configHash: string;
}

export function renderPipelineObjects(
  ref: PipelineRef,
  spec: PipelineSpec,
  settings: RuntimeSettings,
): PipelineObjects {
  const name = objectNameFor(ref.name);
  const labels = pipelineLabels(ref.name, settings.version);
  const selector = pipelineSelectorLabels(ref.name);
  const owner = [ownerReference(ref)];
  const configJson = `${JSON.stringify(renderRuntimeConfig(ref, spec), null, 2)}\n`;
  const env = renderEnv(ref, spec, settings);
  const configHash = createHash("sha256")
    .update(JSON.stringify({ configJson, env, image: settings.image, template: spec.template ?? null }))
    .digest("hex")
    .slice(0, 16);
  const port = settings.metricsPort;

  const configMap: V1ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: ref.namespace, labels, ownerReferences: owner },
    data: { [runtimeConfigKey]: configJson },
  };

  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ref.namespace, labels, ownerReferences: owner },
    spec: {
      replicas: configuredReplicas(spec),
      selector: { matchLabels: selector },
      // A new pod must be ready before an old one leaves, so a rollout never drops consumers to zero.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...labels, ...spec.template?.podLabels, ...selector },
          annotations: {
            ...spec.template?.podAnnotations,
            [configHashAnnotation]: configHash,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(port),
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          ...(spec.template?.nodeSelector ? { nodeSelector: spec.template.nodeSelector } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "runtime",
              image: settings.image,
              imagePullPolicy: "IfNotPresent",
              args: ["pipeline-worker"],
              env,
              ports: [{ name: "metrics", containerPort: port, protocol: "TCP" }],
              resources: renderResources(spec),
              livenessProbe: {
                httpGet: { path: "/healthz", port: "metrics" },
                periodSeconds: 10,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: "/readyz", port: "metrics" },
                periodSeconds: 5,
                failureThreshold: 2,
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
        },
      },
    },
  };

  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ref.namespace, labels, ownerReferences: owner },
    spec: { selector, ports: [{ name: "metrics", port, targetPort: "metrics", protocol: "TCP" }] },
  };

  const podDisruptionBudget: V1PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, namespace: ref.namespace, labels, ownerReferences: owner },
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  };

  return { configMap, deployment, service, podDisruptionBudget, configHash };
}
