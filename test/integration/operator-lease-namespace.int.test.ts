import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { asList, exampleManifests } from "../support/examples.js";
import { freePort } from "../support/free-port.js";
import {
  createNamespace,
  deleteNamespace,
  deleteTallyObjects,
  kubectl,
  kubectlOk,
  type OperatorProcess,
  run,
  startOperator,
  waitForCondition,
} from "../support/kube.js";

// The operator started as the README says keeps its leader-election Lease in TALLY_OPERATOR_NAMESPACE.
// Issue 11, item 5: when that namespace did not exist, it retried a 404 every 2 s and reconciled nothing.
// Now it creates the namespace when it may, and otherwise exits at once with one line saying what to do.

const id = randomUUID().slice(0, 6);
const namespaces: string[] = [];
const clusterObjects: string[] = [];
const tmp = mkdtempSync(join(tmpdir(), "tally-lease-"));
let operator: OperatorProcess | undefined;
let watched: string | undefined;

afterAll(async () => {
  // While the operator still runs, so that finalizers are honoured.
  if (watched !== undefined) await deleteTallyObjects(watched);
  await operator?.stop();
  for (const object of clusterObjects) await kubectl(["delete", object, "--ignore-not-found"]);
  for (const namespace of namespaces) await deleteNamespace(namespace);
  rmSync(tmp, { recursive: true, force: true });
});

describe("the operator's lease namespace", () => {
  it("is created when missing, and the operator then leads and reconciles", async () => {
    await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
    await kubectlOk(["wait", "--for=condition=Established", "crd/pipelines.tally.dev"]);
    watched = await createNamespace("tally-lease-watch");
    const leaseNamespace = `tally-lease-${id}`;
    namespaces.push(watched, leaseNamespace);
    expect((await kubectl(["get", "namespace", leaseNamespace])).code).not.toBe(0);

    operator = await startOperator({ namespace: watched, leaseNamespace });
    const lease = await eventually(
      async () =>
        JSON.parse(
          await kubectlOk(["get", "lease", "tally-operator-leader", "-n", leaseNamespace, "-o", "json"]),
        ) as { spec: { holderIdentity: string } },
      30_000,
      500,
    );
    expect(lease.spec.holderIdentity).toMatch(/^operator-\d+_/);
    // Reconciling: without the connection Secrets the pipeline reports exactly that.
    await kubectlOk(["apply", "-f", "-"], asList(exampleManifests("clickstream-pipeline.yaml", watched)));
    await waitForCondition("pipeline", watched, "clickstream", "Ready", "False", {
      reason: "SecretNotFound",
      timeoutMs: 60_000,
    });
  });

  it("exits with one line naming the namespace when it may not create it", async () => {
    const home = await createNamespace("tally-lease-sa");
    namespaces.push(home);
    const missing = `tally-lease-missing-${id}`;
    // May read namespaces (so it can tell that one is missing) but not create them.
    const role = `tally-lease-reader-${id}`;
    clusterObjects.push(`clusterrole/${role}`, `clusterrolebinding/${role}`);
    await kubectlOk(["create", "serviceaccount", "operator", "-n", home]);
    await kubectlOk(["create", "clusterrole", role, "--verb=get", "--resource=namespaces"]);
    await kubectlOk([
      "create",
      "clusterrolebinding",
      role,
      `--clusterrole=${role}`,
      `--serviceaccount=${home}:operator`,
    ]);
    const token = (await kubectlOk(["create", "token", "operator", "-n", home, "--duration=10m"])).trim();
    const admin = JSON.parse(await kubectlOk(["config", "view", "--raw", "--minify", "-o", "json"])) as {
      clusters: { name: string; cluster: Record<string, unknown> }[];
    };
    const cluster = admin.clusters[0];
    if (cluster === undefined) throw new Error("the admin kubeconfig has no cluster");
    const kubeconfig = join(tmp, "operator.kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [cluster],
        users: [{ name: "operator", user: { token } }],
        contexts: [{ name: "operator", context: { cluster: cluster.name, user: "operator" } }],
        "current-context": "operator",
      }),
    );

    const started = Date.now();
    const result = await run(
      process.execPath,
      ["--import", "tsx", join(stackConfig.repoRoot, "operator/main.ts")],
      undefined,
      {
        KUBECONFIG: kubeconfig,
        TALLY_OPERATOR_NAMESPACE: missing,
        TALLY_WATCH_NAMESPACE: home,
        TALLY_METRICS_PORT: String(await freePort()),
      },
    );
    const lines = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.trim() !== "");
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? "{}") as { level: string; err: string };
    expect(line.level).toBe("fatal");
    expect(line.err).toContain(`kubectl create namespace ${missing}`);
    expect(line.err).toContain("TALLY_OPERATOR_NAMESPACE");
    expect((await kubectl(["get", "namespace", missing])).code).not.toBe(0);
  });
});
