/**
 * Where the e2e suite runs, chosen by TALLY_E2E_TARGET: `local` (the default: the local stack, whose pods
 * the pod-runner runs as processes) or `kind` (test/e2e/kind/run.sh: a kind cluster with the data services
 * in namespace tally-deps). This part is the addresses: the test's own clients reach the services from the
 * host, the pods (through the chart's values and the examples' manifests) from where they run. On kind the
 * two differ: the host reaches NodePorts that cluster.yaml maps to 127.0.0.1, the pods the Services' DNS
 * names. What a target does (faults, identities, readiness) is in target-ops.ts.
 */
import {
  alertmanagerUrl,
  clickhouseUrl,
  kafkaBrokers,
  kubeconfigPath,
  redisUrl,
  webhookSinkUrl,
} from "../env/config.js";

export const targetVariable = "TALLY_E2E_TARGET";

export type TargetName = "local" | "kind";

export function targetNameOf(value: string | undefined): TargetName {
  if (value === undefined || value === "" || value === "local") return "local";
  if (value === "kind") return "kind";
  throw new Error(`${targetVariable}=${value} is not a target (expected local or kind)`);
}

/** The data services as one side sees them. */
export interface ServiceAddresses {
  readonly kafkaBrokers: readonly string[];
  readonly clickhouseUrl: string;
  readonly redisUrl: string;
  readonly alertmanagerUrl: string;
}

export interface TargetAddresses {
  readonly name: TargetName;
  /** The test's own clients, on the host. */
  readonly host: ServiceAddresses & {
    /** Where the test reads back what Alertmanager delivered to its webhook receiver. */
    readonly webhookSinkUrl: string;
  };
  /** The pods: the chart's values, the example Secrets and specs, the AlertRule's channel. */
  readonly cluster: ServiceAddresses;
  /** Admin kubeconfig for kubectl and helm. */
  readonly kubeconfig: string;
}

/** The in-cluster services of test/e2e/kind/services.yaml (namespace tally-deps). */
const kindNamespace = "tally-deps";

/**
 * The NodePorts of services.yaml, each mapped to the same port on the host's 127.0.0.1 by cluster.yaml
 * (kind's extraPortMappings); Kafka's EXTERNAL listener advertises 127.0.0.1:<its port>.
 */
export const kindHostPorts = {
  kafka: 30092,
  clickhouse: 30123,
  redis: 30379,
  alertmanager: 30093,
  webhookSink: 30096,
} as const;

/** Pure: the addresses of a target, given the environment (kind reads its kubeconfig from KUBECONFIG). */
export function targetAddresses(
  name: TargetName,
  env: Readonly<Record<string, string | undefined>>,
): TargetAddresses {
  if (name === "local") {
    // On the local stack the pods are local processes: they reach the services where the test does.
    const local = { kafkaBrokers, clickhouseUrl, redisUrl, alertmanagerUrl };
    return { name, host: { ...local, webhookSinkUrl }, cluster: local, kubeconfig: kubeconfigPath };
  }
  const kubeconfig = env.KUBECONFIG;
  if (kubeconfig === undefined || kubeconfig === "")
    throw new Error(
      `${targetVariable}=kind needs KUBECONFIG: the kind cluster's kubeconfig (run.sh sets it)`,
    );
  const host = (port: number) => `127.0.0.1:${port}`;
  const svc = (service: string, port: number) => `${service}.${kindNamespace}.svc:${port}`;
  return {
    name,
    host: {
      kafkaBrokers: [host(kindHostPorts.kafka)],
      clickhouseUrl: `http://${host(kindHostPorts.clickhouse)}`,
      redisUrl: `redis://${host(kindHostPorts.redis)}`,
      alertmanagerUrl: `http://${host(kindHostPorts.alertmanager)}`,
      webhookSinkUrl: `http://${host(kindHostPorts.webhookSink)}`,
    },
    cluster: {
      kafkaBrokers: [svc("kafka", 9092)],
      clickhouseUrl: `http://${svc("clickhouse", 8123)}`,
      redisUrl: `redis://${svc("redis", 6379)}`,
      alertmanagerUrl: `http://${svc("alertmanager", 9093)}`,
    },
    kubeconfig,
  };
}

/** The target of this run. */
export const e2eTarget: TargetAddresses = targetAddresses(
  targetNameOf(process.env[targetVariable]),
  process.env,
);
