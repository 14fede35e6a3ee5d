import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import {
  checkGroundTruth,
  clickhouseClient,
  createTables,
  createTopics,
  produce,
  runtimeScenario,
  stackCommand,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";

// ClickHouse goes away while events keep arriving: the worker keeps retrying the same batches, stops
// taking messages once its buffered bytes reach the budget (the partitions pause; Kafka keeps the
// rest), never holds more than the budget, and catches up when ClickHouse is back, with the ground
// truth intact.
const budgetBytes = 2 * 1024 * 1024;
let clickhouse = clickhouseClient();
const workers: WorkerProcess[] = [];
afterAll(async () => {
  await stackCommand("up", "clickhouse");
  await Promise.all(workers.map((w) => w.stop()));
  await clickhouse.close();
});

describe("runtime: ClickHouse down for a while", () => {
  it("pauses within the byte budget, then catches up with nothing lost or doubled", async () => {
    const { names, manifest, plan, produced, expected } = runtimeScenario("ch-outage", {
      seed: 31,
      partitions: 4,
      perPartition: 4_000,
    });
    const total = produced.flat().length;
    await createTopics(names, 4);
    const rollup = await createTables(clickhouse, plan, names);

    const worker = WorkerProcess.start(writeManifest(manifest), "ch-outage", {
      TALLY_MAX_BUFFERED_BYTES: String(budgetBytes),
    });
    workers.push(worker);
    await worker.waitForLog(/"msg":"assigned partitions/);
    await stackCommand("down", "clickhouse");
    await produce(names.topic, produced);

    // Backpressure: the partitions pause and the worker stops taking messages well before the end.
    await eventually(
      async () => expect(await worker.metric("tally_runtime_paused_partitions")).toBeGreaterThan(0),
      60_000,
      250,
    );
    const heldBack = await worker.metric("tally_runtime_events_in_total");
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await worker.metric("tally_runtime_events_in_total")).toBe(heldBack);
    expect(heldBack).toBeLessThan(total);
    expect(await worker.metric("tally_runtime_buffered_bytes_max")).toBeLessThanOrEqual(budgetBytes);
    expect(await worker.metric("tally_runtime_sink_retries_total")).toBeGreaterThan(0);

    await stackCommand("up", "clickhouse");
    await clickhouse.close();
    clickhouse = clickhouseClient();
    await waitForCommitted(
      names,
      produced.map((p) => p.length),
      100_000,
    );
    expect(await worker.metric("tally_runtime_events_in_total")).toBe(total);
    expect(await worker.metric("tally_runtime_buffered_bytes_max")).toBeLessThanOrEqual(budgetBytes);
    await checkGroundTruth({ names, plan, clickhouse, rollup, produced, expected, checkRedis: true });
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
  });
});
