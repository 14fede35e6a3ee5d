/**
 * What the e2e suite does that depends on where it runs (target.ts chooses): see a component's pods ready,
 * reach a gateway's API, kill a runtime, restart a data service, check who the pods run as, and find what
 * a test left running.
 *   local: the pod-runner runs pods as processes (its state file), the stack's services are restarted by
 *          stack.ts, each pod's identity is its kubeconfig from the pod-runner.
 *   kind:  real pods. The runtime's `kill -9` is a forced delete (--grace-period=0 --force: its container
 *          gets no graceful stop and the Deployment starts another at once); a data service's restart is
 *          its pod deleted and its StatefulSet's replacement Ready on the same PersistentVolumeClaim; the
 *          identity is the pod's ServiceAccount and what RBAC lets that ServiceAccount do.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { expect } from "vitest";
import { podRunnerPaths } from "../env/config.js";
import { stackRestart } from "../env/stack.js";
import { eventually } from "../support/eventually.js";
import { kubectl, kubectlOk, kubectlPath } from "../support/kube.js";
import { podNameOf, podProcesses, runThisCheckoutIn } from "../support/pod-runner-state.js";
import { componentReady, gatewayUrl } from "../support/tally-release.js";
import { e2eTarget } from "./target.js";

export interface ReadyPod {
  readonly namespace: string;
  readonly pod: string;
  /** tally.dev/component: operator, gateway, pipeline-worker. */
  readonly component: string;
}

export type DataService = "redis" | "clickhouse" | "kafka";

export interface TargetOps {
  /** Pods of these namespaces run this checkout's programs; returns the undo. */
  runThisCheckout(namespaces: readonly string[]): () => void;
  /** `--set` values helm install needs on this target besides the service addresses. */
  readonly helmSets: readonly string[];
  /** Waits until exactly `count` pods of the component are running and ready; returns them. */
  componentReady(namespace: string, component: string, count: number): Promise<ReadyPod[]>;
  /** A ready gateway's API base URL, reachable from the test. */
  gatewayUrl(namespace: string, replicas: number): Promise<string>;
  /** Kills one runtime of the namespace without a graceful stop and waits until one runs again; says what. */
  killRuntime(namespace: string): Promise<string>;
  /** Stops and starts one data service on its data; returns how long it was down (ms). */
  restartService(service: DataService): Promise<number>;
  /**
   * Asserts each pod runs as `system:serviceaccount:<releaseNamespace>:<release>-<component>` and (kind)
   * that the ServiceAccount may do one thing its component needs in `workload` and not one it must not.
   */
  checkIdentities(
    pods: readonly ReadyPod[],
    release: string,
    releaseNamespace: string,
    workload: string,
  ): Promise<void>;
  /** What still runs for pods of these namespaces (processes on local, pods on kind): none after a clean uninstall. */
  leftovers(namespaces: readonly string[]): Promise<string[]>;
  /** Stops what the target started for the test (kind: port-forwards). */
  close(): void;
}

const local: TargetOps = {
  runThisCheckout: runThisCheckoutIn,
  helmSets: [],
  async componentReady(namespace, component, count) {
    const entries = await componentReady(namespace, component, count);
    return entries.map((e) => ({ namespace, pod: podNameOf(e), component: e.component }));
  },
  gatewayUrl,
  async killRuntime(namespace) {
    const [runtime] = podProcesses([namespace]).filter(
      (e) => e.component === "pipeline-worker" && e.state === "running" && e.pid !== undefined,
    );
    if (runtime?.pid === undefined) throw new Error(`no running runtime process in ${namespace}`);
    process.kill(runtime.pid, "SIGKILL");
    await eventually(
      async () => {
        const now = podProcesses([namespace]).find((e) => e.key === runtime.key);
        if (now === undefined || now.restarts <= runtime.restarts || now.state !== "running")
          throw new Error(`${runtime.key}: ${now?.state ?? "gone"}, restarts ${now?.restarts ?? "-"}`);
      },
      60_000,
      250,
    );
    return `kill -9 ${runtime.pid} (${runtime.key}); the pod-runner restarted it`;
  },
  async restartService(service) {
    const downtime = await stackRestart([service]);
    return downtime.get(service) ?? Number.NaN;
  },
  async checkIdentities(pods, release, releaseNamespace) {
    // Each runs as its pod's ServiceAccount, not as the admin (the pod-runner's pod-identity.ts).
    for (const { namespace, pod, component } of pods) {
      const whoami = await kubectlOk([
        "auth",
        "whoami",
        "--kubeconfig",
        join(podRunnerPaths.identities, `${namespace}_${pod}.kubeconfig`),
        "-o",
        "jsonpath={.status.userInfo.username}",
      ]);
      expect(whoami).toBe(`system:serviceaccount:${releaseNamespace}:${release}-${component}`);
    }
  },
  async leftovers(namespaces) {
    return podProcesses(namespaces).map((e) => `${e.key} ${e.state}`);
  },
  close() {},
};

// ---------------------------------------------------------------------------------------------------------

/** run.sh builds this checkout into this image and loads it into the kind nodes. */
const kindImage = { repository: "tally", tag: "e2e" } as const;
/** The namespace of services.yaml; each data service's pods carry `app: <service>`. */
const depsNamespace = "tally-deps";
/** The chart's gateway.port (the suite keeps the default). */
const gatewayPort = 8090;

interface PodView {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { serviceAccountName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

async function pods(namespace: string, selector: string): Promise<PodView[]> {
  return (
    JSON.parse(await kubectlOk(["get", "pods", "-n", namespace, "-l", selector, "-o", "json"])) as {
      items: PodView[];
    }
  ).items;
}

function isReady(pod: PodView): boolean {
  return (
    pod.metadata.deletionTimestamp === undefined &&
    pod.status?.phase === "Running" &&
    pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true
  );
}

/** The component's pods not being deleted, and which of them are ready, as they are now. */
async function componentPods(
  namespace: string,
  component: string,
): Promise<{ all: PodView[]; ready: ReadyPod[] }> {
  const all = (await pods(namespace, `tally.dev/component=${component}`)).filter(
    (p) => p.metadata.deletionTimestamp === undefined,
  );
  return { all, ready: all.filter(isReady).map((p) => ({ namespace, pod: p.metadata.name, component })) };
}

async function kindComponentReady(namespace: string, component: string, count: number): Promise<ReadyPod[]> {
  return eventually(
    async () => {
      const { all, ready } = await componentPods(namespace, component);
      // As on local: exactly `count` pods, each ready (a rolling update's extra pod is not done yet).
      if (all.length !== count || ready.length !== count)
        throw new Error(
          `${ready.length} of ${count} ${component} pods ready (${all.length} pods) in ${namespace}`,
        );
      return ready;
    },
    180_000,
    500,
  );
}

/** One verb the component needs in the workload namespace, and one it must never have. */
const rbacProbe: Record<string, { allowed: readonly string[]; denied: readonly string[] }> = {
  operator: { allowed: ["create", "deployments.apps"], denied: ["list", "secrets"] },
  gateway: {
    allowed: ["patch", "alertrules.tally.dev", "--subresource=status"],
    denied: ["list", "secrets"],
  },
};

async function can(serviceAccount: string, namespace: string, check: readonly string[]): Promise<boolean> {
  // `auth can-i` exits 1 for "no": read its answer, not its exit code.
  const result = await kubectl(["auth", "can-i", ...check, "-n", namespace, `--as=${serviceAccount}`]);
  const answer = result.stdout.trim();
  if (answer !== "yes" && answer !== "no")
    throw new Error(`kubectl auth can-i ${check.join(" ")} --as=${serviceAccount}: ${result.stderr}`);
  return answer === "yes";
}

const forwards = new Set<ChildProcess>();

/** `kubectl port-forward` to the pod's API port on a free local port; resolves with that port. */
function portForward(namespace: string, pod: string, port: number): Promise<number> {
  const child = spawn(kubectlPath, ["port-forward", "-n", namespace, `pod/${pod}`, `:${port}`], {
    env: { ...process.env, KUBECONFIG: e2eTarget.kubeconfig },
    stdio: ["ignore", "pipe", "pipe"],
  });
  forwards.add(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(new Error("no port after 30 s")), 30_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`kubectl port-forward pod/${pod} -n ${namespace}: ${error.message} ${err}`));
    };
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => fail(new Error(`exited with ${code}`)));
  });
}

const kind: TargetOps = {
  // The image run.sh built is this checkout.
  runThisCheckout: () => () => {},
  helmSets: [
    `image.repository=${kindImage.repository}`,
    `image.tag=${kindImage.tag}`,
    "image.pullPolicy=Never",
  ],
  componentReady: kindComponentReady,
  async gatewayUrl(namespace, replicas) {
    // A fresh forward per call: the pod an earlier one went to may have been deleted or rolled since.
    const [gateway] = await kindComponentReady(namespace, "gateway", replicas);
    if (gateway === undefined) throw new Error(`no ready gateway in ${namespace}`);
    return `http://127.0.0.1:${await portForward(namespace, gateway.pod, gatewayPort)}`;
  },
  async killRuntime(namespace) {
    const [runtime] = await kindComponentReady(namespace, "pipeline-worker", 1);
    if (runtime === undefined) throw new Error(`no ready runtime pod in ${namespace}`);
    await kubectlOk([
      "delete",
      "pod",
      runtime.pod,
      "-n",
      namespace,
      "--grace-period=0",
      "--force",
      "--wait=false",
    ]);
    await eventually(
      async () => {
        const { ready } = await componentPods(namespace, "pipeline-worker");
        if (ready.length !== 1 || ready[0]?.pod === runtime.pod)
          throw new Error(`${runtime.pod} not replaced yet (ready: ${ready.map((p) => p.pod).join(", ")})`);
      },
      120_000,
      250,
    );
    return `force-deleted runtime pod ${namespace}/${runtime.pod} (grace 0); its Deployment replaced it`;
  },
  async restartService(service) {
    const selector = `app=${service}`;
    const before = new Set((await pods(depsNamespace, selector)).map((p) => p.metadata.uid));
    if (before.size === 0) throw new Error(`no ${service} pod in ${depsNamespace}`);
    const stoppedAt = Date.now();
    await kubectlOk(["delete", "pods", "-n", depsNamespace, "-l", selector, "--wait=false"]);
    await eventually(
      async () => {
        const now = await pods(depsNamespace, selector);
        const fresh = now.filter((p) => !before.has(p.metadata.uid));
        if (now.some((p) => before.has(p.metadata.uid)) || !fresh.some(isReady))
          throw new Error(
            `${service}: ${now.map((p) => `${p.metadata.name} ${p.status?.phase}`).join(", ")}`,
          );
      },
      300_000,
      250,
    );
    return Date.now() - stoppedAt;
  },
  async checkIdentities(ready, release, releaseNamespace, workload) {
    for (const { namespace, pod, component } of ready) {
      const serviceAccount = await kubectlOk([
        "get",
        "pod",
        pod,
        "-n",
        namespace,
        "-o",
        "jsonpath={.spec.serviceAccountName}",
      ]);
      expect(`system:serviceaccount:${namespace}:${serviceAccount}`, pod).toBe(
        `system:serviceaccount:${releaseNamespace}:${release}-${component}`,
      );
    }
    for (const component of new Set(ready.map((p) => p.component))) {
      const probe = rbacProbe[component];
      if (probe === undefined) throw new Error(`no RBAC probe for component ${component}`);
      const as = `system:serviceaccount:${releaseNamespace}:${release}-${component}`;
      expect(await can(as, workload, probe.allowed), `${as} may ${probe.allowed.join(" ")}`).toBe(true);
      expect(await can(as, workload, probe.denied), `${as} may not ${probe.denied.join(" ")}`).toBe(false);
    }
  },
  async leftovers(namespaces) {
    const left: string[] = [];
    for (const namespace of namespaces)
      for (const name of (await kubectlOk(["get", "pods", "-n", namespace, "-o", "name"])).split("\n"))
        if (name.trim() !== "") left.push(`${namespace}/${name.trim()}`);
    return left;
  },
  close() {
    for (const child of forwards) child.kill();
    forwards.clear();
  },
};

export const targetOps: TargetOps = e2eTarget.name === "kind" ? kind : local;
