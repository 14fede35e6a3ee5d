import { randomUUID } from "node:crypto";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import {
  type RollupDdl,
  renderDropRollupVersion,
  renderMovePartition,
  renderRollupDdl,
} from "../../contracts/clickhouse/rollup-ddl.js";
import { clickhouseUrl, stackConfig } from "../env/config.js";
import { examplePipelineSpec, rawSourceOf, rollupSpec } from "../support/fixtures/clickhouse-fixtures.js";

// The rendered DDL run on the real ClickHouse engine: a rollup's version migration keeps every
// row exactly once while inserts keep arriving, and a cascade agrees with its source.

const database = `rollup_it_${randomUUID().slice(0, 8)}`;
let client: ClickHouseClient;
let spec: PipelineSpec;

beforeAll(async () => {
  client = createClient({
    url: clickhouseUrl,
    username: stackConfig.clickhouseUser,
    password: stackConfig.clickhousePassword,
  });
  spec = examplePipelineSpec();
  spec.sink.clickhouse = { ...spec.sink.clickhouse, database, table: "events" };
  for (const statement of renderRawTableDdl(spec).statements) await client.command({ query: statement });
});
afterAll(async () => {
  await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await client.close();
});

let sequence = 0;
async function insertEvents(count: number, type: string): Promise<void> {
  const now = Date.now();
  const rows = Array.from({ length: count }, () => {
    sequence += 1;
    return {
      event_id: `e${sequence}`,
      user_id: `u${sequence % 7}`,
      type,
      url: `/p/${sequence % 3}`,
      ts: new Date(now - (sequence % 120) * 60_000).toISOString().replace("T", " ").replace("Z", ""),
      value: sequence % 5,
      _topic: "clicks",
      _partition: sequence % 2,
      _offset: sequence,
    };
  });
  await client.insert({ table: `${database}.events`, values: rows, format: "JSONEachRow" });
}

async function execute(statements: readonly string[]): Promise<void> {
  for (const query of statements) await client.command({ query });
}

async function migrate(ddl: RollupDdl, whileWaiting: () => Promise<void>): Promise<void> {
  await execute([ddl.createTable, ddl.createStagingTable, ddl.createView]);
  await whileWaiting(); // inserts before the cut-over go through the backfill, after it through the view
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await execute([ddl.truncateStaging, ddl.fillStaging]);
  const parts = await client.query({
    query:
      "SELECT DISTINCT partition_id FROM system.parts WHERE database = {d:String} AND table = {t:String} AND active",
    query_params: { d: database, t: ddl.stagingTable },
    format: "JSONEachRow",
  });
  for (const { partition_id } of await parts.json<{ partition_id: string }>()) {
    const move = renderMovePartition(database, ddl.stagingTable, ddl.table, partition_id);
    await client.command({ query: move });
    await client.command({ query: move }); // a retried move finds nothing left to move
  }
  await execute([ddl.dropStaging]);
}

async function total(table: string, metric: string, merge: string): Promise<number> {
  const result = await client.query({
    query: `SELECT ${merge}(${metric}) AS n FROM ${database}.${table}`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ n: string | number }>();
  return Number(row?.n ?? 0);
}

async function rawCount(where = "1"): Promise<number> {
  const result = await client.query({
    query: `SELECT count() AS n FROM ${database}.events WHERE ${where}`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ n: string | number }>();
  return Number(row?.n ?? 0);
}

describe("rollup DDL on the real engine", () => {
  const minute = rollupSpec({
    source: { kind: "Pipeline", name: "clickstream" },
    granularity: "1m",
    dimensions: ["type", "url"],
    metrics: [
      { fn: "count", name: "events" },
      { fn: "sum", name: "revenue", field: "value" },
    ],
  });

  it("migrates from version 1 to a changed version 2 with every row counted exactly once", async () => {
    await insertEvents(500, "click");
    const v1 = renderRollupDdl({
      namespace: "it",
      name: "m",
      spec: minute,
      version: 1,
      raw: rawSourceOf(spec),
      cutoff: new Date(Date.now() + 1000),
    });
    await migrate(v1, () => insertEvents(300, "click"));
    await insertEvents(200, "purchase");
    expect(await total(v1.table, "events", "countMerge")).toBe(await rawCount());

    // Version 2 changes the dimensions; inserts keep arriving on both sides of its cut-over.
    const changed = { ...minute, dimensions: ["type"] };
    const v2 = renderRollupDdl({
      namespace: "it",
      name: "m",
      spec: changed,
      version: 2,
      raw: rawSourceOf(spec),
      cutoff: new Date(Date.now() + 1000),
    });
    expect(v2.definitionHash).not.toBe(v1.definitionHash);
    await migrate(v2, () => insertEvents(250, "click"));
    await insertEvents(150, "purchase");
    expect(await total(v2.table, "events", "countMerge")).toBe(await rawCount());
    expect(await total(v2.table, "revenue", "sumIfMerge")).toBe(
      Number(
        (
          await (
            await client.query({
              query: `SELECT sum(value) AS n FROM ${database}.events`,
              format: "JSONEachRow",
            })
          ).json<{ n: number }>()
        )[0]?.n,
      ),
    );
    await execute(renderDropRollupVersion(database, v1.table));
    const left = await client.query({
      query: "SELECT name FROM system.tables WHERE database = {d:String} ORDER BY name",
      query_params: { d: database },
      format: "JSONEachRow",
    });
    expect((await left.json<{ name: string }>()).map((r) => r.name)).toEqual(
      ["events", v2.table, v2.view].sort(),
    );
  });

  it("keeps a cascade (minute → hour) equal to its source, including the source's filter", async () => {
    const filtered = rollupSpec({
      ...minute,
      filter: [{ field: "type", operator: "eq", values: ["purchase"] }],
    });
    const m = renderRollupDdl({
      namespace: "it",
      name: "fm",
      spec: filtered,
      version: 1,
      raw: rawSourceOf(spec),
      cutoff: new Date(Date.now() + 1000),
    });
    await migrate(m, () => insertEvents(100, "purchase"));
    const hourSpec = rollupSpec({
      source: { kind: "Rollup", name: "fm" },
      granularity: "1h",
      dimensions: ["type"],
      metrics: [{ fn: "count", name: "events" }],
    });
    const h = renderRollupDdl({
      namespace: "it",
      name: "fh",
      spec: hourSpec,
      version: 1,
      raw: rawSourceOf(spec),
      parent: { spec: filtered, table: m.table, inheritedFilters: filtered.filter ?? [] },
      cutoff: new Date(Date.now() + 1000),
    });
    await migrate(h, () => insertEvents(50, "purchase"));
    await insertEvents(70, "purchase");
    await insertEvents(90, "click");
    const purchases = await rawCount("type = 'purchase'");
    expect(await total(m.table, "events", "countMerge")).toBe(purchases);
    expect(await total(h.table, "events", "countMerge")).toBe(purchases);
  });

  it("drops a replayed insert with the same deduplication token in the raw table and every rollup", async () => {
    const before = await rawCount();
    const v = renderRollupDdl({
      namespace: "it",
      name: "d",
      spec: minute,
      version: 1,
      raw: rawSourceOf(spec),
      cutoff: new Date(Date.now() - 1000),
    });
    await execute([v.createTable, v.createView]);
    const rows = [
      {
        event_id: "dup",
        user_id: "u",
        type: "click",
        url: "/",
        ts: new Date(Date.now() - 3_600_000).toISOString().replace("T", " ").replace("Z", ""),
        value: 1,
        _topic: "t",
        _partition: 0,
        _offset: 1,
      },
    ];
    const settings = {
      insert_deduplication_token: `it-${randomUUID()}`,
      deduplicate_blocks_in_dependent_materialized_views: 1 as const,
    };
    await client.insert({
      table: `${database}.events`,
      values: rows,
      format: "JSONEachRow",
      clickhouse_settings: settings,
    });
    await client.insert({
      table: `${database}.events`,
      values: rows,
      format: "JSONEachRow",
      clickhouse_settings: settings,
    });
    expect(await rawCount()).toBe(before + 1);
    expect(await total(v.table, "events", "countMerge")).toBe(1);
  });
});
