import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkGroundTruth,
  clickhouseClient,
  createTables,
  createTopics,
  produce,
  runtimeScenario,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";

// The whole path on the local stack: a generated clickstream (out-of-order, late and duplicate events,
// bots, invalid records) through one worker; afterwards the raw table, the window table (merged over
// partitions), a rollup fed by a materialized view, the dead-letter topic and Redis all equal what the
// produced messages imply.
const clickhouse = clickhouseClient();
afterAll(async () => {
  await clickhouse.close();
});

describe("runtime: Kafka to ClickHouse and Redis", () => {
  const { names, manifest, plan, produced, expected } = runtimeScenario("e2e", {
    seed: 11,
    partitions: 4,
    perPartition: 2_500,
  });
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    await createTopics(names, 4);
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it("writes every valid event once, windows and rollups equal to the ground truth, every invalid record to the dead-letter topic", async () => {
    // The input has every kind of trouble in it.
    expect(expected.duplicates).toBeGreaterThan(0);
    expect(expected.bots).toBeGreaterThan(0);
    expect(expected.invalid.filter((i) => i.kind === "decode").length).toBeGreaterThan(0);
    expect(expected.invalid.filter((i) => i.kind === "schema").length).toBeGreaterThan(0);
    expect(produced.flat().filter((m) => m.kind === "very-late").length).toBeGreaterThan(0);
    const rollup = await createTables(clickhouse, plan, names);
    await produce(names.topic, produced);
    worker = WorkerProcess.start(writeManifest(manifest), "worker-e2e");
    await waitForCommitted(
      names,
      produced.map((p) => p.length),
    );
    expect(await worker.metric("tally_runtime_events_in_total")).toBe(produced.flat().length);
    expect(await worker.metric("tally_runtime_events_deduplicated_total")).toBe(expected.duplicates);
    expect(await worker.metric("tally_runtime_events_filtered_total")).toBe(expected.bots);
    expect(await worker.metric("tally_runtime_events_invalid_total")).toBe(expected.invalid.length);
    await checkGroundTruth({ names, plan, clickhouse, rollup, produced, expected, checkRedis: true });

    const exit = await worker.stop();
    expect(exit, worker.tail()).toEqual({ code: 0, signal: null });
    expect(worker.lines.some((l) => l.includes('"msg":"drained: everything flushed and committed"'))).toBe(
      true,
    );
  });
});
