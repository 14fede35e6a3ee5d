import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, KubeConfig, type V1EnvVar, type V1Pod } from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { kubeconfigPath, podRunnerPaths } from "../env/config.js";
import { isAlive } from "../env/process-control.js";
import { k8sBinary, kubectl } from "../env/services/k8s-tools.js";
import { eventually } from "../support/eventually.js";
import { run } from "../support/kube.js";

/**
 * The pod-runner (started by `make stack-up`) against the local control plane: pods labelled
 * `tally.dev/component` become real processes. In the test namespaces the components point at
 * testdata/sleeper.mjs through `<namespace>/<component>` entries of
 * `.tally-stack/pod-runner/entrypoints.json` (re-read on every start), so pods of anyone else
 * using the stack at the same time keep their real entry points.
 */

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const core = kubeConfig.makeApiClient(CoreV1Api);
const apps = kubeConfig.makeApiClient(AppsV1Api);

const sleeper = ["node", "test/env/pod-runner/testdata/sleeper.mjs"];
const outDir = mkdtempSync(join(tmpdir(), "tally-pod-runner-"));
const components = ["pipeline-worker", "gateway", "operator"] as const;
const namespaces: string[] = [];

/** Read-modify-write of the shared override file: only our namespaces' keys change. */
function editEntrypoints(edit: (table: Record<string, string[]>) => void): void {
  let table: Record<string, string[]> = {};
  if (existsSync(podRunnerPaths.entrypoints)) {
    table = JSON.parse(readFileSync(podRunnerPaths.entrypoints, "utf8")) as Record<string, string[]>;
  }
  edit(table);
  if (Object.keys(table).length === 0) rmSync(podRunnerPaths.entrypoints, { force: true });
  else writeFileSync(podRunnerPaths.entrypoints, `${JSON.stringify(table, null, 2)}\n`);
}

afterAll(async () => {
  await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
  // Every process of the test namespaces goes with them.
  await eventually(async () => expect(processesIn(namespaces)).toEqual([]), 60_000).catch(() => undefined);
  editEntrypoints((table) => {
    for (const ns of namespaces) for (const c of components) delete table[`${ns}/${c}`];
  });
  rmSync(outDir, { recursive: true, force: true });
});

/** A namespace whose Tally components run testdata/sleeper.mjs. */
async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`;
  editEntrypoints((table) => {
    for (const c of components) table[`${name}/${c}`] = sleeper;
  });
  namespaces.push(name);
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

interface ProcessEntry {
  key: string;
  uid: string;
  component: string;
  port: number;
  pid?: number;
  state: string;
  restarts: number;
  reason?: string;
  logFile: string;
}

function processesIn(nsList: readonly string[]): ProcessEntry[] {
  let all: Record<string, Omit<ProcessEntry, "key">>;
  try {
    all = JSON.parse(readFileSync(podRunnerPaths.processes, "utf8")) as typeof all;
  } catch {
    return [];
  }
  return Object.entries(all)
    .filter(([key]) => nsList.some((ns) => key.startsWith(`${ns}/`)))
    .map(([key, entry]) => ({ key, ...entry }));
}

/** Processes that are up, with a live pid. */
function running(namespace: string): ProcessEntry[] {
  return processesIn([namespace]).filter(
    (p) => p.state === "running" && p.pid !== undefined && isAlive(p.pid),
  );
}

function ports(): Record<string, number> {
  return JSON.parse(readFileSync(podRunnerPaths.ports, "utf8")) as Record<string, number>;
}

interface SleeperRecord {
  pid: number;
  pod: string;
  argv: string[];
  env: Record<string, string>;
}

function recordOf(pod: string, pid: number): SleeperRecord {
  return JSON.parse(readFileSync(join(outDir, `${pod}.${pid}.json`), "utf8")) as SleeperRecord;
}

function gotSigterm(pod: string, pid: number): boolean {
  return existsSync(join(outDir, `${pod}.${pid}.stopped`));
}

function podName(key: string): string {
  return key.slice(key.indexOf("/") + 1);
}

async function runningPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector });
  return pods.items.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
}

const baseEnv: V1EnvVar[] = [
  { name: "SLEEPER_OUT_DIR", value: outDir },
  { name: "TALLY_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  { name: "TALLY_POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
  { name: "TALLY_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
  // What the operator renders; the runner gives each process its own port instead.
  { name: "TALLY_METRICS_PORT", value: "9100" },
];

function bareSleeperPod(name: string, component: string, env: V1EnvVar[], graceSeconds = 5): V1Pod {
  return {
    metadata: { name, labels: { "tally.dev/component": component } },
    spec: {
      terminationGracePeriodSeconds: graceSeconds,
      containers: [{ name: component, image: "tally/runtime:test", env: [...baseEnv, ...env] }],
    },
  };
}

describe("the pod-runner", () => {
  it("runs one process per pod of a labelled Deployment, follows scaling, pod deletion and crashes", async () => {
    const namespace = await freshNamespace("runner");
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: "creds" }, stringData: { password: "hunter2" } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "settings" }, data: { mode: "fast" } },
    });
    const labels = { app: "worker", "tally.dev/component": "pipeline-worker" };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "worker" },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 5,
              containers: [
                {
                  name: "runtime",
                  image: "tally/runtime:test",
                  args: ["pipeline-worker", "--mode=$(TALLY_TEST_MODE)"],
                  env: [
                    ...baseEnv,
                    {
                      name: "TALLY_TEST_SECRET",
                      valueFrom: { secretKeyRef: { name: "creds", key: "password" } },
                    },
                    {
                      name: "TALLY_TEST_MODE",
                      valueFrom: { configMapKeyRef: { name: "settings", key: "mode" } },
                    },
                    {
                      name: "TALLY_TEST_OPTIONAL",
                      valueFrom: { secretKeyRef: { name: "absent", key: "x", optional: true } },
                    },
                  ],
                },
              ],
            },
          },
        },
      },
    });

    // Three pods, three live processes, one per pod.
    const three = await eventually(async () => {
      const pods = await runningPods(namespace, "app=worker");
      expect(pods).toHaveLength(3);
      const procs = running(namespace);
      expect(procs.map((p) => podName(p.key)).sort()).toEqual(pods.map((p) => p.metadata?.name).sort());
      for (const p of procs) expect(existsSync(join(outDir, `${podName(p.key)}.${p.pid}.json`))).toBe(true);
      return procs;
    }, 60_000);

    const portMap = ports();
    const seenPorts = new Set<number>();
    for (const proc of three) {
      const pod = podName(proc.key);
      const record = recordOf(pod, proc.pid ?? 0);
      expect(record.argv).toEqual(["pipeline-worker", "--mode=fast"]);
      expect(record.env).toMatchObject({
        TALLY_TEST_SECRET: "hunter2",
        TALLY_TEST_MODE: "fast",
        TALLY_POD_NAME: pod,
        TALLY_POD_NAMESPACE: namespace,
        TALLY_POD_IP: "127.0.0.1",
        HOSTNAME: pod,
      });
      expect(record.env.TALLY_TEST_OPTIONAL).toBeUndefined();
      // Its own port, recorded in ports.json, and the process answers on it.
      expect(record.env.TALLY_METRICS_PORT).toBe(String(portMap[proc.key]));
      expect(record.env.TALLY_METRICS_PORT).not.toBe("9100");
      expect(record.env.TALLY_METRICS_HOST).toBe("127.0.0.1");
      seenPorts.add(Number(record.env.TALLY_METRICS_PORT));
      const answer = await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${portMap[proc.key]}/`);
        return (await response.json()) as SleeperRecord;
      }, 10_000);
      expect(answer.pod).toBe(pod);
      // Output goes to the pod's log file.
      const log = readFileSync(join(podRunnerPaths.podLogs, `${namespace}_${pod}.log`), "utf8");
      expect(log).toContain(`sleeper ${proc.pid} started for ${pod}`);
    }
    expect(seenPorts.size).toBe(3);

    // Scale to 1: two processes get SIGTERM and go, one stays.
    await kubectl(["-n", namespace, "scale", "deployment/worker", "--replicas=1"]);
    const survivor = await eventually(async () => {
      const procs = running(namespace);
      expect(procs).toHaveLength(1);
      const stopped = three.filter((p) => p.key !== procs[0]?.key);
      expect(stopped).toHaveLength(2);
      for (const p of stopped) {
        expect(isAlive(p.pid ?? 0)).toBe(false);
        expect(gotSigterm(podName(p.key), p.pid ?? 0)).toBe(true);
      }
      expect(Object.keys(ports()).filter((k) => k.startsWith(`${namespace}/`))).toEqual([procs[0]?.key]);
      return procs[0] as ProcessEntry;
    }, 60_000);
    expect(three.map((p) => p.key)).toContain(survivor.key);

    // A process that dies is restarted (restartPolicy Always), for the same pod.
    process.kill(survivor.pid ?? 0, "SIGKILL");
    const restarted = await eventually(async () => {
      const [proc] = running(namespace);
      expect(proc?.key).toBe(survivor.key);
      expect(proc?.pid).not.toBe(survivor.pid);
      expect(proc?.restarts).toBeGreaterThanOrEqual(1);
      return proc as ProcessEntry;
    }, 30_000);
    expect(readFileSync(restarted.logFile, "utf8")).toContain("was killed by SIGKILL");

    // Deleting the pod stops its process; the ReplicaSet's replacement pod gets a new one.
    await core.deleteNamespacedPod({ name: podName(restarted.key), namespace });
    await eventually(async () => {
      expect(isAlive(restarted.pid ?? 0)).toBe(false);
      expect(gotSigterm(podName(restarted.key), restarted.pid ?? 0)).toBe(true);
      const procs = running(namespace);
      expect(procs).toHaveLength(1);
      expect(procs[0]?.key).not.toBe(restarted.key);
      const record = recordOf(podName(procs[0]?.key ?? ""), procs[0]?.pid ?? 0);
      expect(record.env.TALLY_TEST_SECRET).toBe("hunter2");
    }, 60_000);
  });

  it("kills a process that ignores SIGTERM after the pod's grace period", async () => {
    const namespace = await freshNamespace("grace");
    await core.createNamespacedPod({
      namespace,
      body: bareSleeperPod(
        "stubborn",
        "pipeline-worker",
        [{ name: "SLEEPER_IGNORE_SIGTERM", value: "1" }],
        2,
      ),
    });
    const [proc] = await eventually(async () => {
      const procs = running(namespace);
      expect(procs).toHaveLength(1);
      return procs;
    }, 60_000);
    const pid = proc?.pid ?? 0;
    const deletedAt = Date.now();
    await core.deleteNamespacedPod({ name: "stubborn", namespace });
    await eventually(async () => expect(gotSigterm("stubborn", pid)).toBe(true), 10_000, 50);
    await eventually(async () => expect(isAlive(pid)).toBe(false), 15_000, 100);
    const took = Date.now() - deletedAt;
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(readFileSync(proc?.logFile ?? "", "utf8")).toContain("did not stop within 2 s: SIGKILL");
  });

  it("waits for a missing Secret before starting, and gives the operator its ServiceAccount's identity", async () => {
    const namespace = await freshNamespace("config");
    await core.createNamespacedPod({
      namespace,
      // A runtime pod: unlike the operator and the gateway it gets no kubeconfig.
      body: bareSleeperPod("late", "pipeline-worker", [
        { name: "TALLY_TEST_TOKEN", valueFrom: { secretKeyRef: { name: "late-secret", key: "token" } } },
      ]),
    });
    await core.createNamespacedPod({ namespace, body: bareSleeperPod("op", "operator", []) });

    // Like a kubelet's CreateContainerConfigError: no process until the Secret exists.
    await eventually(async () => {
      const late = processesIn([namespace]).find((p) => p.key === `${namespace}/late`);
      expect(late?.state).toBe("waiting");
      expect(late?.reason).toContain('Secret "late-secret" not found');
    }, 60_000);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: "late-secret" }, stringData: { token: "t0k3n" } },
    });
    await eventually(async () => {
      const procs = running(namespace);
      expect(procs.map((p) => p.key).sort()).toEqual([`${namespace}/late`, `${namespace}/op`]);
      const late = procs.find((p) => p.key.endsWith("/late"));
      expect(recordOf("late", late?.pid ?? 0).env.TALLY_TEST_TOKEN).toBe("t0k3n");
    }, 30_000);

    const op = running(namespace).find((p) => p.key.endsWith("/op"));
    const record = recordOf("op", op?.pid ?? 0);
    // Its own ServiceAccount's token, not the admin kubeconfig: the RBAC it runs with is a pod's.
    const podKubeconfig = record.env.KUBECONFIG ?? "";
    expect(podKubeconfig).not.toBe(kubeconfigPath);
    expect(statSync(podKubeconfig).mode & 0o077).toBe(0);
    const asPod = (args: string[]) =>
      run(k8sBinary("kubectl"), args, undefined, { KUBECONFIG: podKubeconfig });
    const whoami = await asPod(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    expect(whoami.stdout).toBe(`system:serviceaccount:${namespace}:default`);
    const secrets = await asPod(["get", "secrets", "-n", namespace]);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain("forbidden");
    expect(
      recordOf("late", running(namespace).find((p) => p.key.endsWith("/late"))?.pid ?? 0).env.KUBECONFIG,
    ).toBe(undefined);

    // The token is bound to the pod: once the pod is gone the API server refuses it.
    await core.deleteNamespacedPod({ name: "op", namespace, gracePeriodSeconds: 0 });
    await eventually(async () => {
      const after = await asPod(["auth", "whoami"]);
      expect(after.code).not.toBe(0);
      expect(after.stderr).toMatch(/Unauthorized|must be logged in/);
    }, 30_000);

    // Deleting the namespace stops everything in it.
    await core.deleteNamespace({ name: namespace });
    await eventually(async () => expect(processesIn([namespace])).toEqual([]), 60_000);
    expect(readdirSync(outDir).filter((f) => f.startsWith("op.") && f.endsWith(".stopped"))).toHaveLength(1);
  });
});
