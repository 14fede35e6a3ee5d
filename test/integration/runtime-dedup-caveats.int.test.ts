import { afterAll, describe, expect, it } from "vitest";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { Enricher } from "../../runtime/enrich/enricher.js";
import { PartitionProcessor, type SealedBatch } from "../../runtime/pipeline/partition-processor.js";
import { ClickHouseSink } from "../../runtime/sinks/clickhouse-sink.js";
import { generateClickstream } from "../support/clickstream-generator.js";
import {
  clickhouseClient,
  createTables,
  pipelineManifest,
  planOf,
  runtimeTestNames,
} from "../support/runtime-harness.js";

// The caveats of exactly-once by insert_deduplication_token, shown on the real engine: a replayed batch
// is dropped (by the raw table and by the rollup's materialized view) only while its original is among
// the table's last `non_replicated_deduplication_window` blocks; and the token alone decides, so a
// replay must carry the same rows (the runtime makes it byte-identical) or rows are silently lost.
const clickhouse = clickhouseClient();
afterAll(async () => {
  await clickhouse.close();
});

describe("runtime: deduplication caveats", () => {
  const names = runtimeTestNames("dedup");
  const plan = planOf(pipelineManifest(names));
  const sink = new ClickHouseSink(clickhouse, plan);
  const table = qualifiedName(plan.spec.sink.clickhouse.database, plan.spec.sink.clickhouse.table, "test");

  function batches(): SealedBatch[] {
    const [messages = []] = generateClickstream({
      seed: 5,
      partitions: 1,
      perPartition: 1_200,
      // Relative to now: the raw table and its rollup have a TTL, so a fixed date ages out of them.
      startMs: Date.now() - 3_600_000,
    });
    const p = new PartitionProcessor(plan, names.topic, 0);
    const enricher = new Enricher([], plan.mapper);
    const out: SealedBatch[] = [];
    const prepared = p.prepare(
      messages.map((m) => ({ offset: m.offset, key: Buffer.from(m.key), value: Buffer.from(m.value) })),
    );
    prepared.forEach((item, i) => {
      p.apply(item, enricher, 0);
      if (i % 100 === 99) {
        const sealed = p.cut();
        if (sealed !== undefined) out.push(sealed);
      }
    });
    return out;
  }

  async function count(): Promise<number> {
    const result = await clickhouse.query({
      query: `SELECT count() AS n FROM ${table}`,
      format: "JSONEachRow",
    });
    const [row] = await result.json<{ n: number | string }>();
    return Number(row?.n ?? 0);
  }

  it("drops a replay inside the window, keeps it once the window has moved on, and decides by token alone", async () => {
    const rollup = await createTables(clickhouse, plan, names);
    await clickhouse.command({
      query: `ALTER TABLE ${table} MODIFY SETTING non_replicated_deduplication_window = 3`,
    });
    const all = batches();
    const [first, second, ...rest] = all;
    if (first === undefined || second === undefined || rest.length < 4) throw new Error("not enough batches");
    const rollupRows = async () => {
      const result = await clickhouse.query({
        query: `SELECT countMerge(events) AS n FROM ${qualifiedName(rollup.ddl.database, rollup.ddl.table, "rollup")}`,
        format: "JSONEachRow",
      });
      const [row] = await result.json<{ n: number | string }>();
      return Number(row?.n ?? 0);
    };

    await sink.insert(first, "raw");
    await sink.insert(first, "raw"); // a retry or a replay right away: dropped, in the view too
    expect(await count()).toBe(first.rowCount);
    expect(await rollupRows()).toBe(first.rowCount);

    // The same token with other bytes is dropped as well: ClickHouse does not compare the data.
    await sink.insert({ ...second, firstOffset: first.firstOffset, lastOffset: first.lastOffset }, "raw");
    expect(await count()).toBe(first.rowCount);

    // Push the original out of the 3-block window, then replay it: now it lands twice.
    for (const batch of rest.slice(0, 4)) await sink.insert(batch, "raw");
    const before = await count();
    await sink.insert(first, "raw");
    expect(await count()).toBe(before + first.rowCount);
  });
});
