/**
 * The pod-runner: makes the pods of Tally's own components real local processes. The local control
 * plane has no kubelet: kwok marks scheduled pods Running and Ready, and this program starts, for
 * every Running pod labelled `tally.dev/component` (pipeline-worker, gateway, operator), one process
 * running that component's entry point (entrypoints.ts) with the pod's args and resolved
 * environment. It restarts a process that exits (restartPolicy Always), stops it (SIGTERM, SIGKILL
 * after the grace period) when its pod is deleted or stops Running, and appends its output to
 * `.tally-stack/logs/pods/<namespace>_<pod>.log`.
 *
 * Several processes of one component share this machine, so each gets its own TALLY_METRICS_PORT
 * (a free port, overriding the pod's); `.tally-stack/pod-runner/ports.json` maps
 * `<namespace>/<pod>` to it. A gateway also gets its own TALLY_GATEWAY_PORT, recorded as `apiPort`
 * in its entry of `.tally-stack/pod-runner/processes.json`; both stay the same across restarts.
 * TALLY_METRICS_HOST=127.0.0.1 keeps their servers on the loopback address like the rest of the
 * stack (a real pod binds 0.0.0.0 so that its Service reaches it), and TALLY_GATEWAY_HOST=127.0.0.1
 * does the same for the gateway's API. The `operator` and `gateway`
 * components also get KUBECONFIG: a kubeconfig with a token of the pod's own ServiceAccount
 * (pod-identity.ts), so they run with the RBAC a cluster would give them, not as admin.
 *
 * Started by the stack (`stack.ts up pod-runner`); health and state on TALLY_POD_RUNNER_PORT:
 * GET /healthz, GET /processes.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";
import { runtimeEnv } from "../../../contracts/runtime-env.js";
import { podRunnerPaths, stackConfig } from "../config.js";
import { clientIdentities } from "../services/k8s-pki.js";
import { componentLabel, desiredProcesses, diffProcesses, graceSeconds, podKey } from "./desired.js";
import { commandLine, type EntrypointTable, entrypointFor, loadEntrypoints } from "./entrypoints.js";
import { mainContainer, type ObjectRef, objectKey, referencedObjects, resolveContainer } from "./pod-env.js";
import { writePodKubeconfig } from "./pod-identity.js";
import { isOurProcess, type Launch, PodProcess, podMarkerEnv, signalGroup } from "./pod-process.js";

const localIp = "127.0.0.1";
/** While the runner itself stops, no process gets longer than this (the stack kills the runner at 30 s). */
const shutdownGraceCapMs = 15_000;
/** The env a process inherits from this machine; everything else comes from the pod, as in a container. */
const inheritedEnv = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR"] as const;

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function writeJsonAtomically(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once("error", reject);
    server.listen({ host: localIp, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function statusCode(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === "number") return e.code;
  if (typeof e?.statusCode === "number") return e.statusCode;
  return undefined;
}

function decodeAll(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

class PodRunner {
  private readonly kubeConfig = new KubeConfig();
  private readonly core: CoreV1Api;
  private readonly watch: Watch;
  private readonly pods = new Map<string, V1Pod>();
  private readonly processes = new Map<string, PodProcess>();
  private readonly stopping = new Set<PodProcess>();
  private readonly lastPods = new Map<PodProcess, V1Pod>();
  private entrypoints: EntrypointTable;
  private synced = false;
  private watching = false;
  private lastError: string | undefined;
  private shuttingDown = false;
  private abortWatch: (() => void) | undefined;
  private reconcileRunning = false;
  private reconcileAgain = false;

  constructor() {
    this.kubeConfig.loadFromFile(clientIdentities.podRunner.kubeconfig);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.watch = new Watch(this.kubeConfig);
    this.entrypoints = loadEntrypoints(process.env, podRunnerPaths.entrypoints);
  }

  healthy(): { ok: boolean; detail: string } {
    if (!this.synced)
      return { ok: false, detail: `not synced with the API yet (${this.lastError ?? "listing"})` };
    if (!this.watching) return { ok: false, detail: `watch reconnecting (${this.lastError ?? ""})` };
    return { ok: true, detail: "ok" };
  }

  state(): Record<string, unknown> {
    const running = Object.fromEntries([...this.processes].map(([key, p]) => [key, p.snapshot()]));
    return { processes: running, stopping: [...this.stopping].map((p) => ({ key: p.key, ...p.snapshot() })) };
  }

  private writeState(): void {
    try {
      const ports = Object.fromEntries([...this.processes].map(([key, p]) => [key, p.port]));
      writeJsonAtomically(podRunnerPaths.ports, ports);
      const all: Record<string, unknown> = {};
      for (const p of this.stopping) all[p.key] = p.snapshot();
      for (const [key, p] of this.processes) all[key] = p.snapshot();
      writeJsonAtomically(podRunnerPaths.processes, all);
    } catch (error) {
      log(`cannot write state files: ${errorText(error)}`);
    }
  }

  /** Processes a crashed runner left behind (recorded in processes.json and still carrying our marker). */
  killLeftovers(): void {
    let previous: Record<string, { pid?: number }>;
    try {
      previous = JSON.parse(readFileSync(podRunnerPaths.processes, "utf8")) as Record<
        string,
        { pid?: number }
      >;
    } catch {
      return;
    }
    for (const [key, entry] of Object.entries(previous)) {
      if (entry.pid !== undefined && isOurProcess(entry.pid, key)) {
        log(`killing leftover process ${entry.pid} of ${key} from an earlier run`);
        signalGroup(entry.pid, "SIGKILL");
      }
    }
  }

  private currentEntrypoints(): EntrypointTable {
    try {
      this.entrypoints = loadEntrypoints(process.env, podRunnerPaths.entrypoints);
    } catch (error) {
      log(`entry point table not reloaded, keeping the previous one: ${errorText(error)}`);
    }
    return this.entrypoints;
  }

  private async lookupObjects(namespace: string, refs: readonly ObjectRef[]) {
    const found = new Map<string, Record<string, string> | undefined>();
    for (const ref of refs) {
      try {
        if (ref.kind === "Secret") {
          const secret = await this.core.readNamespacedSecret({ name: ref.name, namespace });
          found.set(objectKey(ref), decodeAll(secret.data));
        } else {
          const map = await this.core.readNamespacedConfigMap({ name: ref.name, namespace });
          found.set(objectKey(ref), { ...decodeAll(map.binaryData), ...map.data });
        }
      } catch (error) {
        if (statusCode(error) !== 404)
          throw new Error(`reading ${ref.kind} ${namespace}/${ref.name}: ${errorText(error)}`);
        found.set(objectKey(ref), undefined);
      }
    }
    return found;
  }

  private prepareLaunch(
    key: string,
    uid: string,
    component: string,
    port: number,
    apiPort: number | undefined,
  ) {
    return async (): Promise<{ ok: true; launch: Launch } | { ok: false; reason: string }> => {
      const pod = this.pods.get(key);
      if (pod?.metadata?.uid !== uid) return { ok: false, reason: "the pod is gone" };
      const namespace = pod.metadata?.namespace ?? "";
      const argv = entrypointFor(this.currentEntrypoints(), namespace, component);
      if (argv === undefined) return { ok: false, reason: `no entry point for component "${component}"` };
      const container = mainContainer(pod, component);
      if (!container) return { ok: false, reason: "the pod has no container" };
      const objects = await this.lookupObjects(namespace, referencedObjects(container));
      const resolved = resolveContainer(pod, container, (ref) => objects.get(objectKey(ref)), {
        ip: localIp,
      });
      if (!resolved.ok) return resolved;
      const base: Record<string, string> = {};
      for (const name of inheritedEnv) {
        const value = process.env[name];
        if (value !== undefined) base[name] = value;
      }
      const talksToApi = component === "operator" || component === "gateway";
      const identity = talksToApi ? await writePodKubeconfig(this.core, pod) : undefined;
      if (identity !== undefined && !identity.ok) return identity;
      const env: Record<string, string> = {
        ...base,
        HOSTNAME: pod.metadata?.name ?? "",
        ...resolved.env,
        // Every component reads these two names (the runtime's contract; the operator's main.ts alike).
        [runtimeEnv.metricsPort.name]: String(port),
        [runtimeEnv.metricsHost.name]: localIp,
        [podMarkerEnv]: key,
        // The operator and the gateway talk to the apiserver as their pod's ServiceAccount (pod-identity.ts).
        ...(identity?.ok === true ? { KUBECONFIG: identity.kubeconfig } : {}),
        // Replicas share this machine: each API on a port of its own (processes.json records it).
        ...(apiPort === undefined
          ? {}
          : { TALLY_GATEWAY_HOST: localIp, TALLY_GATEWAY_PORT: String(apiPort) }),
      };
      const command = commandLine(argv, resolved.args, process.execPath, stackConfig.repoRoot);
      return { ok: true, launch: { ...command, env, cwd: stackConfig.repoRoot } };
    };
  }

  /** Brings the processes in line with the pods; runs one at a time, again if asked meanwhile. */
  async reconcile(): Promise<void> {
    if (this.reconcileRunning) {
      this.reconcileAgain = true;
      return;
    }
    this.reconcileRunning = true;
    try {
      do {
        this.reconcileAgain = false;
        await this.reconcileOnce();
      } while (this.reconcileAgain);
    } finally {
      this.reconcileRunning = false;
    }
  }

  private async reconcileOnce(): Promise<void> {
    if (this.shuttingDown || !this.synced) return;
    const table = this.currentEntrypoints();
    const desired = desiredProcesses(
      this.pods.values(),
      (namespace, component) => entrypointFor(table, namespace, component) !== undefined,
    );
    const { start, stop } = diffProcesses(desired, this.processes.values());
    for (const { key } of stop) {
      const proc = this.processes.get(key);
      if (!proc) continue;
      this.processes.delete(key);
      const pod = this.pods.get(key);
      const lastPod = pod?.metadata?.uid === proc.uid ? pod : this.lastPods.get(proc);
      this.lastPods.delete(proc);
      const graceMs = graceSeconds(lastPod) * 1000;
      log(`stopping ${key} (pid ${proc.pid ?? "-"}, grace ${graceMs / 1000} s)`);
      this.stopping.add(proc);
      void proc.stop(graceMs).then((outcome) => {
        log(`${key}: ${outcome}`);
        this.stopping.delete(proc);
        this.writeState();
      });
    }
    for (const wanted of start) {
      const port = await freePort();
      const apiPort = wanted.component === "gateway" ? await freePort() : undefined;
      const logFile = join(podRunnerPaths.podLogs, `${wanted.namespace}_${wanted.name}.log`);
      const proc = new PodProcess(
        wanted.key,
        wanted.uid,
        wanted.component,
        port,
        apiPort,
        logFile,
        this.prepareLaunch(wanted.key, wanted.uid, wanted.component, port, apiPort),
        () => this.writeState(),
      );
      this.processes.set(wanted.key, proc);
      log(
        `starting ${wanted.key} (${wanted.component}, ${runtimeEnv.metricsPort.name}=${port}${apiPort === undefined ? "" : `, TALLY_GATEWAY_PORT=${apiPort}`}, log ${logFile})`,
      );
      proc.start();
    }
    for (const [key, proc] of this.processes) {
      const pod = this.pods.get(key);
      if (pod) this.lastPods.set(proc, pod);
    }
    this.writeState();
  }

  /** List, then watch from the list's resourceVersion; relist after any error or a 410 Gone. */
  async run(): Promise<void> {
    let resourceVersion = "";
    let failures = 0;
    while (!this.shuttingDown) {
      try {
        if (resourceVersion === "") {
          const list = await this.core.listPodForAllNamespaces({ labelSelector: componentLabel });
          this.pods.clear();
          for (const pod of list.items) this.pods.set(podKey(pod), pod);
          resourceVersion = list.metadata?.resourceVersion ?? "";
          if (!this.synced) log(`synced: ${list.items.length} labelled pods`);
          this.synced = true;
          void this.reconcile();
        }
        resourceVersion = await this.watchOnce(resourceVersion);
        failures = 0;
      } catch (error) {
        this.watching = false;
        this.lastError = errorText(error);
        resourceVersion = "";
        if (this.shuttingDown) break;
        const delay = Math.min(500 * 2 ** failures, 10_000);
        failures += 1;
        log(`watch failed (${this.lastError}); relisting in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  /** One watch request; resolves with the resourceVersion to continue from ("" = relist). */
  private watchOnce(from: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let resourceVersion = from;
      let expired = false;
      const onEvent = (type: string, object: V1Pod & { code?: number }) => {
        if (type === "ERROR") {
          if (object.code === 410) expired = true;
          return;
        }
        if (type === "BOOKMARK") {
          resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
          return;
        }
        const key = podKey(object);
        if (type === "DELETED") this.pods.delete(key);
        else this.pods.set(key, object);
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        void this.reconcile();
      };
      let finished = false;
      const onDone = (error: unknown) => {
        finished = true;
        this.abortWatch = undefined;
        if (error && statusCode(error) === 410) resolve("");
        else if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(expired ? "" : resourceVersion);
      };
      this.watch
        .watch(
          "/api/v1/pods",
          {
            labelSelector: componentLabel,
            resourceVersion: from,
            allowWatchBookmarks: true,
            // The server ends the watch after this long and we resume from where it was.
            timeoutSeconds: 300,
          },
          onEvent,
          onDone,
        )
        .then((controller) => {
          if (finished) return; // the request failed before it was established
          this.watching = true;
          this.lastError = undefined;
          this.abortWatch = () => controller.abort();
        }, reject);
    });
  }

  periodic(): void {
    void this.reconcile();
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.abortWatch?.();
    const all = [...this.processes.values()];
    this.processes.clear();
    log(`shutting down: stopping ${all.length} processes`);
    await Promise.all([
      ...all.map((p) => {
        const graceMs = Math.min(graceSeconds(this.lastPods.get(p)) * 1000, shutdownGraceCapMs);
        this.stopping.add(p);
        return p.stop(graceMs).then(() => this.stopping.delete(p));
      }),
      // Processes already stopping finish on their own schedule; wait for them too (capped).
      ...[...this.stopping].map((p) => p.stop(shutdownGraceCapMs)),
    ]);
    this.writeState();
  }
}

async function main(): Promise<void> {
  mkdirSync(podRunnerPaths.dir, { recursive: true });
  mkdirSync(podRunnerPaths.podLogs, { recursive: true });
  const runner = new PodRunner();
  runner.killLeftovers();

  const server = createHttpServer((req, res) => {
    if (req.url === "/healthz") {
      const { ok, detail } = runner.healthy();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(`${detail}\n`);
    } else if (req.url === "/processes") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(runner.state(), null, 2));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: localIp, port: stackConfig.podRunnerPort }, resolve);
  });
  log(`pod-runner on http://${localIp}:${stackConfig.podRunnerPort} (pid ${process.pid})`);

  const periodic = setInterval(() => runner.periodic(), 5000);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    clearInterval(periodic);
    void runner.shutdown().finally(() => {
      server.close();
      log("stopped");
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await runner.run();
}

main().catch((error: unknown) => {
  console.error("pod-runner failed:", error);
  process.exit(1);
});
