import { existsSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { kubeApiserverUrl, kubeconfigPath, stackPaths } from "../config.js";
import { isAlive, readPid } from "../process-control.js";
import { type CommandResult, runCommand } from "../run-command.js";
import { adminTls } from "./k8s-pki.js";

/**
 * Small helpers shared by the control-plane services, the pod-runner service and the integration
 * tests: the binaries `make setup` builds, kubectl/helm with the admin kubeconfig, and HTTPS probes.
 */

const k8sBinaries = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "helm",
  "kwok",
] as const;
type K8sBinary = (typeof k8sBinaries)[number];

export function k8sBinary(name: K8sBinary): string {
  return join(stackPaths.bin, name);
}

/** A message naming the missing binaries (for ServiceSpec.checkInstalled), or undefined. */
export function missingBinaries(names: readonly K8sBinary[]): string | undefined {
  const missing = names.filter((n) => !existsSync(k8sBinary(n)));
  return missing.length === 0
    ? undefined
    : `${missing.join(", ")} not found in ${stackPaths.bin} (make setup builds ${missing.length === 1 ? "it" : "them"} with test/env/k8s/build.sh)`;
}

/** kubectl with the admin kubeconfig; rejects with kubectl's stderr. */
export function kubectl(
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<CommandResult> {
  return runCommand(k8sBinary("kubectl"), ["--kubeconfig", kubeconfigPath, ...args], {
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** helm with the admin kubeconfig and its state kept away from the user's ~/.config/helm. */
export function helm(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  const helmHome = join(stackPaths.data, "helm");
  return runCommand(k8sBinary("helm"), ["--kubeconfig", kubeconfigPath, ...args], {
    timeoutMs: options.timeoutMs ?? 120_000,
    env: {
      HELM_CACHE_HOME: join(helmHome, "cache"),
      HELM_CONFIG_HOME: join(helmHome, "config"),
      HELM_DATA_HOME: join(helmHome, "data"),
    },
  });
}

interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
}

/** GET over HTTPS; `tls: "insecure"` skips verification (the components' self-signed health ports). */
export function httpsGet(
  url: string,
  tls: "insecure" | { ca: Buffer; cert: Buffer; key: Buffer },
  timeoutMs = 2000,
): Promise<HttpsAnswer | undefined> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "GET",
        timeout: timeoutMs,
        ...(tls === "insecure" ? { rejectUnauthorized: false } : tls),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", () => resolve(undefined));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/** GET a path of the local apiserver as the admin. */
export async function apiserverGet(path: string, timeoutMs = 2000): Promise<HttpsAnswer | undefined> {
  try {
    return await httpsGet(`${kubeApiserverUrl}${path}`, await adminTls(), timeoutMs);
  } catch {
    return undefined; // certificates not generated yet
  }
}

export async function apiserverReady(): Promise<boolean> {
  const answer = await apiserverGet("/readyz");
  return answer?.status === 200;
}

/**
 * Waits for a service another one needs before it can start. Gives up at once when that service
 * had a process and it died (its own start reports why); the error says which and where.
 */
export async function waitForDependency(
  service: string,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const pidFile = join(stackPaths.pids, `${service}.pid`);
  const deadline = Date.now() + timeoutMs;
  let sawProcess = false;
  while (Date.now() < deadline) {
    if (await check()) return;
    const pid = readPid(pidFile);
    if (pid !== undefined && isAlive(pid)) {
      sawProcess = true;
    } else if (sawProcess) {
      throw new Error(`${service} (${what}) exited before it became ready; see its log`);
    }
    await sleep(500);
  }
  throw new Error(
    `${service} (${what}) is not ready after ${timeoutMs / 1000} s; ` +
      `start it first: node --import tsx test/env/stack.ts up ${service}`,
  );
}
