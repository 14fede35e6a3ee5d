/**
 * Test access to the local control plane: kubectl with the stack's admin kubeconfig, a typed
 * client, unique namespaces, and operator processes started and killed like pods would be.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { Condition } from "../../api/v1alpha1/schema-kit.js";
import { e2eTarget } from "../e2e/target.js";
import { stackConfig, stackPaths } from "../env/config.js";
import { eventually } from "./eventually.js";
import { asList, exampleManifests } from "./examples.js";
import { freePort } from "./free-port.js";

// The local stack's admin kubeconfig, or the kind cluster's when the e2e suite runs there.
const kubeconfig = e2eTarget.kubeconfig;
export const kubectlPath = join(stackPaths.bin, "kubectl");
export const helmPath = join(stackPaths.bin, "helm");

interface CommandRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(
  file: string,
  args: readonly string[],
  input?: string,
  env: Record<string, string> = {},
): Promise<CommandRun> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      [...args],
      {
        env: { ...process.env, KUBECONFIG: kubeconfig, ...env },
        maxBuffer: 32 * 1024 * 1024,
        timeout: 120_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function kubectl(args: readonly string[], input?: string): Promise<CommandRun> {
  return run(kubectlPath, args, input);
}

/** kubectl that must succeed; the error carries its stderr. */
export async function kubectlOk(args: readonly string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 6)}`;
  await kubectlOk(["create", "namespace", name]);
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(["delete", "namespace", name, "--wait=false", "--ignore-not-found"]);
}

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logFile: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs operator/main.ts as its own process, watching one namespace, like one replica of the Deployment. */
export async function startOperator(options: {
  namespace: string;
  leaseNamespace?: string;
  env?: Record<string, string>;
}): Promise<OperatorProcess> {
  const port = await freePort();
  const logDir = join(stackPaths.logs, "operator-tests");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.namespace}-${port}.log`);
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, ["--import", "tsx", join(stackConfig.repoRoot, "operator/main.ts")], {
    cwd: stackConfig.repoRoot,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      TALLY_WATCH_NAMESPACE: options.namespace,
      TALLY_OPERATOR_NAMESPACE: options.leaseNamespace ?? options.namespace,
      TALLY_METRICS_PORT: String(port),
      TALLY_POD_NAME: `operator-${port}`,
      TALLY_LEASE_DURATION_MS: "6000",
      TALLY_RESYNC_MS: "5000",
      ...options.env,
    },
    stdio: ["ignore", out, out],
  });
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let total = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name) || line.startsWith("#")) continue;
      const match = /^([a-z_:]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const lineLabels = match[2] ?? "";
      if (Object.entries(labels).every(([k, v]) => lineLabels.includes(`${k}="${v}"`)))
        total += Number(match[3]);
    }
    return total;
  };
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}; see ${logFile}`);
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    if (!response.ok) throw new Error(`healthz ${response.status}`);
  }, 30_000);
  return {
    child,
    port,
    logFile,
    metric,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill(signal);
      await exited;
    },
  };
}

/** Waits until the object's condition has the status (and reason, if given); returns it. */
export async function waitForCondition(
  resource: string,
  namespace: string,
  name: string,
  type: string,
  status: "True" | "False",
  options: { reason?: string; timeoutMs?: number } = {},
): Promise<Condition> {
  return eventually(
    async () => {
      const object = JSON.parse(await kubectlOk(["get", resource, name, "-n", namespace, "-o", "json"])) as {
        status?: { conditions?: Condition[] };
      };
      const condition = object.status?.conditions?.find((c) => c.type === type);
      if (
        condition?.status !== status ||
        (options.reason !== undefined && condition.reason !== options.reason)
      ) {
        throw new Error(
          `${resource}/${name} ${type}=${condition?.status ?? "absent"} (${condition?.reason ?? ""}: ${condition?.message ?? ""})`,
        );
      }
      return condition;
    },
    options.timeoutMs ?? 90_000,
    500,
  );
}

/** Deletes a namespace's Tally objects and waits; call it while an operator still runs (finalizers). */
export async function deleteTallyObjects(namespace: string): Promise<void> {
  await kubectl([
    "delete",
    "pipelines,rollups,alertrules",
    "--all",
    "-n",
    namespace,
    "--wait=true",
    "--timeout=60s",
  ]);
}

export interface OperatorNamespace {
  readonly namespace: string;
  readonly operator: OperatorProcess;
  /** Deletes the namespace's Tally objects while the operator still runs (finalizers), then stops both. */
  close(): Promise<void>;
}

/**
 * A test's own namespace with the CRDs installed, the local connection Secrets applied and an operator
 * watching it.
 */
export async function operatorNamespace(
  prefix: string,
  env?: Record<string, string>,
): Promise<OperatorNamespace> {
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
  await kubectlOk(["wait", "--for=condition=Established", "crd/pipelines.tally.dev"]);
  const namespace = await createNamespace(prefix);
  await kubectlOk(["apply", "-f", "-"], asList(exampleManifests("local-connections.yaml", namespace)));
  const operator = await startOperator({ namespace, env });
  return {
    namespace,
    operator,
    async close() {
      await deleteTallyObjects(namespace);
      await operator.stop();
      await deleteNamespace(namespace);
    },
  };
}

/** The events.k8s.io Events about one object, optionally of one reason. */
export async function eventsAbout(
  namespace: string,
  name: string,
  reason?: string,
): Promise<{ type: string; reason: string; note: string }[]> {
  const selector = `regarding.name=${name}${reason === undefined ? "" : `,reason=${reason}`}`;
  const list = JSON.parse(
    await kubectlOk([
      "get",
      "events.events.k8s.io",
      "-n",
      namespace,
      "--field-selector",
      selector,
      "-o",
      "json",
    ]),
  ) as { items: { type: string; reason: string; note: string }[] };
  return list.items;
}
