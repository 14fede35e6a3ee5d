import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type RequestOptions, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Deployment,
} from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { kubeApiserverUrl, kubeconfigPath, stackConfig } from "../env/config.js";
import { pkiFiles } from "../env/services/k8s-pki.js";
import { helm, kubectl } from "../env/services/k8s-tools.js";
import { eventually } from "../support/eventually.js";

/**
 * The local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) through
 * kubectl, helm and @kubernetes/client-node with the admin kubeconfig `make stack-up` writes.
 */

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const core = kubeConfig.makeApiClient(CoreV1Api);
const apps = kubeConfig.makeApiClient(AppsV1Api);
const apiextensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);

const suffix = () => randomBytes(4).toString("hex");
const namespaces: string[] = [];

async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  await core.createNamespace({ body: { metadata: { name, labels: { "tally.dev/test": "kubernetes" } } } });
  namespaces.push(name);
  return name;
}

afterAll(async () => {
  await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
});

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

async function expectGone(read: () => Promise<unknown>): Promise<void> {
  try {
    await read();
  } catch (error) {
    if (statusOf(error) === 404) return;
    throw error;
  }
  throw new Error("still there");
}

/** GET with the given TLS/auth options; resolves status and body. */
function get(url: string, options: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, method: "GET", timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

function pauseDeployment(name: string, replicas: number): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }] },
      },
    },
  };
}

describe("the local Kubernetes control plane", () => {
  it("answers /readyz through kubectl and through @kubernetes/client-node with the admin kubeconfig", async () => {
    const viaKubectl = await kubectl(["get", "--raw", "/readyz"]);
    expect(viaKubectl.stdout.trim()).toBe("ok");

    const options: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    const viaClient = await get(`${kubeApiserverUrl}/readyz?verbose`, options);
    expect(viaClient.status).toBe(200);
    expect(viaClient.body).toContain("readyz check passed");

    const version = JSON.parse((await kubectl(["version", "-o", "json"])).stdout) as {
      serverVersion?: { gitVersion?: string };
    };
    expect(version.serverVersion?.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    expect(kubeConfig.getCurrentCluster()?.server).toBe(
      `https://${stackConfig.host}:${stackConfig.kubeApiserverPort}`,
    );
  });

  it("has Ready kwok nodes", async () => {
    const nodes = await core.listNode({ labelSelector: "type=kwok" });
    expect(nodes.items.length).toBeGreaterThanOrEqual(1);
    for (const node of nodes.items) {
      expect(node.metadata?.annotations?.["kwok.x-k8s.io/node"]).toBe("fake");
      expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    }
  });

  it("enforces RBAC: a service account's token is authenticated but may do nothing until bound", async () => {
    const namespace = await freshNamespace("rbac");
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "reader" } } });
    const token = await core.createNamespacedServiceAccountToken({
      name: "reader",
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const bearer: RequestOptions = {
      ca: readFileSync(pkiFiles.caCert),
      headers: { authorization: `Bearer ${token.status?.token ?? ""}` },
    };
    const podsUrl = `${kubeApiserverUrl}/api/v1/namespaces/${namespace}/pods`;
    const denied = await get(podsUrl, bearer);
    expect(denied.status).toBe(403);
    expect(denied.body).toContain(`system:serviceaccount:${namespace}:reader`);
    // No credentials at all: anonymous may only read health and version endpoints.
    expect((await get(podsUrl, { ca: bearer.ca })).status).toBe(403);

    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "pod-reader" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "reader-reads-pods" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
      },
    });
    await eventually(async () => expect((await get(podsUrl, bearer)).status).toBe(200), 10_000);
    const canI = (verb: string) =>
      kubectl([
        "auth",
        "can-i",
        verb,
        "pods",
        "-n",
        namespace,
        `--as=system:serviceaccount:${namespace}:reader`,
      ]);
    expect((await canI("list")).stdout.trim()).toBe("yes");
    // `can-i` answers "no" with exit status 1.
    await expect(canI("delete")).rejects.toThrow(/auth can-i delete pods/);
  });

  it("installs a CRD with a structural schema whose x-kubernetes-validations rule rejects a bad object", async () => {
    const namespace = await freshNamespace("crd");
    const id = suffix();
    const group = "test.tally.dev";
    const plural = `widgets${id}`;
    const kind = `Widget${id}`;
    // Installed with kubectl from YAML, as the project's CRDs are. (Through client-node's typed
    // models the rule would have to be spelled `x_kubernetes_validations`; `x-kubernetes-validations`
    // there is silently dropped by its serializer.)
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${plural}.${group}` },
      spec: {
        group,
        scope: "Namespaced",
        names: { plural, singular: `widget${id}`, kind, listKind: `${kind}List` },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: {
                    type: "object",
                    required: ["minReplicas", "maxReplicas"],
                    properties: {
                      minReplicas: { type: "integer", minimum: 0 },
                      maxReplicas: { type: "integer", minimum: 1 },
                    },
                    "x-kubernetes-validations": [
                      {
                        rule: "self.minReplicas <= self.maxReplicas",
                        message: "minReplicas must not exceed maxReplicas",
                      },
                    ],
                  },
                },
              },
            },
          },
        ],
      },
    };
    const dir = mkdtempSync(join(tmpdir(), "tally-crd-"));
    const file = join(dir, "crd.yaml");
    writeFileSync(file, stringify(crd));
    await kubectl(["apply", "-f", file]);
    rmSync(dir, { recursive: true, force: true });
    try {
      await eventually(async () => {
        const current = await apiextensions.readCustomResourceDefinition({ name: `${plural}.${group}` });
        expect(current.status?.conditions?.find((c) => c.type === "Established")?.status).toBe("True");
        expect(
          current.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.spec?.x_kubernetes_validations,
        ).toEqual([expect.objectContaining({ rule: "self.minReplicas <= self.maxReplicas" })]);
      }, 30_000);

      const widget = (name: string, spec: Record<string, unknown>) => ({
        apiVersion: `${group}/v1`,
        kind,
        metadata: { name },
        spec,
      });
      // The new resource can take a moment to be served after Established.
      await eventually(
        () =>
          customObjects.createNamespacedCustomObject({
            group,
            version: "v1",
            namespace,
            plural,
            body: widget("good", { minReplicas: 1, maxReplicas: 3, unknownField: "pruned" }),
          }),
        30_000,
      );
      const stored = (await customObjects.getNamespacedCustomObject({
        group,
        version: "v1",
        namespace,
        plural,
        name: "good",
      })) as { spec: Record<string, unknown> };
      // Structural schema: fields it does not declare are pruned.
      expect(stored.spec).toEqual({ minReplicas: 1, maxReplicas: 3 });

      let rejection: unknown;
      try {
        await customObjects.createNamespacedCustomObject({
          group,
          version: "v1",
          namespace,
          plural,
          body: widget("bad", { minReplicas: 5, maxReplicas: 2 }),
        });
      } catch (error) {
        rejection = error;
      }
      expect(statusOf(rejection)).toBe(422);
      expect(JSON.stringify((rejection as { body?: unknown }).body)).toContain(
        "minReplicas must not exceed maxReplicas",
      );

      // kubectl reports the same rule message.
      const viaKubectl = await kubectl([
        "-n",
        namespace,
        "patch",
        plural,
        "good",
        "--type=merge",
        "-p",
        '{"spec":{"minReplicas":9}}',
      ]).catch((error: Error) => error);
      expect(viaKubectl).toBeInstanceOf(Error);
      expect(String(viaKubectl)).toContain("minReplicas must not exceed maxReplicas");
    } finally {
      await apiextensions.deleteCustomResourceDefinition({ name: `${plural}.${group}` });
    }
  });

  it("runs a Deployment to availableReplicas = 3 on kwok nodes", async () => {
    const namespace = await freshNamespace("deploy");
    await apps.createNamespacedDeployment({ namespace, body: pauseDeployment("web", 3) });
    await eventually(async () => {
      const deployment = await apps.readNamespacedDeployment({ name: "web", namespace });
      expect(deployment.status?.availableReplicas).toBe(3);
    }, 60_000);
    const pods = await core.listNamespacedPod({ namespace, labelSelector: "app=web" });
    expect(pods.items).toHaveLength(3);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe("Running");
      expect(pod.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/);
    }
  });

  it("garbage-collects dependents when their owner is deleted", async () => {
    const namespace = await freshNamespace("gc");
    // Any object can own another: a ConfigMap owning a ConfigMap.
    const owner = await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "owner" }, data: { role: "owner" } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata?.uid ?? "" },
          ],
        },
        data: { role: "dependent" },
      },
    });
    await core.deleteNamespacedConfigMap({ name: "owner", namespace, propagationPolicy: "Background" });
    await eventually(
      () => expectGone(() => core.readNamespacedConfigMap({ name: "dependent", namespace })),
      30_000,
    );

    // A Deployment's ReplicaSet and its pods go with it.
    await apps.createNamespacedDeployment({ namespace, body: pauseDeployment("web", 2) });
    await eventually(async () => {
      const deployment = await apps.readNamespacedDeployment({ name: "web", namespace });
      expect(deployment.status?.availableReplicas).toBe(2);
    }, 60_000);
    expect((await apps.listNamespacedReplicaSet({ namespace })).items).toHaveLength(1);
    await apps.deleteNamespacedDeployment({ name: "web", namespace, propagationPolicy: "Background" });
    await eventually(async () => {
      expect((await apps.listNamespacedReplicaSet({ namespace })).items).toHaveLength(0);
      expect((await core.listNamespacedPod({ namespace })).items).toHaveLength(0);
    }, 60_000);
  });

  it("renders and installs a Helm chart", async () => {
    const namespace = await freshNamespace("helm");
    const chart = join(stackConfig.repoRoot, "test/integration/testdata/chart");
    const rendered = await helm([
      "template",
      "demo",
      chart,
      "--namespace",
      namespace,
      "--set",
      "greeting=hi",
    ]);
    expect(rendered.stdout).toContain("kind: ConfigMap");
    expect(rendered.stdout).toContain("kind: Deployment");
    expect(rendered.stdout).toContain('name: "demo-settings"');
    expect(rendered.stdout).toContain('greeting: "hi"');

    await helm(["install", "demo", chart, "--namespace", namespace, "--wait", "--timeout", "90s"], {
      timeoutMs: 120_000,
    });
    const deployment = await apps.readNamespacedDeployment({ name: "demo", namespace });
    expect(deployment.status?.availableReplicas).toBe(2);
    const settings = await core.readNamespacedConfigMap({ name: "demo-settings", namespace });
    expect(settings.data?.greeting).toBe("hello from helm");
    const releases = JSON.parse((await helm(["list", "--namespace", namespace, "-o", "json"])).stdout) as {
      name: string;
      status: string;
    }[];
    expect(releases).toEqual([expect.objectContaining({ name: "demo", status: "deployed" })]);

    await helm(["uninstall", "demo", "--namespace", namespace, "--wait", "--timeout", "60s"]);
    await eventually(
      () => expectGone(() => apps.readNamespacedDeployment({ name: "demo", namespace })),
      30_000,
    );
  });
});
