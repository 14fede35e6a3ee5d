import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { kubeApiserverUrl, stackConfig, stackPaths } from "../config.js";
import { runCommand } from "../run-command.js";
import type { ServiceSpec } from "../service.js";
import { findExecutable } from "./find-executable.js";
import {
  clientIdentities,
  ensurePki,
  frontProxyClientName,
  k8sDir,
  pkiFiles,
  serviceClusterIpRange,
} from "./k8s-pki.js";
import {
  apiserverGet,
  apiserverReady,
  httpsGet,
  k8sBinary,
  kubectl,
  missingBinaries,
  waitForDependency,
} from "./k8s-tools.js";

/**
 * The local Kubernetes control plane, built from Go modules by `make setup`
 * (test/env/k8s/build.sh): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
 * with fake nodes, all on 127.0.0.1. `stackUp` starts services together, so each one waits in
 * `prepare()` for what it needs (etcd for the apiserver, the apiserver for the rest).
 *
 * Authentication is by client certificate (test/env/services/k8s-pki.ts), authorization is
 * `Node,RBAC`, so RBAC rules are enforced for everyone but the admin (system:masters).
 */

const host = stackConfig.host;
const etcdUrl = `http://${host}:${stackConfig.etcdPort}`;
const etcdPeerUrl = `http://${host}:${stackConfig.etcdPeerPort}`;
const etcdDataDir = join(stackPaths.data, "etcd");

async function etcdHealthy(): Promise<boolean> {
  try {
    const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { health?: unknown };
    return response.ok && body.health === "true";
  } catch {
    return false;
  }
}

export const etcdService: ServiceSpec = {
  name: "etcd",
  address: `${etcdUrl} (peer ${stackConfig.etcdPeerPort})`,
  ports: [stackConfig.etcdPort, stackConfig.etcdPeerPort],
  readyTimeoutMs: 60_000,
  // etcd syncs and closes its database on SIGTERM; that takes a moment.
  stopGraceMs: 20_000,
  async checkInstalled() {
    return missingBinaries(["etcd"]);
  },
  async prepare() {
    await mkdir(etcdDataDir, { recursive: true, mode: 0o700 });
  },
  command() {
    return {
      file: k8sBinary("etcd"),
      args: [
        "--name=tally",
        `--data-dir=${etcdDataDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=tally=${etcdPeerUrl}`,
        "--initial-cluster-state=new",
        // The apiserver compacts old revisions every 5 min; this is a backstop for the database size.
        "--auto-compaction-mode=periodic",
        "--auto-compaction-retention=1h",
        "--quota-backend-bytes=2147483648",
        "--log-level=warn",
      ],
    };
  },
  isReady: etcdHealthy,
};

export const kubeApiserverService: ServiceSpec = {
  name: "kube-apiserver",
  address: kubeApiserverUrl,
  ports: [stackConfig.kubeApiserverPort],
  readyTimeoutMs: 120_000,
  stopGraceMs: 30_000,
  async checkInstalled() {
    return missingBinaries(["kube-apiserver", "kubectl"]);
  },
  async prepare() {
    await ensurePki();
    await waitForDependency("etcd", etcdUrl, etcdHealthy, 90_000);
  },
  command() {
    return {
      file: k8sBinary("kube-apiserver"),
      args: [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${host}`,
        `--advertise-address=${host}`,
        `--secure-port=${stackConfig.kubeApiserverPort}`,
        `--tls-cert-file=${pkiFiles.apiserverCert}`,
        `--tls-private-key-file=${pkiFiles.apiserverKey}`,
        `--client-ca-file=${pkiFiles.caCert}`,
        "--authorization-mode=Node,RBAC",
        // Aggregation layer (extension apiservers such as a metrics adapter), as kubeadm sets it up;
        // it also publishes the request-header CA the controller-manager and scheduler expect.
        `--requestheader-client-ca-file=${pkiFiles.frontProxyCaCert}`,
        `--requestheader-allowed-names=${frontProxyClientName}`,
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        `--proxy-client-cert-file=${pkiFiles.frontProxyClientCert}`,
        `--proxy-client-key-file=${pkiFiles.frontProxyClientKey}`,
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${pkiFiles.serviceAccountPub}`,
        `--service-account-signing-key-file=${pkiFiles.serviceAccountKey}`,
        "--api-audiences=https://kubernetes.default.svc.cluster.local",
        // The lease reconciler refuses a loopback advertise address; nothing in this stack reaches
        // the API through the in-cluster `kubernetes` Service (pods are local processes).
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--enable-admission-plugins=NodeRestriction",
        "--profiling=false",
        // On SIGTERM, end open watches (controllers, kwok, the pod-runner) within 5 s instead of
        // leaving the HTTP server to wait them out for the whole request timeout.
        "--shutdown-watch-termination-grace-period=5s",
      ],
    };
  },
  isReady: apiserverReady,
};

function componentKubeconfigArgs(kubeconfig: string): string[] {
  // The same identity authenticates and authorizes requests to the component's own secure port.
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
  ];
}

async function healthzOk(port: number): Promise<boolean> {
  const answer = await httpsGet(`https://${host}:${port}/healthz`, "insecure");
  return answer?.status === 200 && answer.body.trim() === "ok";
}

async function waitForApiserver(): Promise<void> {
  await ensurePki();
  await waitForDependency("kube-apiserver", kubeApiserverUrl, apiserverReady, 180_000);
}

export const kubeControllerManagerService: ServiceSpec = {
  name: "kube-controller-manager",
  address: `https://${host}:${stackConfig.kubeControllerManagerPort}`,
  ports: [stackConfig.kubeControllerManagerPort],
  readyTimeoutMs: 90_000,
  stopGraceMs: 15_000,
  async checkInstalled() {
    return missingBinaries(["kube-controller-manager"]);
  },
  prepare: waitForApiserver,
  command() {
    return {
      file: k8sBinary("kube-controller-manager"),
      args: [
        ...componentKubeconfigArgs(clientIdentities.controllerManager.kubeconfig),
        `--bind-address=${host}`,
        `--secure-port=${stackConfig.kubeControllerManagerPort}`,
        `--cert-dir=${join(k8sDir, "controller-manager-serving")}`,
        "--leader-elect=false",
        // Everything on by default (deployments, replica sets, garbage collector, namespaces,
        // service accounts and their tokens, root CA publisher, ...) except pod CIDR allocation:
        // kwok hands out pod IPs itself.
        "--controllers=*,-node-ipam-controller",
        // Each controller acts as its own service account, as in kubeadm clusters.
        "--use-service-account-credentials=true",
        `--service-account-private-key-file=${pkiFiles.serviceAccountKey}`,
        `--root-ca-file=${pkiFiles.caCert}`,
        `--cluster-signing-cert-file=${pkiFiles.caCert}`,
        `--cluster-signing-key-file=${pkiFiles.caKey}`,
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        "--profiling=false",
      ],
    };
  },
  isReady: () => healthzOk(stackConfig.kubeControllerManagerPort),
};

export const kubeSchedulerService: ServiceSpec = {
  name: "kube-scheduler",
  address: `https://${host}:${stackConfig.kubeSchedulerPort}`,
  ports: [stackConfig.kubeSchedulerPort],
  readyTimeoutMs: 90_000,
  stopGraceMs: 15_000,
  async checkInstalled() {
    return missingBinaries(["kube-scheduler"]);
  },
  prepare: waitForApiserver,
  command() {
    return {
      file: k8sBinary("kube-scheduler"),
      args: [
        ...componentKubeconfigArgs(clientIdentities.scheduler.kubeconfig),
        `--bind-address=${host}`,
        `--secure-port=${stackConfig.kubeSchedulerPort}`,
        `--cert-dir=${join(k8sDir, "scheduler-serving")}`,
        "--leader-elect=false",
        "--profiling=false",
      ],
    };
  },
  isReady: () => healthzOk(stackConfig.kubeSchedulerPort),
};

/** The fake nodes kwok keeps Ready; pods scheduled to them become Running and Ready at once. */
const kwokNodeNames = ["kwok-node-0", "kwok-node-1"] as const;
const kwokNodeAnnotation = { key: "kwok.x-k8s.io/node", value: "fake" } as const;
const kwokConfigFile = join(k8sDir, "kwok.yaml");
const kwokNodesFile = join(k8sDir, "kwok-nodes.yaml");

function fakeNode(name: string): object {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        [kwokNodeAnnotation.key]: kwokNodeAnnotation.value,
      },
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "",
        type: "kwok",
      },
    },
    // No taint: every pod of the local stack is meant to land on a fake node.
    spec: {},
    status: {
      allocatable: { cpu: "32", memory: "256Gi", pods: "110" },
      capacity: { cpu: "32", memory: "256Gi", pods: "110" },
      nodeInfo: {
        architecture: "amd64",
        bootID: "",
        containerRuntimeVersion: "",
        kernelVersion: "",
        kubeProxyVersion: "fake",
        kubeletVersion: "fake",
        machineID: "",
        operatingSystem: "linux",
        osImage: "",
        systemUUID: "",
      },
      phase: "Running",
    },
  };
}

interface NodeList {
  items?: { metadata?: { name?: string }; status?: { conditions?: { type?: string; status?: string }[] } }[];
}

async function fakeNodesReady(): Promise<boolean> {
  const answer = await apiserverGet("/api/v1/nodes?labelSelector=type%3Dkwok");
  if (answer?.status !== 200) return false;
  const ready = new Set(
    ((JSON.parse(answer.body) as NodeList).items ?? [])
      .filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .map((n) => n.metadata?.name),
  );
  return kwokNodeNames.every((n) => ready.has(n));
}

/**
 * kwok (since v0.8) has no built-in stages: like `kwokctl`, run it with the "fast" set
 * (kustomize/stage/fast: node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete,
 * pod-delete). They come from the kwok module source at the version pinned in
 * test/env/k8s/versions.env, the one `make setup` built the binary from (GOMODCACHE, or
 * `go mod download` when that cache was cleaned), and are kept in the stack cache after first use.
 */
const kwokStageFiles = [
  "kustomize/stage/node/fast/node-initialize.yaml",
  "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
  "kustomize/stage/pod/fast/pod-ready.yaml",
  "kustomize/stage/pod/fast/pod-complete.yaml",
  "kustomize/stage/pod/fast/pod-delete.yaml",
] as const;

async function kwokVersion(): Promise<string> {
  const versions = await readFile(join(stackConfig.repoRoot, "test/env/k8s/versions.env"), "utf8");
  const version = versions.match(/^KWOK_VERSION=(\S+)$/m)?.[1];
  if (version === undefined) throw new Error("KWOK_VERSION is not set in test/env/k8s/versions.env");
  return version;
}

async function kwokModuleDir(version: string): Promise<string> {
  const go = (await findExecutable("go")) ?? (await findExecutable("/usr/local/go/bin/go"));
  if (go === undefined) throw new Error("no Go toolchain on PATH");
  const env = { GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local", GOWORK: "off" };
  const modCache = (await runCommand(go, ["env", "GOMODCACHE"], { env })).stdout.trim();
  const dir = join(modCache, `sigs.k8s.io/kwok@${version}`);
  if (kwokStageFiles.every((f) => existsSync(join(dir, f)))) return dir;
  const downloaded = await runCommand(go, ["mod", "download", "-json", `sigs.k8s.io/kwok@${version}`], {
    env,
    cwd: tmpdir(),
    timeoutMs: 300_000,
  });
  return (JSON.parse(downloaded.stdout) as { Dir?: string }).Dir ?? dir;
}

let kwokStagesText: Promise<string> | undefined;

/** The stage documents, one YAML stream; rejects with what is missing. */
function kwokStages(): Promise<string> {
  kwokStagesText ??= (async () => {
    const version = await kwokVersion();
    const cached = join(stackConfig.cacheDir, "kwok-stages", `${version}.yaml`);
    if (existsSync(cached)) return readFile(cached, "utf8");
    const dir = await kwokModuleDir(version);
    const docs = await Promise.all(kwokStageFiles.map((f) => readFile(join(dir, f), "utf8")));
    const text = `${docs.map((d) => d.trimEnd()).join("\n---\n")}\n`;
    await mkdir(dirname(cached), { recursive: true });
    await writeFile(cached, text);
    return text;
  })();
  kwokStagesText.catch(() => {
    kwokStagesText = undefined;
  });
  return kwokStagesText;
}

export const kwokService: ServiceSpec = {
  name: "kwok",
  address: `http://${host}:${stackConfig.kwokPort} (nodes ${kwokNodeNames.join(", ")})`,
  ports: [stackConfig.kwokPort],
  readyTimeoutMs: 90_000,
  stopGraceMs: 10_000,
  async checkInstalled() {
    const missing = missingBinaries(["kwok", "kubectl"]);
    if (missing !== undefined) return missing;
    try {
      await kwokStages();
      return undefined;
    } catch (error) {
      return `kwok's stage definitions (Go module sigs.k8s.io/kwok) are not available: ${(error as Error).message}`;
    }
  },
  async prepare() {
    await waitForApiserver();
    await mkdir(k8sDir, { recursive: true });
    const stages = await kwokStages();
    // Only the stages: an explicit file keeps ~/.kwok out, and without a KwokConfiguration document
    // kwok applies its option defaults (a document of our own would skip them: v0.8.0 then fails
    // with "node leases parallelism must be greater than 0"). The flags below set the rest.
    await writeFile(kwokConfigFile, stages);
    await writeFile(kwokNodesFile, kwokNodeNames.map((n) => stringify(fakeNode(n))).join("---\n"));
    await kubectl(["apply", "-f", kwokNodesFile]);
  },
  command() {
    return {
      file: k8sBinary("kwok"),
      args: [
        `--config=${kwokConfigFile}`,
        `--kubeconfig=${clientIdentities.kwok.kubeconfig}`,
        "--manage-all-nodes=false",
        `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation.key}=${kwokNodeAnnotation.value}`,
        "--manage-nodes-with-label-selector=",
        `--server-address=${host}:${stackConfig.kwokPort}`,
        "--cidr=10.244.0.0/16",
        `--node-ip=${host}`,
        "--node-lease-duration-seconds=40",
      ],
      // kwok reads KUBECONFIG before its flag; make sure a developer's own cluster is never used.
      env: { KUBECONFIG: clientIdentities.kwok.kubeconfig },
    };
  },
  async isReady() {
    const health = await fetch(`http://${host}:${stackConfig.kwokPort}/healthz`, {
      signal: AbortSignal.timeout(2000),
    }).catch(() => undefined);
    return health?.ok === true && (await fakeNodesReady());
  },
};
