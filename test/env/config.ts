import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Every address and path of the local stack, with the environment variable that overrides it.
 * One place, so the stack scripts, the tests and the demo agree.
 */
const repoRoot = resolve(import.meta.dirname, "..", "..");

function envString(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
}

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name}=${raw} is not a TCP port (expected an integer 1..65535)`);
  }
  return port;
}

export const stackConfig = {
  repoRoot,
  /** Runtime state of the stack: data, logs, pid files. Git-ignored, removable at will. */
  stateDir: envString("TALLY_STACK_DIR", join(repoRoot, ".tally-stack")),
  /**
   * Expensive downloads and builds (Kafka jars, Kubernetes binaries). Outside the checkout so that
   * fresh clones on the same machine (CI) reuse them; `make setup` fills it.
   */
  cacheDir: envString("TALLY_CACHE_DIR", join(homedir(), ".cache", "tally")),
  host: "127.0.0.1",
  kafkaPort: envPort("TALLY_KAFKA_PORT", 9092),
  kafkaControllerPort: envPort("TALLY_KAFKA_CONTROLLER_PORT", 9094),
  clickhousePort: envPort("TALLY_CLICKHOUSE_PORT", 8123),
  clickhouseUser: envString("TALLY_CLICKHOUSE_USER", "tally"),
  clickhousePassword: envString("TALLY_CLICKHOUSE_PASSWORD", "tally-local"),
  redisPort: envPort("TALLY_REDIS_PORT", 6379),
  prometheusPort: envPort("TALLY_PROMETHEUS_PORT", 9090),
  alertmanagerPort: envPort("TALLY_ALERTMANAGER_PORT", 9093),
  alertmanagerClusterPort: envPort("TALLY_ALERTMANAGER_CLUSTER_PORT", 9095),
  /** Receives Alertmanager's webhook deliveries and lets tests read them back. */
  webhookSinkPort: envPort("TALLY_WEBHOOK_SINK_PORT", 9096),
  // The local Kubernetes control plane (test/env/services/kubernetes.ts). The component ports stay
  // clear of the data services above and of the kubelet's 10250.
  etcdPort: envPort("TALLY_ETCD_PORT", 2379),
  etcdPeerPort: envPort("TALLY_ETCD_PEER_PORT", 2380),
  kubeApiserverPort: envPort("TALLY_KUBE_APISERVER_PORT", 6443),
  kubeControllerManagerPort: envPort("TALLY_KUBE_CONTROLLER_MANAGER_PORT", 10257),
  kubeSchedulerPort: envPort("TALLY_KUBE_SCHEDULER_PORT", 10259),
  kwokPort: envPort("TALLY_KWOK_PORT", 10247),
  /** The pod-runner's own health and state endpoint (test/env/pod-runner/main.ts). */
  podRunnerPort: envPort("TALLY_POD_RUNNER_PORT", 10271),
} as const;

export const stackPaths = {
  logs: join(stackConfig.stateDir, "logs"),
  pids: join(stackConfig.stateDir, "pids"),
  data: join(stackConfig.stateDir, "data"),
  kafkaLibs: join(stackConfig.cacheDir, "kafka-libs"),
  bin: join(stackConfig.cacheDir, "bin"),
} as const;

export const kafkaBrokers = [`${stackConfig.host}:${stackConfig.kafkaPort}`];
export const clickhouseUrl = `http://${stackConfig.host}:${stackConfig.clickhousePort}`;
export const redisUrl = `redis://${stackConfig.host}:${stackConfig.redisPort}`;
export const prometheusUrl = `http://${stackConfig.host}:${stackConfig.prometheusPort}`;
export const alertmanagerUrl = `http://${stackConfig.host}:${stackConfig.alertmanagerPort}`;
export const webhookSinkUrl = `http://${stackConfig.host}:${stackConfig.webhookSinkPort}`;

export const kubeApiserverUrl = `https://${stackConfig.host}:${stackConfig.kubeApiserverPort}`;
/** Admin kubeconfig of the local control plane, for kubectl, helm and @kubernetes/client-node. */
export const kubeconfigPath = join(stackConfig.stateDir, "kubeconfig");
/** Where the pod-runner keeps what tests read and write. */
export const podRunnerPaths = {
  dir: join(stackConfig.stateDir, "pod-runner"),
  /** `{"<namespace>/<pod>": port}`: the TALLY_METRICS_PORT each pod's process was given. */
  ports: join(stackConfig.stateDir, "pod-runner", "ports.json"),
  /** Optional `{"<component>": ["argv", ...]}` overriding the entry point table; re-read on every start. */
  entrypoints: join(stackConfig.stateDir, "pod-runner", "entrypoints.json"),
  /**
   * The processes the pod-runner supervises (pid, pod uid, restarts, metrics `port`, and a gateway's
   * API `apiPort`), rewritten on every change.
   */
  processes: join(stackConfig.stateDir, "pod-runner", "processes.json"),
  /** One log per pod: `<namespace>_<pod>.log`. */
  podLogs: join(stackConfig.stateDir, "logs", "pods"),
  /** One kubeconfig per operator or gateway pod, `<namespace>_<pod>.kubeconfig`: its ServiceAccount's token. */
  identities: join(stackConfig.stateDir, "pod-runner", "identities"),
} as const;
