import { afterAll, describe, expect, it } from "vitest";
import {
  checkGroundTruth,
  clickhouseClient,
  createTables,
  createTopics,
  produceGradually,
  runtimeScenario,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";

// Two workers in one group while the stream flows: a second worker joins (partitions move to it, the
// first flushes what it owes before they go), then the first leaves on SIGTERM (its partitions move
// back). Each move rebuilds the partition's state from the raw table at the committed offset; the
// windows, merged over partitions, must still equal the ground truth.
const clickhouse = clickhouseClient();
const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await clickhouse.close();
});

describe("runtime: rebalance while two workers run", () => {
  it("moves partitions twice mid-stream with nothing lost or doubled", async () => {
    const { names, manifest, plan, produced, expected } = runtimeScenario(
      "rebalance",
      { seed: 53, partitions: 4, perPartition: 2_000 },
      (spec) => {
        spec.sink.clickhouse.batch = { maxRows: 100_000, maxDelay: "200ms" };
      },
    );
    await createTopics(names, 4);
    const rollup = await createTables(clickhouse, plan, names);
    const configPath = writeManifest(manifest);

    const first = WorkerProcess.start(configPath, "rebalance-a");
    workers.push(first);
    await first.waitForLog(/"msg":"assigned partitions/);
    const streaming = produceGradually(names.topic, produced, 60, 100);

    await new Promise((r) => setTimeout(r, 1_500));
    const second = WorkerProcess.start(configPath, "rebalance-b");
    workers.push(second);
    await second.waitForLog(/"msg":"assigned partitions/);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await first.stop(), first.tail()).toEqual({ code: 0, signal: null });

    await streaming;
    await waitForCommitted(
      names,
      produced.map((p) => p.length),
    );
    // Nothing lost or doubled, whichever way the rebalance was noticed: checked before the log lines below.
    await checkGroundTruth({ names, plan, clickhouse, rollup, produced, expected, checkRedis: true });
    // The partitions really moved: the second worker rebuilt state for partitions the first had written.
    expect(second.lines.some((l) => l.includes('"msg":"rebuilt partition state from the raw table"'))).toBe(
      true,
    );
    // When the second joined, the first flushed and committed what it owed before re-joining (the stream
    // keeps it busy, so its own eachBatch heartbeats see the rebalance), so the partitions it kept needed
    // no rebuild.
    expect(
      first.lines.some((l) =>
        l.includes('"flushed":true,"msg":"rebalance: flushed owed batches before re-joining"'),
      ),
      first.tail(),
    ).toBe(true);
    expect(first.lines.some((l) => l.includes('"msg":"kept partition state across the rebalance"'))).toBe(
      true,
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  });
});
