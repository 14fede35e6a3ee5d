import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { kubeApiserverUrl, podRunnerPaths, stackConfig } from "../config.js";
import { httpOk } from "../probes.js";
import type { ServiceSpec } from "../service.js";
import { clientIdentities, ensurePki, k8sDir } from "../services/k8s-pki.js";
import { apiserverReady, kubectl, missingBinaries, waitForDependency } from "../services/k8s-tools.js";
import { tsxCommand } from "../services/node-entry.js";

const podRunnerUrl = `http://${stackConfig.host}:${stackConfig.podRunnerPort}`;
const rbacFile = join(k8sDir, "pod-runner-rbac.yaml");

/** What the pod-runner may do as `tally-pod-runner`: see pods, read what their env refers to, mint pod tokens. */
const rbac = [
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "tally:pod-runner" },
    rules: [
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["secrets", "configmaps"], verbs: ["get"] },
      // A token of the pod's own ServiceAccount for the operator's and the gateway's processes (pod-identity.ts).
      { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
    ],
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "tally:pod-runner" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tally:pod-runner" },
    subjects: [
      { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: clientIdentities.podRunner.user },
    ],
  },
];

/** The pod-runner (test/env/pod-runner/main.ts) as a stack service, after kwok. */
export const podRunnerService: ServiceSpec = {
  name: "pod-runner",
  address: `${podRunnerUrl} (pods: ${podRunnerPaths.podLogs})`,
  ports: [stackConfig.podRunnerPort],
  readyTimeoutMs: 60_000,
  // It stops its processes first (each capped at 15 s), then exits.
  stopGraceMs: 30_000,
  async checkInstalled() {
    return missingBinaries(["kubectl"]);
  },
  async prepare() {
    await ensurePki();
    await waitForDependency("kube-apiserver", kubeApiserverUrl, apiserverReady, 180_000);
    await mkdir(podRunnerPaths.dir, { recursive: true });
    await mkdir(podRunnerPaths.podLogs, { recursive: true });
    await writeFile(rbacFile, rbac.map((o) => stringify(o)).join("---\n"));
    await kubectl(["apply", "-f", rbacFile]);
  },
  command() {
    return { ...tsxCommand("test/env/pod-runner/main.ts", []), cwd: stackConfig.repoRoot };
  },
  isReady: () => httpOk(`${podRunnerUrl}/healthz`),
};
