import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { stackConfig } from "../env/config.js";
import { createNamespace, deleteNamespace, helmPath, kubectl, kubectlOk, run } from "../support/kube.js";

// The chart as a platform team installs it, on the local control plane: it renders, installs,
// and its RBAC grants the operator what it needs and nothing more.

const chart = `${stackConfig.repoRoot}/charts/tally`;
let namespace: string;
const release = "tally";

beforeAll(async () => {
  namespace = await createNamespace("tally-chart");
});
afterAll(async () => {
  await run(helmPath, ["uninstall", release, "-n", namespace, "--wait"]);
  await deleteNamespace(namespace);
});

/**
 * `kubectl auth can-i`. A subresource is `subresource`, or written `pipelines.tally.dev --subresource=status`:
 * kubectl reads `pipelines.tally.dev/status` as the pipeline *named* status (as `secrets/gateway-token` below).
 */
function can(
  verb: string,
  resource: string,
  ns = namespace,
  component = "operator",
  subresource?: string,
): Promise<boolean> {
  return kubectl([
    "auth",
    "can-i",
    verb,
    ...resource.split(" "),
    "-n",
    ns,
    `--as=system:serviceaccount:${namespace}:${release}-${component}`,
    ...(subresource === undefined ? [] : [`--subresource=${subresource}`]),
  ]).then((r) => r.stdout.trim() === "yes");
}

describe("Helm chart", () => {
  it("renders restricted pods and lints clean", async () => {
    const lint = await run(helmPath, ["lint", chart]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    const rendered = await run(helmPath, ["template", release, chart, "-n", namespace]);
    expect(rendered.code, rendered.stderr).toBe(0);
    const docs = parseAllDocuments(rendered.stdout).map(
      (d) => d.toJS() as { kind: string; spec?: { template?: { spec?: Record<string, unknown> } } },
    );
    const deployments = docs.filter((d) => d.kind === "Deployment");
    expect(deployments).toHaveLength(2); // operator and gateway
    for (const deployment of deployments) {
      const pod = deployment.spec?.template?.spec as {
        securityContext: Record<string, unknown>;
        containers: { securityContext: Record<string, unknown> }[];
      };
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.containers[0]?.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
    }
  });

  it("refuses bad values at install time, each with a message naming the value", async () => {
    const bad: [set: string, path: string, says: string][] = [
      ["operator.replicas=0", "/operator/replicas", "minimum"],
      ["gateway.port=80", "/gateway/port", "minimum"],
      ["image.pullPolicy=Sometimes", "/image/pullPolicy", "value must be one of"],
      ["gateway.redisUrl=http://redis:6379", "/gateway/redisUrl", "does not match pattern"],
      ["operator.watchNamespace=Team_A", "/operator/watchNamespace", "does not match pattern"],
      ["gateway.tokenSecrets={Bad_Name}", "/gateway/tokenSecrets/0", "does not match pattern"],
      ["gateway.clickhouse.url=clickhouse:8123", "/gateway/clickhouse/url", "does not match pattern"],
      ["operator.logLevel=verbose", "/operator/logLevel", "value must be one of"],
      ["gateway.rateLimitPerMinute=0", "/gateway/rateLimitPerMinute", "minimum"],
      ["gateway.resources.limits.memory=lots", "/gateway/resources/limits/memory", "does not match pattern"],
      ["gateway.replicaz=3", "/gateway", "additional properties 'replicaz' not allowed"],
      ["serviceMonitor.interval=30 seconds", "/serviceMonitor/interval", "does not match pattern"],
      ["gateway.alerts.publicUrl=ftp://x", "/gateway/alerts/publicUrl", "does not match pattern"],
      ["operator.leaseDurationSeconds=1", "/operator/leaseDurationSeconds", "minimum"],
    ];
    for (const [set, path, says] of bad) {
      const rendered = await run(helmPath, ["template", release, chart, "-n", namespace, "--set", set]);
      expect(rendered.code, set).not.toBe(0);
      expect(rendered.stderr, set).toContain(`at '${path}'`);
      expect(rendered.stderr, set).toContain(says);
    }
  });

  it("renders every optional part, and the API server accepts all of it (server-side dry run)", async () => {
    const rendered = await run(helmPath, [
      "template",
      release,
      chart,
      "-n",
      namespace,
      "--set",
      "networkPolicy.enabled=true",
      "--set",
      "gateway.redisUrl=redis://redis:6379",
      "--set",
      "gateway.tokenSecrets={team-a-token}",
    ]);
    expect(rendered.code, rendered.stderr).toBe(0);
    const kinds = parseAllDocuments(rendered.stdout).map((d) => (d.toJS() as { kind: string } | null)?.kind);
    expect(kinds).toContain("NetworkPolicy");
    expect(kinds.filter((k) => k === "Secret")).toHaveLength(1); // the chart's own read token
    const applied = await kubectl(["apply", "--dry-run=server", "-n", namespace, "-f", "-"], rendered.stdout);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(
      "networkpolicy.networking.k8s.io/tally-gateway created (server dry run)",
    );
    // ServiceMonitors need the Prometheus Operator's CRD, which this control plane does not have: rendered only.
    const monitored = await run(helmPath, [
      "template",
      release,
      chart,
      "--set",
      "serviceMonitor.enabled=true",
    ]);
    expect(monitored.code, monitored.stderr).toBe(0);
    expect(monitored.stdout.match(/kind: ServiceMonitor/g)).toHaveLength(2);
  });

  it("make e2e-kind's in-cluster services are objects the API server accepts (server-side dry run)", async () => {
    // kind itself cannot run here (no container engine); what its manifests ask of Kubernetes can be checked.
    const manifests = parseAllDocuments(
      readFileSync(`${stackConfig.repoRoot}/test/e2e/kind/services.yaml`, "utf8"),
    )
      .map((d) => d.toJS() as { kind: string; metadata: { namespace?: string } })
      .filter((m) => m.kind !== "Namespace")
      .map((m) => ({ ...m, metadata: { ...m.metadata, namespace } }));
    // Kafka, ClickHouse and Redis keep their data on claims across the suite's restarts (StatefulSets); each
    // service has a NodePort the host reaches, Kafka a second Service for its EXTERNAL listener.
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "Deployment",
      "Service",
      "Service",
      "Service",
      "Service",
      "Service",
      "Service",
      "StatefulSet",
      "StatefulSet",
      "StatefulSet",
    ]);
    const applied = await kubectl(
      ["apply", "--dry-run=server", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }),
    );
    expect(applied.code, applied.stderr).toBe(0);
  });

  it("installs, and the operator's service account can do exactly its job", async () => {
    const install = await run(helmPath, [
      "install",
      release,
      chart,
      "-n",
      namespace,
      "--set",
      `operator.watchNamespace=${namespace}`,
      "--set",
      `gateway.watchNamespace=${namespace}`,
      "--set",
      "gateway.tokenSecrets={gateway-token}",
      "--wait",
      "--timeout",
      "120s",
    ]);
    expect(install.code, install.stderr).toBe(0);
    // NOTES.txt tells the user what to do next, with this release's names.
    expect(install.stdout).toContain(`kubectl port-forward -n ${namespace} svc/${release}-gateway 8090:8090`);
    expect(install.stdout).toContain(`kubectl get secret -n ${namespace} ${release}-gateway-token`);
    const token = () =>
      kubectlOk([
        "get",
        "secret",
        "-n",
        namespace,
        `${release}-gateway-token`,
        "-o",
        "jsonpath={.data.token}",
      ]);
    const before = await token();
    expect(Buffer.from(before, "base64").toString()).toMatch(/^[A-Za-z0-9]{40}$/);
    const upgrade = await run(helmPath, [
      "upgrade",
      release,
      chart,
      "-n",
      namespace,
      "--reuse-values",
      "--wait",
    ]);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(await token(), "the token survives an upgrade").toBe(before);
    expect(await kubectlOk(["get", "crd", "pipelines.tally.dev", "-o", "name"])).toContain(
      "pipelines.tally.dev",
    );
    const allowed: [string, string][] = [
      ["watch", "pipelines.tally.dev"],
      ["patch", "pipelines.tally.dev --subresource=status"],
      ["patch", "rollups.tally.dev --subresource=status"],
      ["watch", "dashboards.tally.dev"],
      ["patch", "dashboards.tally.dev --subresource=status"],
      ["update", "pipelines.tally.dev --subresource=scale"],
      ["create", "deployments.apps"],
      ["patch", "configmaps"],
      ["get", "secrets"],
      ["create", "events.events.k8s.io"],
      ["update", "leases.coordination.k8s.io"],
    ];
    const denied: [string, string][] = [
      ["list", "secrets"],
      ["watch", "secrets"],
      ["create", "secrets"],
      ["delete", "pipelines.tally.dev"],
      ["patch", "dashboards.tally.dev"],
      ["update", "dashboards.tally.dev --subresource=status"],
      ["create", "pods"],
      ["delete", "namespaces"],
      ["create", "clusterrolebindings.rbac.authorization.k8s.io"],
    ];
    for (const [verb, resource] of allowed)
      expect(await can(verb, resource), `${verb} ${resource}`).toBe(true);
    for (const [verb, resource] of denied)
      expect(await can(verb, resource), `${verb} ${resource}`).toBe(false);
    // The lease Role is confined to the release namespace.
    expect(await can("update", "leases.coordination.k8s.io", "default")).toBe(false);
    // The gateway reads Pipelines, Rollups, Dashboards, AlertRules and its named token Secret; it writes
    // AlertRule status, Events and its alert shards' Leases (in the release namespace), and nothing else.
    const gatewayAllowed: [string, string][] = [
      ["watch", "pipelines.tally.dev"],
      ["list", "rollups.tally.dev"],
      ["get", "secrets/gateway-token"],
      ["watch", "secrets/gateway-token"],
      ["get", `secrets/${release}-gateway-token`],
      ["watch", "alertrules.tally.dev"],
      ["list", "dashboards.tally.dev"],
      ["watch", "dashboards.tally.dev"],
      ["get", "dashboards.tally.dev"],
      ["create", "events.events.k8s.io"],
      ["create", "leases.coordination.k8s.io"],
      ["update", "leases.coordination.k8s.io"],
      // The alert evaluator reads its shard and member Leases in one LIST.
      ["list", "leases.coordination.k8s.io"],
    ];
    const gatewayDenied: [string, string][] = [
      ["get", "secrets/other"],
      ["list", "secrets"],
      ["watch", "secrets"],
      ["patch", "pipelines.tally.dev"],
      ["patch", "pipelines.tally.dev --subresource=status"],
      ["get", "configmaps"],
      ["patch", "alertrules.tally.dev"],
      ["patch", "dashboards.tally.dev"],
      ["delete", "leases.coordination.k8s.io"],
    ];
    for (const [verb, resource] of gatewayAllowed)
      expect(await can(verb, resource, namespace, "gateway"), `gateway ${verb} ${resource}`).toBe(true);
    for (const [verb, resource] of gatewayDenied)
      expect(await can(verb, resource, namespace, "gateway"), `gateway ${verb} ${resource}`).toBe(false);
    expect(await can("update", "leases.coordination.k8s.io", "default", "gateway")).toBe(false);
    // Its own fields of the AlertRule status, and not the spec (denied above) or another status.
    expect(await can("patch", "alertrules.tally.dev", namespace, "gateway", "status")).toBe(true);
    expect(await can("patch", "rollups.tally.dev", namespace, "gateway", "status")).toBe(false);
  });
});
