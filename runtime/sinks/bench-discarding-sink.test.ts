import { describe, expect, it } from "vitest";
import type { WindowUpsert } from "../../contracts/windows/window-results.js";
import type { SealedBatch } from "../pipeline/partition-processor.js";
import { BenchDiscardingSink } from "./bench-discarding-sink.js";

function upsert(revision: number, events: number): WindowUpsert {
  return {
    kind: "upsert",
    windowName: "events_per_minute",
    windowStart: 60_000,
    windowEnd: 120_000,
    groupKey: ["click"],
    revision,
    states: {},
    results: { events },
  };
}

function batch(partition: number, first: number, last: number, results: WindowUpsert[]): SealedBatch {
  return {
    kind: "batch",
    topic: "t",
    partition,
    firstOffset: first,
    lastOffset: last,
    rawRows: Buffer.alloc(0),
    rowCount: last - first + 1,
    windowRows: Buffer.alloc(0),
    windowResults: results,
    deadLetters: [],
    maxEventTimeBeforeMs: 0,
    maxEventTimeAfterMs: 0,
    floorsBefore: [],
    floorsAfter: [],
    watermarkMs: 0,
    bytes: 0,
    openedAtMs: 0,
  };
}

async function deliver(sink: BenchDiscardingSink, b: SealedBatch): Promise<void> {
  await sink.insert(b, "raw");
  await sink.insert(b, "windows");
}

describe("BenchDiscardingSink", () => {
  it("counts every offset of the batches and keeps each partition's latest revision per window", async () => {
    const sink = new BenchDiscardingSink();
    sink.markRecord();
    await deliver(sink, batch(0, 0, 99, [upsert(1, 5)]));
    await deliver(sink, batch(1, 0, 49, [upsert(1, 7)]));
    await deliver(sink, batch(0, 100, 149, [upsert(2, 6)]));
    // A replayed older revision does not replace the newer one.
    await deliver(sink, batch(0, 150, 150, [upsert(1, 5)]));
    const summary = sink.summary();
    expect(summary.messages).toBe(100 + 50 + 50 + 1);
    expect(summary.cpuSeconds).toBeGreaterThanOrEqual(0);
    const byPartition = summary.partials
      .map((p) => [p.partition, p.revision, p.results.events] as const)
      .sort((a, b) => a[0] - b[0]);
    expect(byPartition).toEqual([
      [0, 2, 6],
      [1, 1, 7],
    ]);
  });

  it("has nothing to rebuild from", async () => {
    const sink = new BenchDiscardingSink();
    expect(await sink.fetchRebuildRows()).toEqual([]);
    expect(await sink.fetchMaxEventTime()).toBe(Number.NEGATIVE_INFINITY);
  });
});
