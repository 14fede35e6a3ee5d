/**
 * A pod's own identity, as a kubelet gives it: a token of the pod's ServiceAccount from the TokenRequest
 * API, bound to the pod (the API server stops accepting it once the pod is deleted), in a kubeconfig that
 * points at the API server. The operator and the gateway run with it, so the chart's RBAC is what they
 * actually have: a missing permission fails as it would in a cluster. The file is the process's only copy
 * of the token (mode 0600); the token is never logged.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { kubeApiserverUrl, podRunnerPaths } from "../config.js";
import { pkiFiles } from "../services/k8s-pki.js";

/** A day: a local stack lives shorter than that; a real kubelet refreshes hourly tokens in place. */
const tokenSeconds = 24 * 3600;

export type PodIdentity = { ok: true; kubeconfig: string } | { ok: false; reason: string };

export function podServiceAccount(pod: V1Pod): string {
  return pod.spec?.serviceAccountName ?? "default";
}

/** The kubeconfig of one identity: the cluster's CA, the API server, a bearer token. */
export function tokenKubeconfig(caCertBase64: string, user: string, token: string): string {
  const cluster = "tally-local";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: cluster, cluster: { server: kubeApiserverUrl, "certificate-authority-data": caCertBase64 } },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: cluster, context: { cluster, user } }],
    "current-context": cluster,
  });
}

export async function writePodKubeconfig(core: CoreV1Api, pod: V1Pod): Promise<PodIdentity> {
  const namespace = pod.metadata?.namespace ?? "";
  const name = pod.metadata?.name ?? "";
  const serviceAccount = podServiceAccount(pod);
  let token: string | undefined;
  try {
    const review = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: tokenSeconds,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name, uid: pod.metadata?.uid ?? "" },
        },
      },
    });
    token = review.status?.token;
  } catch (error) {
    const code = (error as { code?: number }).code;
    return {
      ok: false,
      reason:
        code === 404
          ? `ServiceAccount "${serviceAccount}" not found in ${namespace}`
          : `TokenRequest for ServiceAccount ${namespace}/${serviceAccount} failed (${code ?? "no status"})`,
    };
  }
  if (token === undefined || token === "")
    return { ok: false, reason: `TokenRequest for ${namespace}/${serviceAccount} returned no token` };
  mkdirSync(podRunnerPaths.identities, { recursive: true, mode: 0o700 });
  const file = join(podRunnerPaths.identities, `${namespace}_${name}.kubeconfig`);
  const ca = (await readFile(pkiFiles.caCert)).toString("base64");
  writeFileSync(file, tokenKubeconfig(ca, `system:serviceaccount:${namespace}:${serviceAccount}`, token), {
    mode: 0o600,
  });
  return { ok: true, kubeconfig: file };
}
