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
    // How the first worker met the second's join. While it consumes, its own eachBatch heartbeats see the
    // rebalance: it flushes and commits what it owes under the old generation, and keeps the partitions
    // it still owns without a rebuild. While it consumes nothing (idle, or paused by its byte budget
    // because ClickHouse is slow), kafkajs' heartbeat sees it first and re-joins at once: the fence then
    // refuses the owed commits, the worker says what it left, and rebuilds what it keeps from the raw
    // table. Either way the ground truth above held; here, each path must be the consistent one.
    const rejoin = firstRejoin(first.lines);
    console.log(`[rebalance] the first worker met the join: ${JSON.stringify(rejoin)}`);
    if (rejoin.path === "flushed") {
      expect(rejoin.kept, first.tail()).toBeGreaterThan(0);
    } else {
      expect(rejoin.path, first.tail()).toBe("unflushed");
      if (rejoin.owed > 0) expect(rejoin.rebuilt, first.tail()).toBeGreaterThan(0);
    }
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  });
});

/** Which way the first rebalance went, from the worker's log: flushed first, or left to the fence. */
function firstRejoin(lines: readonly string[]): {
  path: "flushed" | "unflushed" | "none";
  owed: number;
  kept: number;
  rebuilt: number;
} {
  const start = lines.findIndex(
    (l) =>
      l.includes('"msg":"rebalance: flushed owed batches before re-joining"') ||
      l.includes('"msg":"rebalance: kafkajs re-joins without a flush'),
  );
  if (start < 0) return { path: "none", owed: 0, kept: 0, rebuilt: 0 };
  const first = JSON.parse(lines[start] ?? "{}") as {
    flushed?: boolean;
    openBatches?: number;
    pendingBatches?: number;
  };
  // The partitions' initialisation after that re-join, up to the next assignment.
  const next = lines.findIndex((l, i) => i > start && l.includes('"msg":"assigned partitions'));
  const end = lines.findIndex((l, i) => i > next && l.includes('"msg":"assigned partitions'));
  const after = lines.slice(start, end < 0 ? lines.length : end);
  return {
    path: first.flushed === true ? "flushed" : "unflushed",
    // A flush that ran out of time (rebalanceFlushMs) leaves owed batches like no flush at all.
    owed: first.flushed === false ? 1 : (first.openBatches ?? 0) + (first.pendingBatches ?? 0),
    kept: after.filter((l) => l.includes('"msg":"kept partition state across the rebalance"')).length,
    rebuilt: after.filter((l) => l.includes('"msg":"rebuilt partition state from the raw table"')).length,
  };
}
