import type { V1EnvVar } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { runtimeConfigKey } from "../../contracts/runtime-config.js";
import { type RuntimeEnvVar, runtimeEnv } from "../../contracts/runtime-env.js";
import { examplePipelineSpec } from "../../test/support/fixtures/clickhouse-fixtures.js";
import { configHashAnnotation } from "../labels.js";
import { renderPipelineObjects } from "./render-pipeline-objects.js";

const ref = { namespace: "shop", name: "clickstream", uid: "0b3c6d8e-1111-2222-3333-444455556666" };
const settings = { image: "tally-runtime:0.1.0", version: "0.1.0", metricsPort: 9464 };

function render(spec: PipelineSpec = { ...examplePipelineSpec(), replicas: 2 }) {
  return renderPipelineObjects(ref, spec, settings);
}

/** How a rendered variable differs from the contract's declaration of where it comes from. */
function sourceMismatch(variable: RuntimeEnvVar, rendered: V1EnvVar): string | undefined {
  const from = rendered.valueFrom;
  const source = variable.source;
  switch (source.kind) {
    case "configMap":
      return from?.configMapKeyRef?.key === source.key ? undefined : `expected ConfigMap key ${source.key}`;
    case "podField":
      return from?.fieldRef?.fieldPath === source.fieldPath
        ? undefined
        : `expected field ${source.fieldPath}`;
    case "operatorSetting":
      return rendered.value !== undefined && from === undefined ? undefined : "expected a plain value";
    case "secretKey":
      return from?.secretKeyRef?.key === source.key
        ? undefined
        : `expected key ${source.key} of ${source.secretRef}`;
    case "secretKeyRef":
      return from?.secretKeyRef !== undefined ? undefined : `expected the Secret key ${source.secretKeyRef}`;
    case "process":
      return "declared as not rendered by the operator";
  }
}

describe("renderPipelineObjects", () => {
  it("renders the example pipeline's objects (golden file)", async () => {
    const o = render();
    await expect(
      [o.configMap, o.deployment, o.service, o.podDisruptionBudget].map((x) => stringify(x)).join("---\n"),
    ).toMatchFileSnapshot("testdata/clickstream-objects.yaml");
  });

  it("runs pods under the restricted pod security standard", () => {
    const pod = render().deployment.spec?.template.spec;
    const container = pod?.containers[0];
    expect(pod?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod?.automountServiceAccountToken).toBe(false);
  });

  it("passes credentials only as Secret references, never in the ConfigMap", () => {
    const o = render();
    const env = o.deployment.spec?.template.spec?.containers[0]?.env ?? [];
    const secretVars = env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    expect(secretVars).toEqual([
      "TALLY_CLICKHOUSE_URL",
      "TALLY_CLICKHOUSE_USERNAME",
      "TALLY_CLICKHOUSE_PASSWORD",
      "TALLY_REDIS_URL",
    ]);
    expect(env.every((e) => e.value === undefined || !/password|secret/i.test(e.name))).toBe(true);
    expect(o.configMap.data?.[runtimeConfigKey]).not.toMatch(/password/i);
  });

  it("adds SASL and broker Secrets when the source uses them", () => {
    const spec = examplePipelineSpec();
    spec.source.kafka = {
      ...spec.source.kafka,
      brokers: undefined,
      brokersSecretRef: { name: "kafka", key: "brokers" },
      sasl: { mechanism: "scram-sha-512", credentialsSecretRef: { name: "kafka-user" } },
    };
    const env = render(spec).deployment.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === "TALLY_KAFKA_BROKERS")?.valueFrom?.secretKeyRef).toEqual({
      name: "kafka",
      key: "brokers",
    });
    expect(env.find((e) => e.name === "TALLY_KAFKA_SASL_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({
      name: "kafka-user",
      key: "password",
    });
  });

  it("renders only the variables the runtime's environment contract declares, each from its source", () => {
    const spec = examplePipelineSpec();
    spec.source.kafka = {
      ...spec.source.kafka,
      brokers: undefined,
      brokersSecretRef: { name: "kafka", key: "brokers" },
      tls: { enabled: true, caSecretRef: { name: "kafka-ca", key: "ca.crt" } },
      sasl: { mechanism: "plain", credentialsSecretRef: { name: "kafka-user" } },
    };
    const env = render(spec).deployment.spec?.template.spec?.containers[0]?.env ?? [];
    const declared: readonly RuntimeEnvVar[] = Object.values(runtimeEnv);
    const mismatches = env.flatMap((rendered) => {
      const variable = declared.find((v) => v.name === rendered.name);
      const problem =
        variable === undefined
          ? "not declared in contracts/runtime-env.ts"
          : sourceMismatch(variable, rendered);
      return problem === undefined ? [] : [`${rendered.name}: ${problem}`];
    });
    expect(mismatches).toEqual([]);
    // With every optional connection set, the pod gets every variable the contract says the operator sets.
    expect(env.map((e) => e.name).toSorted()).toEqual(
      declared
        .filter((v) => v.setBy.includes("operator"))
        .map((v) => v.name)
        .toSorted(),
    );
  });

  it("renders identical objects for an identical spec, so a restarted operator writes nothing", () => {
    expect(stringify(render())).toBe(stringify(render()));
  });

  it("changes the config hash, and so rolls the pods, when the spec changes", () => {
    const before = render().deployment.spec?.template.metadata?.annotations?.[configHashAnnotation];
    const spec = examplePipelineSpec();
    spec.eventTime = { ...spec.eventTime, allowedLateness: "5m" };
    const after = render(spec).deployment.spec?.template.metadata?.annotations?.[configHashAnnotation];
    expect(after).toMatch(/^[0-9a-f]{16}$/);
    expect(after).not.toBe(before);
  });

  it("renders the same ConfigMap and pod template across a scale, so scaling does not roll pods", () => {
    // A write to the scale subresource changes spec.replicas and bumps metadata.generation; the
    // autoscaler's settings may change too (e.g. mode auto -> recommend). None of it is the runtime's.
    const scaled = (generation: number, edit: (spec: PipelineSpec) => void) => {
      const spec = examplePipelineSpec();
      edit(spec);
      const pipelineRef: typeof ref & { generation: number } = { ...ref, generation };
      return renderPipelineObjects(pipelineRef, spec, settings);
    };
    const before = scaled(3, (s) => {
      s.replicas = 1;
    });
    const after = scaled(4, (s) => {
      s.replicas = 3;
      s.scaling = { ...s.scaling, mode: "recommend", maxReplicas: 6 };
    });
    expect(after.configMap.data).toEqual(before.configMap.data);
    expect(after.deployment.spec?.template).toEqual(before.deployment.spec?.template);
    expect(after.configHash).toBe(before.configHash);
    expect([before.deployment.spec?.replicas, after.deployment.spec?.replicas]).toEqual([1, 3]);
    const config = JSON.parse(after.configMap.data?.[runtimeConfigKey] ?? "{}") as Record<string, unknown>;
    expect(config).toMatchObject({ metadata: { namespace: "shop", name: "clickstream" } });
    expect(Object.keys(config.spec as object)).not.toContain("replicas");
  });

  it("starts a pipeline that nothing has scaled yet at its scaling minimum, at least one pod", () => {
    const spec = examplePipelineSpec();
    spec.scaling = { ...spec.scaling, minReplicas: 0, activationLag: 100 };
    expect(render(spec).deployment.spec?.replicas).toBe(1);
    spec.scaling = { ...spec.scaling, minReplicas: 2, maxReplicas: 4 };
    expect(render(spec).deployment.spec?.replicas).toBe(2);
  });

  it("applies template overrides without letting them replace the selector labels", () => {
    const spec = examplePipelineSpec();
    spec.template = {
      resources: { requests: { cpu: "1" }, limits: { memory: "1Gi" } },
      podLabels: { team: "growth", "tally.dev/pipeline": "hijack" },
      nodeSelector: { pool: "stream" },
    };
    const pod = render(spec).deployment.spec?.template;
    expect(pod?.metadata?.labels?.team).toBe("growth");
    expect(pod?.metadata?.labels?.["tally.dev/pipeline"]).toBe("clickstream");
    expect(pod?.spec?.nodeSelector).toEqual({ pool: "stream" });
    expect(pod?.spec?.containers[0]?.resources).toEqual({
      requests: { cpu: "1", memory: "256Mi" },
      limits: { memory: "1Gi" },
    });
  });

  it("owns every object through a controller owner reference, for garbage collection", () => {
    const o = render();
    for (const object of [o.configMap, o.deployment, o.service, o.podDisruptionBudget]) {
      expect(object.metadata?.ownerReferences).toEqual([
        {
          apiVersion: "tally.dev/v1alpha1",
          kind: "Pipeline",
          name: "clickstream",
          uid: ref.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });
});
