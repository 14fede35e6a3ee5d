import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  expandVars,
  fieldValue,
  mainContainer,
  type ObjectLookup,
  referencedObjects,
  resolveContainer,
} from "./pod-env.js";

const host = { ip: "127.0.0.1" };

function pod(container: V1Container, extra: Partial<V1Pod["metadata"]> = {}): V1Pod {
  return {
    metadata: {
      name: "worker-abc",
      namespace: "shop",
      uid: "u-1",
      labels: { "tally.dev/component": "pipeline-worker", app: "w" },
      annotations: { "tally.dev/config-hash": "h1" },
      ...extra,
    },
    spec: { nodeName: "kwok-node-0", serviceAccountName: "runner", containers: [container] },
    status: { phase: "Running", podIP: "10.244.0.7", hostIP: "10.0.0.1" },
  };
}

const objects: Record<string, Record<string, string>> = {
  "Secret/kafka": { brokers: "k1:9092,k2:9092", password: "s3cret" },
  "ConfigMap/runtime": { "config.json": '{"a":1}', mode: "fast" },
};
const lookup: ObjectLookup = (ref) => objects[`${ref.kind}/${ref.name}`];

describe("expandVars", () => {
  const vars = new Map([
    ["A", "1"],
    ["B", "two"],
  ]);
  it("replaces defined references and leaves undefined ones as written", () => {
    expect(expandVars("$(A)-$(B)-$(C)", vars)).toBe("1-two-$(C)");
  });
  it("treats $$ as an escaped dollar and other dollars literally", () => {
    expect(expandVars("$$(A) $x $ end$", vars)).toBe("$(A) $x $ end$");
  });
  it("keeps an unterminated reference", () => {
    expect(expandVars("x$(A", vars)).toBe("x$(A");
  });
});

describe("fieldValue", () => {
  const p = pod({ name: "runtime" });
  it("answers the downward API fields, with this machine's address for the IPs", () => {
    expect(fieldValue(p, "metadata.name", host)).toBe("worker-abc");
    expect(fieldValue(p, "metadata.namespace", host)).toBe("shop");
    expect(fieldValue(p, "metadata.uid", host)).toBe("u-1");
    expect(fieldValue(p, "spec.nodeName", host)).toBe("kwok-node-0");
    expect(fieldValue(p, "spec.serviceAccountName", host)).toBe("runner");
    expect(fieldValue(p, "status.podIP", host)).toBe("127.0.0.1");
    expect(fieldValue(p, "status.hostIP", host)).toBe("127.0.0.1");
    expect(fieldValue(p, "metadata.labels['app']", host)).toBe("w");
    expect(fieldValue(p, "metadata.annotations['tally.dev/config-hash']", host)).toBe("h1");
    expect(fieldValue(p, "metadata.labels['missing']", host)).toBe("");
  });
  it("does not invent unsupported fields", () => {
    expect(fieldValue(p, "status.phase", host)).toBeUndefined();
  });
});

describe("resolveContainer", () => {
  it("resolves value, Secret and ConfigMap keys, fieldRefs and $(VAR) in later values and args", () => {
    const container: V1Container = {
      name: "runtime",
      args: ["pipeline-worker", "--mode=$(MODE)", "$(UNSET)"],
      env: [
        {
          name: "TALLY_PIPELINE_CONFIG",
          valueFrom: { configMapKeyRef: { name: "runtime", key: "config.json" } },
        },
        { name: "MODE", valueFrom: { configMapKeyRef: { name: "runtime", key: "mode" } } },
        { name: "TALLY_KAFKA_BROKERS", valueFrom: { secretKeyRef: { name: "kafka", key: "brokers" } } },
        { name: "TALLY_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "TALLY_POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "TALLY_METRICS_PORT", value: "9100" },
        { name: "GREETING", value: "hello $(TALLY_POD_NAME) at $(POD_IP):$(TALLY_METRICS_PORT)" },
      ],
    };
    const result = resolveContainer(pod(container), container, lookup, host);
    expect(result).toEqual({
      ok: true,
      args: ["pipeline-worker", "--mode=fast", "$(UNSET)"],
      env: {
        TALLY_PIPELINE_CONFIG: '{"a":1}',
        MODE: "fast",
        TALLY_KAFKA_BROKERS: "k1:9092,k2:9092",
        TALLY_POD_NAME: "worker-abc",
        TALLY_POD_NAMESPACE: "shop",
        POD_IP: "127.0.0.1",
        TALLY_METRICS_PORT: "9100",
        GREETING: "hello worker-abc at 127.0.0.1:9100",
      },
    });
  });

  it("skips optional references whose object or key is missing", () => {
    const container: V1Container = {
      name: "runtime",
      env: [
        { name: "A", valueFrom: { secretKeyRef: { name: "absent", key: "x", optional: true } } },
        { name: "B", valueFrom: { secretKeyRef: { name: "kafka", key: "absent", optional: true } } },
        { name: "C", valueFrom: { configMapKeyRef: { name: "absent", key: "x", optional: true } } },
        { name: "D", value: "d" },
      ],
    };
    expect(resolveContainer(pod(container), container, lookup, host)).toEqual({
      ok: true,
      args: [],
      env: { D: "d" },
    });
  });

  it("refuses to start while a required Secret, ConfigMap or key is missing, naming it", () => {
    const missingSecret: V1Container = {
      name: "runtime",
      env: [{ name: "P", valueFrom: { secretKeyRef: { name: "absent", key: "x" } } }],
    };
    expect(resolveContainer(pod(missingSecret), missingSecret, lookup, host)).toEqual({
      ok: false,
      reason: 'Secret "absent" not found (env P)',
    });
    const missingKey: V1Container = {
      name: "runtime",
      env: [{ name: "M", valueFrom: { configMapKeyRef: { name: "runtime", key: "nope" } } }],
    };
    expect(resolveContainer(pod(missingKey), missingKey, lookup, host)).toEqual({
      ok: false,
      reason: 'key "nope" not in ConfigMap "runtime" (env M)',
    });
  });

  it("rejects what it cannot resolve instead of starting with a wrong value", () => {
    const container: V1Container = {
      name: "runtime",
      env: [{ name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } }],
    };
    const result = resolveContainer(pod(container), container, lookup, host);
    expect(result.ok).toBe(false);
  });

  it("applies envFrom first (with prefix, skipping invalid names) and lets env override it", () => {
    const container: V1Container = {
      name: "runtime",
      envFrom: [{ configMapRef: { name: "runtime" }, prefix: "CFG_" }, { secretRef: { name: "kafka" } }],
      env: [{ name: "password", value: "overridden" }],
    };
    const result = resolveContainer(pod(container), container, lookup, host);
    expect(result).toEqual({
      ok: true,
      args: [],
      env: {
        CFG_mode: "fast",
        "CFG_config.json": '{"a":1}',
        brokers: "k1:9092,k2:9092",
        password: "overridden",
      },
    });
  });
});

describe("referencedObjects", () => {
  it("lists each Secret and ConfigMap once", () => {
    const container: V1Container = {
      name: "runtime",
      envFrom: [{ secretRef: { name: "kafka" } }],
      env: [
        { name: "A", valueFrom: { secretKeyRef: { name: "kafka", key: "brokers" } } },
        { name: "B", valueFrom: { configMapKeyRef: { name: "runtime", key: "mode" } } },
        { name: "C", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "D", value: "x" },
      ],
    };
    expect(referencedObjects(container)).toEqual([
      { kind: "Secret", name: "kafka" },
      { kind: "ConfigMap", name: "runtime" },
    ]);
  });
});

describe("mainContainer", () => {
  it("prefers the container named after the component, else the first", () => {
    const p: V1Pod = {
      spec: { containers: [{ name: "sidecar" }, { name: "gateway" }] },
    };
    expect(mainContainer(p, "gateway")?.name).toBe("gateway");
    expect(mainContainer(p, "operator")?.name).toBe("sidecar");
  });
});
