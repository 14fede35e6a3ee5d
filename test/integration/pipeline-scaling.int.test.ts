import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { podRunnerPaths, stackConfig } from "../env/config.js";
import { isAlive } from "../env/process-control.js";
import { eventually } from "../support/eventually.js";
import { kubectlOk, type OperatorNamespace, operatorNamespace, waitForCondition } from "../support/kube.js";
import {
  clickhouseClient,
  createTopics,
  kafkaClient,
  pipelineManifest,
  planOf,
  type RuntimeTestNames,
  runtimeTestNames,
} from "../support/runtime-harness.js";

// Scaling a Pipeline through its scale subresource only adds or removes runtime pods: the pod template
// (and so the ReplicaSet) stays, and a pod that was running keeps running (same process in the
// pod-runner) while the partitions move by a consumer-group rebalance. Issue 11, item 1: the rendered
// configuration carried spec.replicas and the generation, so every scale rolled every pod.

const partitions = 2;
let scope: OperatorNamespace;
let namespace: string;
let names: RuntimeTestNames;
let rawTable: string;
const clickhouse = clickhouseClient();

/** Pods of this namespace run this checkout's runtime (the stack's pod-runner may run another checkout). */
function editEntrypoints(edit: (table: Record<string, string[]>) => void): void {
  let table: Record<string, string[]> = {};
  if (existsSync(podRunnerPaths.entrypoints))
    table = JSON.parse(readFileSync(podRunnerPaths.entrypoints, "utf8")) as Record<string, string[]>;
  edit(table);
  if (Object.keys(table).length === 0) rmSync(podRunnerPaths.entrypoints, { force: true });
  else writeFileSync(podRunnerPaths.entrypoints, `${JSON.stringify(table, null, 2)}\n`);
}

interface RunnerProcess {
  readonly pod: string;
  readonly pid: number;
  readonly restarts: number;
  readonly logFile: string;
}

/** The pod-runner's running processes of this namespace, by pod name. */
function runningProcesses(): Map<string, RunnerProcess> {
  const all = JSON.parse(readFileSync(podRunnerPaths.processes, "utf8")) as Record<
    string,
    { pid?: number; state: string; restarts: number; logFile: string }
  >;
  const running = new Map<string, RunnerProcess>();
  for (const [key, entry] of Object.entries(all)) {
    if (!key.startsWith(`${namespace}/`) || entry.state !== "running" || entry.pid === undefined) continue;
    if (!isAlive(entry.pid)) continue;
    const pod = key.slice(namespace.length + 1);
    running.set(pod, { pod, pid: entry.pid, restarts: entry.restarts, logFile: entry.logFile });
  }
  return running;
}

async function getJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectlOk([...args, "-n", namespace, "-o", "json"])) as T;
}

interface Deployment {
  spec: { replicas: number };
  status?: { readyReplicas?: number; replicas?: number };
}

async function replicaSets(): Promise<string[]> {
  const list = await getJson<{ items: { metadata: { name: string } }[] }>([
    "get",
    "replicasets",
    "-l",
    `tally.dev/pipeline=${names.pipeline}`,
  ]);
  return list.items.map((rs) => rs.metadata.name).sort();
}

async function livePods(): Promise<string[]> {
  const list = await getJson<{
    items: { metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } }[];
  }>(["get", "pods", "-l", `tally.dev/pipeline=${names.pipeline}`]);
  return list.items
    .filter((p) => p.status?.phase === "Running" && p.metadata.deletionTimestamp === undefined)
    .map((p) => p.metadata.name)
    .sort();
}

/** Waits until the Deployment, its Running pods and their processes all number `replicas`. */
async function settledAt(replicas: number): Promise<Map<string, RunnerProcess>> {
  return eventually(
    async () => {
      const deployment = await getJson<Deployment>(["get", "deployment", `tally-${names.pipeline}`]);
      const pods = await livePods();
      const processes = runningProcesses();
      const state = `deployment ${deployment.spec.replicas} (${deployment.status?.replicas ?? 0} pods, ${deployment.status?.readyReplicas ?? 0} ready), Running pods ${pods.join(",")}, processes ${[...processes.keys()].join(",")}`;
      if (
        deployment.spec.replicas !== replicas ||
        deployment.status?.replicas !== replicas ||
        deployment.status.readyReplicas !== replicas ||
        pods.length !== replicas ||
        processes.size !== replicas ||
        !pods.every((p) => processes.has(p))
      ) {
        throw new Error(state);
      }
      return processes;
    },
    180_000,
    1_000,
  );
}

async function scaleTo(replicas: number): Promise<void> {
  await kubectlOk(["scale", "pipeline", names.pipeline, "-n", namespace, `--replicas=${replicas}`]);
}

let produced = 0;
/** Valid events, spread over the partitions; resolves once all of them are in the raw table. */
async function produceAndLand(count: number): Promise<void> {
  const producer = kafkaClient().producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const now = Date.now();
  try {
    await producer.send({
      topic: names.topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({
        partition: i % partitions,
        key: `u${i}`,
        value: JSON.stringify({
          event_id: `${names.id}-${produced + i}`,
          user_id: `u${i % 7}`,
          type: "click",
          url: "/scale",
          ts: new Date(now - (count - i) * 10).toISOString(),
        }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
  produced += count;
  await eventually(
    async () => {
      const result = await clickhouse.query({
        query: `SELECT count() AS n FROM ${rawTable}`,
        format: "JSON",
      });
      const n = Number((await result.json<{ n: string }>()).data[0]?.n);
      if (n !== produced) throw new Error(`${n} of ${produced} rows in ${rawTable}`);
    },
    120_000,
    500,
  );
}

beforeAll(async () => {
  // recommend: the autoscaler decides and reports but never writes the scale subresource itself.
  scope = await operatorNamespace("tally-scale", { TALLY_AUTOSCALER_INTERVAL_MS: "2000" });
  namespace = scope.namespace;
  editEntrypoints((table) => {
    table[`${namespace}/pipeline-worker`] = [
      "node",
      "--import",
      "tsx",
      join(stackConfig.repoRoot, "runtime/worker/main.ts"),
    ];
  });
  names = runtimeTestNames("scale", namespace);
  const manifest = pipelineManifest(names, (spec) => {
    spec.scaling = {
      mode: "recommend",
      minReplicas: 1,
      maxReplicas: 4,
      targetCatchUp: "2m",
      scaleUpStabilization: "0s",
      scaleDownStabilization: "5m",
      cooldown: "30s",
    };
  });
  const sink = planOf(manifest).spec.sink.clickhouse;
  rawTable = `${sink.database}.${sink.table}`;
  await createTopics(names, partitions);
  await kubectlOk(["apply", "-f", "-"], manifest);
  await waitForCondition("pipeline", namespace, names.pipeline, "Ready", "True", { timeoutMs: 180_000 });
});

afterAll(async () => {
  await scope?.close();
  editEntrypoints((table) => {
    delete table[`${namespace}/pipeline-worker`];
  });
  if (rawTable !== undefined) await clickhouse.command({ query: `DROP TABLE IF EXISTS ${rawTable}` });
  await clickhouse.close();
});

describe("scaling a pipeline", () => {
  it("adds and removes runtime pods without restarting any, in one ReplicaSet", async () => {
    const [original] = [...(await settledAt(1)).values()];
    if (original === undefined) throw new Error("no runtime process");
    await produceAndLand(40);
    const sets = await replicaSets();
    expect(sets).toHaveLength(1);
    const configMap = async () =>
      (
        await getJson<{ metadata: { resourceVersion: string } }>([
          "get",
          "configmap",
          `tally-${names.pipeline}`,
        ])
      ).metadata.resourceVersion;
    const configVersion = await configMap();

    await scaleTo(2);
    const two = await settledAt(2);
    // The running pod is still the same process; one pod came beside it, from the same ReplicaSet.
    expect(two.get(original.pod)).toEqual(original);
    expect(await replicaSets()).toEqual(sets);
    // The new pod joins the group (a rebalance gives it a partition) while the first keeps running.
    const added = [...two.values()].find((p) => p.pod !== original.pod);
    await eventually(
      async () => expect(readFileSync(added?.logFile ?? "", "utf8")).toContain("assigned partitions"),
      120_000,
      1_000,
    );
    await produceAndLand(40);
    expect(runningProcesses().get(original.pod)).toEqual(original);

    await scaleTo(1);
    const one = await settledAt(1);
    // One of the two went; the other is the process that was running before, not a new one.
    const [survivor] = [...one.values()];
    expect(survivor).toEqual(two.get(survivor?.pod ?? ""));
    expect(await replicaSets()).toEqual(sets);
    expect(await configMap()).toBe(configVersion);
    // The partitions moved by rebalances only: the survivor consumes both again.
    await produceAndLand(40);
  });

  it("runs pods whose logs carry no kafkajs partitioner warning", () => {
    // A pod opens its dead-letter producers when it is assigned partitions; kafkajs warns right then.
    const logs = readdirSync(podRunnerPaths.podLogs)
      .filter((f) => f.startsWith(`${namespace}_`))
      .map((f) => readFileSync(join(podRunnerPaths.podLogs, f), "utf8"))
      .filter((log) => log.includes("assigned partitions"));
    expect(logs.length).toBeGreaterThanOrEqual(1);
    for (const log of logs) expect(log).not.toMatch(/default partitioner/i);
  });
});
