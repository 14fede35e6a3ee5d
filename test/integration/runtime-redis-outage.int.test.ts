import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import {
  checkGroundTruth,
  clickhouseClient,
  createTables,
  createTopics,
  produce,
  readRawRows,
  runtimeScenario,
  stackCommand,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";

// Redis goes away (and may come back empty): the raw path and the window table carry on, nothing
// waits for Redis; once it answers again the worker rewrites the live windows from the window table.
const clickhouse = clickhouseClient();
const workers: WorkerProcess[] = [];
afterAll(async () => {
  await stackCommand("up", "redis");
  await Promise.all(workers.map((w) => w.stop()));
  await clickhouse.close();
});

describe("runtime: Redis down", () => {
  it("keeps writing ClickHouse while Redis is away and recovers the live windows after", async () => {
    const { names, manifest, plan, produced, expected } = runtimeScenario("redis-outage", {
      seed: 41,
      partitions: 3,
      perPartition: 2_000,
    });
    const half = produced.map((p) => p.slice(0, 1_000));
    const rest = produced.map((p) => p.slice(1_000));
    await createTopics(names, 3);
    const rollup = await createTables(clickhouse, plan, names);

    const worker = WorkerProcess.start(writeManifest(manifest), "redis-outage");
    workers.push(worker);
    await produce(names.topic, half);
    await waitForCommitted(
      names,
      half.map((p) => p.length),
    );

    await stackCommand("down", "redis");
    await produce(names.topic, rest);
    // The raw path does not wait for Redis: everything is committed and in ClickHouse while it is down.
    await waitForCommitted(
      names,
      produced.map((p) => p.length),
    );
    expect((await readRawRows(clickhouse, plan)).length).toBe(expected.rows.flat().length);
    await eventually(
      async () => expect(await worker.metric("tally_runtime_redis_errors_total")).toBeGreaterThan(0),
      20_000,
    );

    await stackCommand("up", "redis");
    await worker.waitForLog(/"msg":"redis recovered; live metrics resynced from the window table"/, 30_000);
    await checkGroundTruth({ names, plan, clickhouse, rollup, produced, expected, checkRedis: true });
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });
});
