/**
 * A Helm release of charts/tally on the local control plane: `helm install` with the stack's addresses,
 * its pods' processes (run by the pod-runner) waited on until ready, a gateway's API address, and the
 * chart's read token. Shared by the platform e2e and `make demo`.
 */
import { e2eTarget } from "../e2e/target.js";
import { stackConfig } from "../env/config.js";
import { eventually } from "./eventually.js";
import { helmPath, kubectl, kubectlOk, run } from "./kube.js";
import { gatewayApiPort, type PodProcessEntry, podNameOf, podProcesses } from "./pod-runner-state.js";

export const tallyChart = `${stackConfig.repoRoot}/charts/tally`;

export function helm(args: readonly string[]): ReturnType<typeof run> {
  return run(helmPath, args);
}

export interface TallyRelease {
  readonly release: string;
  /** Where the operator and gateway run. */
  readonly namespace: string;
  /** The one namespace both watch. */
  readonly watchNamespace: string;
}

/**
 * `helm install` the chart pointed at the running stack (ClickHouse as the stack's user through a
 * `clickhouse-credentials` Secret this creates in the release namespace, Redis for the alerts), after
 * applying this checkout's CRDs server-side as every other stack user does (helm then finds them in place
 * instead of conflicting over fields kubectl owns). `extraSets` are further `--set` values.
 */
export async function installTallyRelease(
  target: TallyRelease,
  extraSets: readonly string[] = [],
): ReturnType<typeof run> {
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${tallyChart}/crds`]);
  await kubectl(["delete", "secret", "clickhouse-credentials", "-n", target.namespace, "--ignore-not-found"]);
  await kubectlOk([
    "create",
    "secret",
    "generic",
    "clickhouse-credentials",
    "-n",
    target.namespace,
    `--from-literal=username=${stackConfig.clickhouseUser}`,
    `--from-literal=password=${stackConfig.clickhousePassword}`,
  ]);
  const sets = [
    `operator.watchNamespace=${target.watchNamespace}`,
    `gateway.watchNamespace=${target.watchNamespace}`,
    `gateway.redisUrl=${e2eTarget.cluster.redisUrl}`,
    `gateway.clickhouse.url=${e2eTarget.cluster.clickhouseUrl}`,
    "gateway.clickhouse.credentialsSecret=clickhouse-credentials",
    ...extraSets,
  ];
  return helm([
    "install",
    target.release,
    tallyChart,
    "-n",
    target.namespace,
    ...sets.flatMap((s) => ["--set", s]),
    "--wait",
    "--timeout",
    "100s",
  ]);
}

export async function runningPodNames(namespace: string, component: string): Promise<string[]> {
  const list = JSON.parse(
    await kubectlOk(["get", "pods", "-n", namespace, "-l", `tally.dev/component=${component}`, "-o", "json"]),
  ) as { items: { metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } }[] };
  return list.items
    .filter((p) => p.status?.phase === "Running" && p.metadata.deletionTimestamp === undefined)
    .map((p) => p.metadata.name);
}

async function ready(entry: PodProcessEntry): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${entry.port}/readyz`)).ok;
  } catch {
    return false;
  }
}

/** Waits until each Running pod of the component has a running, ready process; returns them. */
export async function componentReady(
  namespace: string,
  component: string,
  count: number,
): Promise<PodProcessEntry[]> {
  return eventually(
    async () => {
      const pods = await runningPodNames(namespace, component);
      if (pods.length !== count) throw new Error(`${pods.length} of ${count} ${component} pods Running`);
      const entries = podProcesses([namespace]).filter((e) => e.state === "running");
      const out: PodProcessEntry[] = [];
      for (const pod of pods) {
        const entry = entries.find((e) => podNameOf(e) === pod);
        if (entry === undefined) throw new Error(`${component} pod ${pod} has no running process`);
        if (!(await ready(entry))) throw new Error(`${component} pod ${pod} is not ready (${entry.logFile})`);
        out.push(entry);
      }
      return out;
    },
    180_000,
    500,
  );
}

/** The API address of a ready gateway pod of the release (`replicas` gateways expected). */
export async function gatewayUrl(namespace: string, replicas: number): Promise<string> {
  const [gateway] = await componentReady(namespace, "gateway", replicas);
  const port = gateway === undefined ? undefined : gatewayApiPort(gateway);
  if (port === undefined) throw new Error(`no API port for gateway ${gateway?.key}`);
  return `http://127.0.0.1:${port}`;
}

/** The read token of the chart's `<release>-gateway-token` Secret. */
export async function readGatewayToken(release: string, namespace: string): Promise<string> {
  const data = await kubectlOk([
    "get",
    "secret",
    `${release}-gateway-token`,
    "-n",
    namespace,
    "-o",
    "jsonpath={.data.token}",
  ]);
  return Buffer.from(data, "base64").toString("utf8");
}
