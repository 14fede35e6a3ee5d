import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { stackConfig } from "../env/config.js";
import { kindHostPorts, targetAddresses, targetNameOf } from "./target.js";

describe("TALLY_E2E_TARGET", () => {
  it("is local unless it says kind; anything else is an error naming the variable", () => {
    expect(targetNameOf(undefined)).toBe("local");
    expect(targetNameOf("")).toBe("local");
    expect(targetNameOf("local")).toBe("local");
    expect(targetNameOf("kind")).toBe("kind");
    expect(() => targetNameOf("kind ")).toThrow(
      "TALLY_E2E_TARGET=kind  is not a target (expected local or kind)",
    );
    expect(() => targetNameOf("k3d")).toThrow(/^TALLY_E2E_TARGET=k3d/);
  });

  it("local: the test and the pods reach the stack at the same addresses", () => {
    const local = targetAddresses("local", { KUBECONFIG: "/elsewhere" });
    expect(local.host).toEqual({ ...local.cluster, webhookSinkUrl: expect.any(String) });
    // The defaults of test/env/config.ts (this test runs without the overriding variables).
    expect(local.cluster.kafkaBrokers).toEqual([`127.0.0.1:${stackConfig.kafkaPort}`]);
    expect(local.host.webhookSinkUrl).toBe(`http://127.0.0.1:${stackConfig.webhookSinkPort}`);
    expect(local.kubeconfig).toBe(join(stackConfig.stateDir, "kubeconfig"));
  });

  it("kind: the test reaches the NodePorts on 127.0.0.1, the pods the Services; its kubeconfig is KUBECONFIG", () => {
    const kind = targetAddresses("kind", { KUBECONFIG: "/tmp/kind.kubeconfig" });
    expect(kind).toEqual({
      name: "kind",
      host: {
        kafkaBrokers: ["127.0.0.1:30092"],
        clickhouseUrl: "http://127.0.0.1:30123",
        redisUrl: "redis://127.0.0.1:30379",
        alertmanagerUrl: "http://127.0.0.1:30093",
        webhookSinkUrl: "http://127.0.0.1:30096",
      },
      cluster: {
        kafkaBrokers: ["kafka.tally-deps.svc:9092"],
        clickhouseUrl: "http://clickhouse.tally-deps.svc:8123",
        redisUrl: "redis://redis.tally-deps.svc:6379",
        alertmanagerUrl: "http://alertmanager.tally-deps.svc:9093",
      },
      kubeconfig: "/tmp/kind.kubeconfig",
    });
    expect(() => targetAddresses("kind", {})).toThrow(/needs KUBECONFIG/);
  });
});

// ---------------------------------------------------------------------------------------------------------

interface Port {
  name?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}
interface KindObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    type?: string;
    ports?: Port[];
    template?: {
      spec: {
        containers: {
          args?: string[];
          env?: { name: string; value: string }[];
          volumeMounts?: { name: string }[];
        }[];
      };
    };
    volumeClaimTemplates?: { metadata: { name: string }; spec: { storageClassName?: string } }[];
  };
  data?: Record<string, string>;
}

const kindDir = join(stackConfig.repoRoot, "test", "e2e", "kind");
const services = parseAllDocuments(readFileSync(join(kindDir, "services.yaml"), "utf8")).map(
  (d) => d.toJS() as KindObject,
);
const cluster = parse(readFileSync(join(kindDir, "cluster.yaml"), "utf8")) as {
  nodes: {
    role: string;
    extraPortMappings?: { containerPort: number; hostPort: number; listenAddress?: string }[];
  }[];
};
const object = (kind: string, name: string) => {
  const found = services.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`services.yaml has no ${kind} ${name}`);
  return found;
};
const env = (name: string) =>
  new Map(
    (object("StatefulSet", name).spec?.template?.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
  );

describe("make e2e-kind's manifests agree with the kind target's addresses", () => {
  it("each host port is a NodePort of services.yaml that cluster.yaml maps to the same port on 127.0.0.1", () => {
    const nodePorts = new Map(
      services
        .filter((o) => o.kind === "Service" && o.spec?.type === "NodePort")
        .flatMap((o) => (o.spec?.ports ?? []).map((p) => [o.metadata.name, p.nodePort] as const)),
    );
    expect(Object.fromEntries(nodePorts)).toEqual({
      "kafka-external": kindHostPorts.kafka,
      clickhouse: kindHostPorts.clickhouse,
      redis: kindHostPorts.redis,
      alertmanager: kindHostPorts.alertmanager,
      "webhook-sink": kindHostPorts.webhookSink,
    });
    const mapped = cluster.nodes.flatMap((n) => n.extraPortMappings ?? []);
    expect(mapped.map((m) => [m.containerPort, m.hostPort, m.listenAddress]).sort()).toEqual(
      Object.values(kindHostPorts)
        .map((p) => [p, p, "127.0.0.1"])
        .sort(),
    );
  });

  it("pods reach each service at <service>.tally-deps.svc:<port>; Kafka advertises both listeners", () => {
    const kind = targetAddresses("kind", { KUBECONFIG: "/k" });
    for (const address of [
      ...kind.cluster.kafkaBrokers,
      kind.cluster.clickhouseUrl,
      kind.cluster.redisUrl,
      kind.cluster.alertmanagerUrl,
    ]) {
      const match = /^(?:\w+:\/\/)?([a-z-]+)\.tally-deps\.svc:(\d+)$/.exec(address);
      expect(match, address).not.toBeNull();
      const service = object("Service", match?.[1] ?? "");
      expect(service.metadata.namespace).toBe("tally-deps");
      expect(service.spec?.ports?.map((p) => p.port)).toContain(Number(match?.[2]));
    }
    expect(env("kafka").get("KAFKA_ADVERTISED_LISTENERS")).toBe(
      "PLAINTEXT://kafka.tally-deps.svc:9092,EXTERNAL://127.0.0.1:30092",
    );
    expect(object("Service", "kafka-external").spec?.ports).toEqual([
      { name: "external", port: 29092, targetPort: "external", nodePort: 30092 },
    ]);
    expect(env("kafka").get("KAFKA_LISTENERS")).toContain("EXTERNAL://:29092");
  });

  it("Kafka, ClickHouse and Redis keep their data on claims of kind's standard StorageClass; Redis appends", () => {
    for (const name of ["kafka", "clickhouse", "redis"]) {
      const set = object("StatefulSet", name);
      expect(set.spec?.volumeClaimTemplates?.map((c) => [c.metadata.name, c.spec.storageClassName])).toEqual([
        ["data", "standard"],
      ]);
      expect(set.spec?.template?.spec.containers[0]?.volumeMounts?.map((m) => m.name)).toEqual(["data"]);
    }
    expect(object("StatefulSet", "redis").spec?.template?.spec.containers[0]?.args?.join(" ")).toContain(
      "--appendonly yes",
    );
    // The same user the test's client and the chart's credentials Secret use.
    expect([env("clickhouse").get("CLICKHOUSE_USER"), env("clickhouse").get("CLICKHOUSE_PASSWORD")]).toEqual([
      stackConfig.clickhouseUser,
      stackConfig.clickhousePassword,
    ]);
  });

  it("Alertmanager delivers to the in-cluster webhook receiver the test reads", () => {
    const config = parse(object("ConfigMap", "alertmanager").data?.["alertmanager.yml"] ?? "") as {
      receivers: { webhook_configs: { url: string; send_resolved: boolean }[] }[];
    };
    expect(config.receivers.flatMap((r) => r.webhook_configs)).toEqual([
      { url: "http://webhook-sink.tally-deps.svc:9096/alertmanager", send_resolved: true },
    ]);
  });
});
