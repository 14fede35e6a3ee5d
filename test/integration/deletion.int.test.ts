import { createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clickhouseUrl, kafkaBrokers, stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { asList, databaseFor, exampleManifests, type Manifest } from "../support/examples.js";
import { eventsAbout, kubectlOk, type OperatorNamespace, operatorNamespace } from "../support/kube.js";

// Deleting Pipelines and Rollups in every order, under both deletion policies, through the real
// operator and ClickHouse. Each case is a pipeline (raw + window table, no runtime pods: rows are
// inserted straight into the raw table) feeding a minute rollup and an hour rollup cascading from
// it. After the deletion a new row goes into the raw table if it is still there; no rollup table may
// receive it, and the case's database must hold exactly the tables the policy keeps. One more case
// loses its connection Secret first: deletion must still finish, and say what it left behind.

const orders = ["rollup-first", "pipeline-first", "at-once", "parent-first"] as const;
const policies = ["Retain", "Delete"] as const;
type Order = (typeof orders)[number];
type Policy = (typeof policies)[number];

interface Case {
  readonly order: Order;
  readonly policy: Policy;
  readonly key: string;
  readonly database: string;
  readonly pipeline: string;
  readonly minute: string;
  readonly hour: string;
  /** The ClickHouse connection Secret the pipeline names. */
  readonly secret: string;
}

/** What the objects recorded before deletion: the names a policy drops or keeps. */
interface Recorded {
  readonly raw: string;
  readonly windows: string;
  readonly minute: { readonly table: string; readonly view: string };
  readonly hour: { readonly table: string; readonly view: string };
}

const clickhouse = createClient({
  url: clickhouseUrl,
  username: stackConfig.clickhouseUser,
  password: stackConfig.clickhousePassword,
});
let scope: OperatorNamespace;
let cases: Case[] = [];
/** A case whose connection Secret is deleted before its objects are. */
let secretGone: Case;
const recorded = new Map<string, Recorded>();
/** Rows inserted into each case's raw table before deletion: [amount, …]. */
const amountsBefore = [3, 4.5, 10];
let nextOffset = 0;

async function query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await clickhouse.query({ query: sql, query_params: params, format: "JSONEachRow" });
  return result.json<T>();
}

async function tablesIn(database: string): Promise<string[]> {
  const rows = await query<{ name: string }>(
    "SELECT name FROM system.tables WHERE database = {d:String} ORDER BY name",
    { d: database },
  );
  return rows.map((r) => r.name);
}

async function insertRaw(c: Case, amount: number): Promise<void> {
  // Event time from the clock, so no retention or calendar makes the row vanish.
  const ts = new Date(Date.now() - 60_000).toISOString().replace("T", " ").replace("Z", "");
  await clickhouse.insert({
    table: `${c.database}.events`,
    values: [
      {
        id: `e${nextOffset}`,
        kind: "click",
        amount,
        ts,
        _topic: "t",
        _partition: 0,
        _offset: nextOffset++,
      },
    ],
    format: "JSONEachRow",
  });
}

/** count and sum of a rollup table, merged over its rows. */
async function rollupTotals(database: string, table: string): Promise<{ events: number; amount: number }> {
  const [row] = await query<{ events: string; amount: number }>(
    `SELECT countMerge(events) AS events, sumMerge(amount) AS amount FROM ${database}.${table}`,
  );
  return { events: Number(row?.events ?? 0), amount: Number(row?.amount ?? 0) };
}

function manifests(c: Case): Manifest[] {
  const labels = { "tally.test/case": c.key };
  const metrics = [
    { fn: "count", name: "events" },
    { fn: "sum", name: "amount", field: "amount" },
  ];
  return [
    {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Pipeline",
      metadata: { name: c.pipeline, namespace: scope.namespace, labels },
      spec: {
        source: { kafka: { brokers: [...kafkaBrokers], topics: [`deletion-${c.key}`] } },
        format: { type: "json" },
        fields: [
          { name: "id", type: "String" },
          { name: "kind", type: "String" },
          { name: "amount", type: "Float64" },
          { name: "ts", type: "DateTime64(3)" },
        ],
        eventTime: { field: "ts" },
        windows: [
          {
            name: "per_minute",
            type: "tumbling",
            size: "1m",
            groupBy: ["kind"],
            aggregations: [{ fn: "count", name: "events" }],
          },
        ],
        sink: {
          clickhouse: {
            connectionSecretRef: { name: c.secret },
            database: c.database,
            table: "events",
          },
        },
        // No runtime pods: this test writes the raw table itself. (Not mode "off": the CRD YAML's
        // unquoted `off` reads as a boolean in kubectl's YAML 1.1, so the apiserver refuses "off".)
        scaling: { mode: "recommend" },
        replicas: 0,
        deletionPolicy: c.policy,
      },
    },
    {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Rollup",
      metadata: { name: c.minute, namespace: scope.namespace, labels },
      spec: {
        source: { kind: "Pipeline", name: c.pipeline },
        granularity: "1m",
        dimensions: ["kind"],
        metrics,
        deletionPolicy: c.policy,
      },
    },
    {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Rollup",
      metadata: { name: c.hour, namespace: scope.namespace, labels },
      spec: {
        source: { kind: "Rollup", name: c.minute },
        granularity: "1h",
        dimensions: ["kind"],
        metrics,
        deletionPolicy: c.policy,
      },
    },
  ];
}

interface Listed {
  items: {
    metadata: { name: string };
    status?: {
      table?: string;
      view?: string;
      clickhouse?: { table: string };
      conditions?: { type: string; status: string; reason: string }[];
    };
  }[];
}

async function list(resource: string): Promise<Listed["items"]> {
  return (JSON.parse(await kubectlOk(["get", resource, "-n", scope.namespace, "-o", "json"])) as Listed)
    .items;
}

async function deleteObjects(args: readonly string[]): Promise<void> {
  await kubectlOk(["delete", ...args, "-n", scope.namespace, "--wait=true", "--timeout=90s"]);
}

beforeAll(async () => {
  scope = await operatorNamespace("tally-del");
  const base = databaseFor(scope.namespace);
  cases = orders.flatMap((order) =>
    policies.map((policy) => {
      const key = `${order}-${policy.toLowerCase()}`;
      return {
        order,
        policy,
        key,
        database: `${base}_${key.replace(/-/g, "_")}`,
        pipeline: `p-${key}`,
        minute: `m-${key}`,
        hour: `h-${key}`,
        secret: "tally-clickhouse",
      };
    }),
  );
  secretGone = {
    order: "at-once",
    policy: "Delete",
    key: "secret-gone",
    database: `${base}_secret_gone`,
    pipeline: "p-secret-gone",
    minute: "m-secret-gone",
    hour: "h-secret-gone",
    secret: "tally-clickhouse-gone",
  };
  const [connection] = exampleManifests("local-connections.yaml", scope.namespace).filter(
    (m) => m.metadata.name === "tally-clickhouse",
  );
  const copy = { ...connection, metadata: { ...connection?.metadata, name: secretGone.secret } } as Manifest;
  await kubectlOk(["apply", "-f", "-"], asList([copy, ...[...cases, secretGone].flatMap(manifests)]));

  // Every rollup serving (the hour ones only after their minute parent is).
  await eventually(
    async () => {
      const waiting = (await list("rollups"))
        .filter(
          (r) =>
            !r.status?.conditions?.some(
              (c) => c.type === "Ready" && c.status === "True" && c.reason === "Reconciled",
            ),
        )
        .map((r) => r.metadata.name);
      if (waiting.length > 0) throw new Error(`rollups not serving yet: ${waiting.join(", ")}`);
    },
    240_000,
    1000,
  );
  const pipelines = new Map((await list("pipelines")).map((p) => [p.metadata.name, p.status]));
  const rollups = new Map((await list("rollups")).map((r) => [r.metadata.name, r.status]));
  for (const c of [...cases, secretGone]) {
    const raw = pipelines.get(c.pipeline)?.clickhouse?.table;
    const minute = rollups.get(c.minute);
    const hour = rollups.get(c.hour);
    if (raw === undefined || minute?.table === undefined || minute.view === undefined)
      throw new Error(`${c.key}: status incomplete`);
    if (hour?.table === undefined || hour.view === undefined)
      throw new Error(`${c.key}: hour status incomplete`);
    recorded.set(c.key, {
      raw,
      windows: `${raw}_windows`,
      minute: { table: minute.table, view: minute.view },
      hour: { table: hour.table, view: hour.view },
    });
  }

  // The views work before any deletion: rows reach the minute rollup and, through it, the hour one.
  for (const c of [...cases, secretGone]) for (const amount of amountsBefore) await insertRaw(c, amount);
  const expected = { events: amountsBefore.length, amount: amountsBefore.reduce((a, b) => a + b, 0) };
  for (const c of [...cases, secretGone]) {
    const r = recorded.get(c.key) as Recorded;
    expect(await rollupTotals(c.database, r.minute.table), `${c.key} minute`).toEqual(expected);
    expect(await rollupTotals(c.database, r.hour.table), `${c.key} hour`).toEqual(expected);
  }
}, 360_000);

afterAll(async () => {
  await scope?.close();
  for (const c of [...cases, secretGone])
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${c.database}` });
  await clickhouse.close();
});

async function deleteInOrder(c: Case): Promise<void> {
  switch (c.order) {
    case "rollup-first":
      await deleteObjects(["rollup", c.minute, c.hour]);
      await deleteObjects(["pipeline", c.pipeline]);
      return;
    case "pipeline-first":
      await deleteObjects(["pipeline", c.pipeline]);
      await deleteObjects(["rollup", c.minute, c.hour]);
      return;
    case "at-once":
      // As `kubectl delete pipelines,rollups --all`, for this case's objects only.
      await deleteObjects(["pipelines,rollups", "-l", `tally.test/case=${c.key}`]);
      return;
    case "parent-first":
      await deleteObjects(["rollup", c.minute]);
      await deleteObjects(["rollup", c.hour]);
      await deleteObjects(["pipeline", c.pipeline]);
      return;
    default:
      c.order satisfies never;
  }
}

describe("deleting pipelines and rollups", () => {
  it.each(orders.flatMap((order) => policies.map((policy) => ({ order, policy }))))(
    "$order under deletionPolicy $policy leaves exactly what the policy keeps, and nothing writes into it",
    async ({ order, policy }) => {
      const c = cases.find((x) => x.order === order && x.policy === policy) as Case;
      const r = recorded.get(c.key) as Recorded;
      await deleteInOrder(c);

      if (policy === "Retain") {
        // A view runs inside the INSERT, so once it returns any surviving view has written.
        await insertRaw(c, 1000);
        const [raw] = await query<{ n: string }>(`SELECT count() AS n FROM ${c.database}.${r.raw}`);
        expect(Number(raw?.n)).toBe(amountsBefore.length + 1); // the row landed…
        // …and no rollup took it: each holds exactly what it held before the deletion.
        const before = { events: amountsBefore.length, amount: amountsBefore.reduce((a, b) => a + b, 0) };
        expect(await rollupTotals(c.database, r.minute.table), "minute rollup").toEqual(before);
        expect(await rollupTotals(c.database, r.hour.table), "hour rollup").toEqual(before);
        // The pipeline's tables and each rollup's serving table stay, and no view is left.
        expect(await tablesIn(c.database)).toEqual([r.raw, r.windows, r.minute.table, r.hour.table].sort());
      } else {
        expect(await tablesIn(c.database)).toEqual([]);
      }

      // Each deletion says what it dropped and what it kept.
      const note = async (name: string) =>
        eventually(async () => {
          const [event] = await eventsAbout(scope.namespace, name, "CleanedUp");
          if (event === undefined) throw new Error(`no CleanedUp Event about ${name}`);
          return event.note;
        }, 30_000);
      const pipelineNote = await note(c.pipeline);
      if (policy === "Retain") expect(pipelineNote).toContain(`kept raw table ${c.database}.${r.raw}`);
      else expect(pipelineNote).toMatch(/dropped raw table .*; kept nothing$/);
      for (const [name, objects] of [
        [c.minute, r.minute],
        [c.hour, r.hour],
      ] as const) {
        const text = await note(name);
        const view = `rollup view (serving version 1) ${c.database}.${objects.view}`;
        const table = `rollup table (serving version 1) ${c.database}.${objects.table}`;
        expect(text).toBe(
          policy === "Retain"
            ? `deletionPolicy Retain: dropped ${view}; kept ${table}`
            : `deletionPolicy Delete: dropped ${view}, ${table}; kept nothing`,
        );
      }
    },
    180_000,
  );

  it("completes without the connection Secret, drops nothing and warns naming what is left", async () => {
    const c = secretGone;
    const r = recorded.get(c.key) as Recorded;
    await kubectlOk(["delete", "secret", c.secret, "-n", scope.namespace]);
    await deleteInOrder(c);
    expect(await tablesIn(c.database)).toEqual(
      [r.raw, r.windows, r.minute.table, r.minute.view, r.hour.table, r.hour.view].sort(),
    );
    for (const name of [c.pipeline, c.minute, c.hour]) {
      const event = await eventually(async () => {
        const [found] = await eventsAbout(scope.namespace, name, "CleanupSkipped");
        if (found === undefined) throw new Error(`no CleanupSkipped Event about ${name}`);
        return found;
      }, 30_000);
      expect(event.type).toBe("Warning");
      expect(event.note).toContain(`Secret ${scope.namespace}/${c.secret} does not exist`);
      expect(event.note).toContain("dropped nothing; left to drop by hand");
    }
  });
});
