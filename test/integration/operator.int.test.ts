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
import { type OldClickhouse, startOldClickhouse } from "../support/old-clickhouse-server.js";

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
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
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
    expect(names).toContain("clickstream_events_windows");
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

  it("rolls the Deployment when the spec changes, and not when nothing does", async () => {
    type Deployment = {
      metadata: { generation: number };
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    const before = await get<Deployment>("deployment", "tally-clickstream");
    const hashBefore = before.spec.template.metadata.annotations["tally.dev/config-hash"];
    await kubectlOk([
      "patch",
      "pipeline",
      "clickstream",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { eventTime: { allowedLateness: "2m" } } }),
    ]);
    const after = await eventually(async () => {
      const d = await get<Deployment>("deployment", "tally-clickstream");
      if (d.spec.template.metadata.annotations["tally.dev/config-hash"] === hashBefore)
        throw new Error("pod template not changed yet");
      return d;
    }, 60_000);
    expect(after.metadata.generation).toBeGreaterThan(before.metadata.generation);
    const config = JSON.parse(
      JSON.parse(await kubectlOk(["get", "configmap", "tally-clickstream", "-n", namespace, "-o", "json"]))
        .data["pipeline.json"] as string,
    ) as { spec: { eventTime: { allowedLateness: string } } };
    expect(config.spec.eventTime.allowedLateness).toBe("2m");
    await waitForCondition("pipeline", namespace, "clickstream", "Ready", "True");
  });

  it("migrates a changed rollup to a new version without losing or doubling a row", async () => {
    const insert = async (count: number) => {
      const now = Date.now();
      const rows = Array.from({ length: count }, (_, i) => ({
        event_id: `m${now}-${i}`,
        user_id: `u${i % 11}`,
        type: i % 3 === 0 ? "purchase" : "click",
        url: `/p/${i % 4}`,
        ts: new Date(now - (i % 90) * 60_000).toISOString().replace("T", " ").replace("Z", ""),
        value: i % 7,
        _topic: "clickstream",
        _partition: i % 2,
        _offset: i,
      }));
      await clickhouse.insert({
        table: `${database}.clickstream_events`,
        values: rows,
        format: "JSONEachRow",
      });
    };
    const totals = async (table: string) => {
      const [row] = await query<{ events: string }>(
        `SELECT countMerge(events) AS events FROM ${database}.${table}`,
      );
      const [raw] = await query<{ n: string }>(`SELECT count() AS n FROM ${database}.clickstream_events`);
      return { rollup: Number(row?.events), raw: Number(raw?.n) };
    };
    await insert(400);
    const v1 = `rollup_${database}__clicks_per_minute_v1`;
    const first = await totals(v1);
    expect(first.rollup).toBe(first.raw);

    // Change the definition: drop the url dimension. Inserts keep arriving during the migration.
    await kubectlOk([
      "patch",
      "rollup",
      "clicks-per-minute",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { dimensions: ["type"] } }),
    ]);
    const inserting = (async () => {
      for (let i = 0; i < 6; i += 1) {
        await insert(100);
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    })();
    const migrated = await eventually(async () => {
      const r = await get<{ status: { servingVersion?: number; table?: string; migration?: unknown } }>(
        "rollup",
        "clicks-per-minute",
      );
      if (r.status.servingVersion !== 2 || r.status.migration !== undefined)
        throw new Error(`serving ${r.status.servingVersion}`);
      return r.status;
    }, 120_000);
    await inserting;
    await insert(50);
    const second = await totals(migrated.table ?? "");
    expect(second.rollup).toBe(second.raw);
    expect(second.raw).toBe(first.raw + 650);
    expect(await tables()).not.toContain(v1); // the old version is dropped once the new one serves
    // The cascade re-points at the new minute table and stays equal to the filtered raw data.
    const hour = await eventually(async () => {
      const r = await get<{ status: { servingVersion?: number; table?: string; migration?: unknown } }>(
        "rollup",
        "clicks-per-hour",
      );
      if (r.status.servingVersion !== 2 || r.status.migration !== undefined)
        throw new Error(`hour serving ${r.status.servingVersion}`);
      return r.status;
    }, 120_000);
    const [hourRow] = await query<{ events: string }>(
      `SELECT countMerge(events) AS events FROM ${database}.${hour.table}`,
    );
    expect(Number(hourRow?.events)).toBe(second.raw);
  });

  it("makes no API writes and runs no DDL after a restart when nothing changed", async () => {
    // Settle first: the hour rollup's new version re-points the day cascade, which migrates too.
    // Settled means every rollup serves version 2 with no migration, three polls in a row.
    let settledPolls = 0;
    await eventually(
      async () => {
        for (const name of ["clicks-per-minute", "clicks-per-hour", "clicks-per-day"]) {
          const r = await get<{ status: { migration?: unknown; servingVersion?: number } }>("rollup", name);
          if (r.status.migration !== undefined || r.status.servingVersion !== 2) {
            settledPolls = 0;
            throw new Error(`${name} still migrating`);
          }
        }
        settledPolls += 1;
        if (settledPolls < 3) throw new Error("settling");
      },
      120_000,
      1000,
    );
    await waitForCondition("pipeline", namespace, "clickstream", "Ready", "True");
    await operator.stop();
    operator = await startOperator({ namespace });
    await eventually(async () => {
      if ((await operator.metric("tally_operator_leader")) !== 1) throw new Error("not leading yet");
    }, 30_000);
    // Let every object be reconciled at least twice (start-up list, then a 5 s resync). The autoscaler
    // runs on its own clock, so its rounds do not count towards that.
    await eventually(async () => {
      const reconciles =
        (await operator.metric("tally_operator_reconcile_total")) -
        (await operator.metric("tally_operator_reconcile_total", { controller: "autoscaler" }));
      if (reconciles < 14) throw new Error(`${reconciles} reconciles so far`);
    }, 60_000);
    // The autoscaler's live signals (lag, rates) are the one status that moves on its own; every
    // other write — objects, status, scale, events — must be absent.
    const writes = await operator.metric("tally_operator_api_writes_total");
    const autoscalerStatus = await operator.metric("tally_operator_api_writes_total", {
      verb: "status:tally-operator-autoscaler",
    });
    const breakdown = (await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text())
      .split("\n")
      .filter((l) => l.startsWith("tally_operator_api_writes_total"));
    expect(writes - autoscalerStatus, breakdown.join("\n")).toBe(0);
    expect(await operator.metric("tally_operator_api_writes_total", { verb: "scale" })).toBe(0);
    expect(await operator.metric("tally_operator_clickhouse_statements_total")).toBe(0);
    expect(await operator.metric("tally_operator_reconcile_errors_total")).toBe(0);
  });

  it("honours deletionPolicy: Delete drops the tables, Retain keeps the table and drops the view", async () => {
    const day = await get<{ status: { table: string; view: string } }>("rollup", "clicks-per-day");
    const hour = await get<{ status: { table: string; view: string } }>("rollup", "clicks-per-hour");
    await kubectlOk([
      "delete",
      "rollup",
      "clicks-per-day",
      "clicks-per-hour",
      "-n",
      namespace,
      "--wait=true",
      "--timeout=60s",
    ]);
    const left = await tables();
    expect(left).toContain(day.status.table); // Retain
    expect(left).not.toContain(day.status.view);
    expect(left).not.toContain(hour.status.table); // Delete
    expect(left).not.toContain(hour.status.view);
  });

  it("hands over to the standby within the lease duration when the leader is killed, and the new leader converges", async () => {
    const standby = await startOperator({ namespace });
    try {
      expect(await standby.metric("tally_operator_leader")).toBe(0);
      const killedAt = Date.now();
      await operator.stop("SIGKILL");
      await eventually(
        async () => {
          if ((await standby.metric("tally_operator_leader")) !== 1)
            throw new Error("standby not leading yet");
        },
        30_000,
        200,
      );
      const handover = Date.now() - killedAt;
      expect(handover).toBeLessThan(6000 + 2000); // lease 6 s (test setting) plus one retry period
      await kubectlOk([
        "patch",
        "pipeline",
        "clickstream",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { sink: { clickhouse: { batch: { maxRows: 2000 } } } } }),
      ]);
      await eventually(async () => {
        const p = await get<{ metadata: { generation: number }; status: { observedGeneration?: number } }>(
          "pipeline",
          "clickstream",
        );
        if (p.status.observedGeneration !== p.metadata.generation)
          throw new Error("new leader has not reconciled the change");
      }, 60_000);
      await waitForCondition("pipeline", namespace, "clickstream", "Ready", "True");
    } finally {
      operator = standby;
    }
  });

  it("refuses an unsupported ClickHouse server (Debian's 18.16) with the version in the condition", async () => {
    let old: OldClickhouse | undefined;
    try {
      old = await startOldClickhouse();
      await kubectlOk([
        "create",
        "secret",
        "generic",
        "old-clickhouse",
        "-n",
        namespace,
        `--from-literal=url=${old.url}`,
        `--from-literal=username=${old.username}`,
        `--from-literal=password=${old.password}`,
      ]);
      const [pipeline] = exampleManifests("clickstream-pipeline.yaml", namespace, database);
      if (pipeline === undefined) throw new Error("no example");
      pipeline.metadata.name = "on-old-server";
      (
        pipeline.spec as { sink: { clickhouse: { connectionSecretRef: { name: string } } } }
      ).sink.clickhouse.connectionSecretRef.name = "old-clickhouse";
      await kubectlOk(["apply", "-f", "-"], JSON.stringify(pipeline));
      const condition = await waitForCondition("pipeline", namespace, "on-old-server", "Ready", "False", {
        reason: "ClickHouseVersionUnsupported",
      });
      expect(condition.message).toContain("ClickHouse 18.16.1 is not supported; Tally needs 24.3 or newer");
    } finally {
      await old?.stop();
    }
  });

  it("reads well in kubectl get and kubectl explain", async () => {
    const get = await kubectlOk(["get", "pipelines,rollups,alertrules", "-n", namespace]);
    console.log(`$ kubectl get pipelines,rollups,alertrules\n${get}`);
    expect(get).toMatch(/NAME\s+READY\s+REPLICAS\s+DESIRED\s+LAG\s+AGE/);
    expect(get).toMatch(/NAME\s+READY\s+TABLE\s+GRANULARITY\s+AGE/);
    expect(get).toMatch(/NAME\s+STATE\s+SEVERITY\s+SINCE\s+AGE/);
    const explain = await kubectlOk(["explain", "pipeline.spec.source"]);
    console.log(`$ kubectl explain pipeline.spec.source\n${explain}`);
    expect(explain).toContain("Where events come from.");
    expect(explain).toContain("kafka");
    const category = await kubectlOk(["get", "tally", "-n", namespace, "-o", "name"]);
    expect(category).toContain("pipeline.tally.dev/clickstream");
  });
});
