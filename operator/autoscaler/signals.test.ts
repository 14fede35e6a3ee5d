import { describe, expect, it } from "vitest";
import {
  computeSignals,
  type OffsetSample,
  type PartitionOffsets,
  type SignalInput,
  sinkPressureFromSamples,
} from "./signals.js";

const t0 = 1_700_000_000_000;

function partition(
  partitionNumber: number,
  endOffset: number | undefined,
  committed: number | "none" | "unknown",
): PartitionOffsets {
  return {
    topic: "orders",
    partition: partitionNumber,
    endOffset,
    committed:
      committed === "unknown"
        ? { kind: "unknown" }
        : committed === "none"
          ? { kind: "none", startsAt: 0 }
          : { kind: "committed", offset: committed },
  };
}

function sample(at: number, replicas: number, offsets: readonly [number, number][]): OffsetSample {
  return {
    at,
    consumingReplicas: replicas,
    partitions: offsets.map(([end, committed], i) => partition(i, end, committed)),
  };
}

function signals(samples: readonly OffsetSample[], extra: Partial<SignalInput> = {}) {
  return computeSignals({ samples, currentReplicas: 2, sinkPressure: [], now: t0 + 15_000, ...extra });
}

describe("computeSignals", () => {
  it("reports everything unknown, never zero, when nothing was sampled", () => {
    const s = signals([]);
    expect(s.freshness).toEqual({ kind: "missing" });
    expect(s.totalLag).toEqual({ kind: "unknown", why: "no offsets sampled yet" });
    expect(s.inputRate.kind).toBe("unknown");
    expect(s.capacityPerReplica.kind).toBe("unknown");
  });

  it("makes every signal unknown when the newest sample is stale", () => {
    const s = signals([sample(t0, 2, [[100, 50]])], { now: t0 + 90_000 });
    expect(s.freshness).toEqual({ kind: "stale", ageMs: 90_000, staleAfterMs: 60_000 });
    expect(s.totalLag).toEqual({
      kind: "unknown",
      why: "newest offset sample is 1m30s old (stale after 1m)",
    });
    expect(s.partitions[0]?.lag.kind).toBe("unknown");
  });

  it("measures lag from one sample and needs two for rates", () => {
    const s = signals([
      sample(t0 + 15_000, 2, [
        [1_000, 400],
        [2_000, 2_000],
      ]),
    ]);
    expect(s.totalLag).toEqual({ kind: "known", value: 600 });
    expect(s.inputRate.kind).toBe("unknown");
    expect(s.inputRate.kind === "unknown" && s.inputRate.why).toContain("need two offset samples");
  });

  it("derives rates, per-replica rate and lag seconds from the window", () => {
    const s = signals([
      sample(t0, 2, [
        [1_000, 1_000],
        [2_000, 2_000],
      ]),
      sample(t0 + 15_000, 2, [
        [46_000, 16_000],
        [62_000, 32_000],
      ]),
    ]);
    expect(s.windowMs).toBe(15_000);
    expect(s.inputRate).toEqual({ kind: "known", value: 7_000 });
    expect(s.processingRate).toEqual({ kind: "known", value: 3_000 });
    expect(s.processingRatePerReplica).toEqual({ kind: "known", value: 1_500 });
    expect(s.totalLag).toEqual({ kind: "known", value: 60_000 });
    expect(s.lagSeconds).toEqual({ kind: "known", value: 20 });
  });

  it("uses the start offset for partitions the group never committed, and names partitions it cannot measure", () => {
    const never = signals(
      [sample(t0 + 15_000, 1, []) as OffsetSample].map((s) => ({
        ...s,
        partitions: [partition(0, 500, "none")],
      })),
    );
    expect(never.totalLag).toEqual({ kind: "known", value: 500 });

    const missing = computeSignals({
      samples: [
        {
          at: t0 + 15_000,
          consumingReplicas: 1,
          partitions: [partition(0, 500, 100), partition(7, undefined, 3)],
        },
      ],
      currentReplicas: 1,
      sinkPressure: [],
      now: t0 + 15_000,
    });
    expect(missing.totalLag).toEqual({
      kind: "unknown",
      why: "lag unknown for orders-7: end offset not reported",
    });
    const unreported = computeSignals({
      samples: [{ at: t0, consumingReplicas: 1, partitions: [partition(0, 500, "unknown")] }],
      currentReplicas: 1,
      sinkPressure: [],
      now: t0,
    });
    expect(unreported.totalLag.kind).toBe("unknown");
  });

  it("refuses a rate when offsets go backwards", () => {
    const s = signals([sample(t0, 1, [[5_000, 4_000]]), sample(t0 + 15_000, 1, [[100, 50]])]);
    expect(s.inputRate.kind === "unknown" && s.inputRate.why).toContain("went backwards");
  });

  it("measures capacity only from saturated consumers", () => {
    // Two consumers over four partitions (0,2 and 1,3). Consumer 0 has a backlog on partition 0 at both
    // ends of the window; consumer 1 keeps up.
    const busy = signals([
      sample(t0, 2, [
        [100_000, 40_000],
        [10_000, 10_000],
        [10_000, 10_000],
        [10_000, 10_000],
      ]),
      sample(t0 + 15_000, 2, [
        [250_000, 175_000],
        [25_000, 25_000],
        [25_000, 25_000],
        [25_000, 25_000],
      ]),
    ]);
    // Consumer 0 committed 135,000 + 15,000 in 15 s.
    expect(busy.capacityPerReplica).toEqual({ kind: "known", value: 10_000 });

    const idle = signals([
      sample(t0, 2, [
        [10_000, 10_000],
        [10_000, 10_000],
      ]),
      sample(t0 + 15_000, 2, [
        [25_000, 25_000],
        [25_000, 25_000],
      ]),
    ]);
    expect(idle.capacityPerReplica.kind === "unknown" && idle.capacityPerReplica.why).toContain(
      "no consumer had a backlog",
    );
  });

  it("counts a consumer whose backlog grew as saturated", () => {
    const s = signals([sample(t0, 1, [[10_000, 10_000]]), sample(t0 + 15_000, 1, [[160_000, 85_000]])]);
    expect(s.capacityPerReplica).toEqual({ kind: "known", value: 5_000 });
  });

  it("does not measure capacity across a rebalance or while the sink pushes back", () => {
    const rebalanced = signals([
      sample(t0, 1, [[100_000, 10_000]]),
      sample(t0 + 15_000, 2, [[250_000, 100_000]]),
    ]);
    expect(rebalanced.rebalancing).toBe(true);
    expect(rebalanced.capacityPerReplica.kind).toBe("unknown");
    expect(rebalanced.processingRatePerReplica.kind).toBe("unknown");

    const pushedBack = signals(
      [sample(t0, 1, [[100_000, 10_000]]), sample(t0 + 15_000, 1, [[250_000, 100_000]])],
      {
        sinkPressure: [{ kind: "too-many-parts", table: "db.events" }],
      },
    );
    expect(pushedBack.capacityPerReplica.kind === "unknown" && pushedBack.capacityPerReplica.why).toContain(
      "sink",
    );
  });

  it("measures after a rebalance once the new group shape spans a rate interval", () => {
    const s = signals([
      sample(t0, 0, [[300_000, 0]]),
      sample(t0 + 4_000, 1, [[300_000, 10_000]]),
      sample(t0 + 9_000, 1, [[300_000, 60_000]]),
      sample(t0 + 15_000, 1, [[300_000, 120_000]]),
    ]);
    // From the first sample with one consumer: 110,000 in 11 s.
    expect(s.rebalancing).toBe(false);
    expect(s.windowMs).toBe(11_000);
    expect(s.capacityPerReplica).toEqual({ kind: "known", value: 10_000 });

    const tooSoon = signals([
      sample(t0, 0, [[300_000, 0]]),
      sample(t0 + 12_000, 1, [[300_000, 10_000]]),
      sample(t0 + 15_000, 1, [[300_000, 40_000]]),
    ]);
    expect(tooSoon.rebalancing).toBe(true);
    expect(tooSoon.capacityPerReplica.kind).toBe("unknown");
  });

  it("extrapolates capacity from the busy ratio without a backlog", () => {
    const s = signals([
      sample(t0, 2, [[0, 0]]),
      { ...sample(t0 + 15_000, 2, [[150_000, 150_000]]), busyRatio: 0.25 },
    ]);
    // 10,000/s over 2 replicas busy a quarter of the time: 20,000/s each.
    expect(s.capacityPerReplica).toEqual({ kind: "known", value: 20_000 });
  });
});

describe("sinkPressureFromSamples", () => {
  const report = (insertMs: number, failedInserts = 0, tooManyParts = false) => ({
    insertMs,
    failedInserts,
    tooManyParts,
  });
  function withReports(at: number, committed: number[], reports: ReturnType<typeof report>[]): OffsetSample {
    return {
      at,
      consumingReplicas: 1,
      partitions: committed.map((c, i) => ({ ...partition(i, 10_000, c), sinkReport: reports[i] })),
    };
  }

  it("is empty while inserts go well", () => {
    expect(sinkPressureFromSamples([withReports(t0, [10], [report(300)])], "db.events")).toEqual([]);
    expect(sinkPressureFromSamples([], "db.events")).toEqual([]);
  });

  it("names failed inserts, too many parts and slow inserts from commits that moved", () => {
    const samples = [
      withReports(t0, [100, 100], [report(200), report(200)]),
      withReports(t0 + 10_000, [200, 300], [report(12_000, 2), report(500, 1, true)]),
    ];
    expect(sinkPressureFromSamples(samples, "db.events")).toEqual([
      { kind: "too-many-parts", table: "db.events" },
      { kind: "insert-errors", sink: "clickhouse", count: 3 },
      { kind: "slow", sink: "clickhouse", p99Ms: 12_000, limitMs: 10_000 },
    ]);
  });

  it("ignores an idle partition's old report", () => {
    const samples = [
      withReports(t0, [100, 100], [report(200, 4, true), report(200)]),
      withReports(t0 + 10_000, [100, 300], [report(200, 4, true), report(300)]),
    ];
    expect(sinkPressureFromSamples(samples, "db.events")).toEqual([]);
  });
});

describe("progress, from the commit records", () => {
  /** One partition: committed offset, in-flight batch, reported insert time. */
  function record(
    at: number,
    committed: number | "none",
    inflight?: readonly [number, number],
    insertMs?: number,
    replicas = 1,
  ): OffsetSample {
    return {
      at,
      consumingReplicas: replicas,
      partitions: [
        {
          ...partition(0, 50_000, committed),
          inflight: inflight === undefined ? undefined : { first: inflight[0], last: inflight[1] },
          sinkReport:
            insertMs === undefined ? undefined : { insertMs, failedInserts: 0, tooManyParts: false },
        },
        {
          ...partition(1, 50_000, 40_000),
          sinkReport: { insertMs: 700, failedInserts: 0, tooManyParts: false },
        },
      ],
    };
  }

  it.each([
    {
      name: "one sample: unknown",
      samples: [record(t0, 100)],
      expected: { kind: "unknown", why: "only one offset sample" },
    },
    {
      name: "the committed offset moved: moving",
      samples: [record(t0, 100), record(t0 + 5_000, 2_100)],
      expected: { kind: "moving" },
    },
    {
      name: "a batch started at the same offset (an in-flight record appeared): moving",
      samples: [record(t0, 100), record(t0 + 5_000, 100, [100, 2_099])],
      expected: { kind: "moving" },
    },
    {
      name: "the first commit of a group that never committed: moving",
      samples: [record(t0, "none"), record(t0 + 5_000, 0, [0, 1_999])],
      expected: { kind: "moving" },
    },
    {
      name: "the same records over three samples: stalled for 10s, slowest reported insert",
      samples: [
        record(t0, 100),
        record(t0 + 5_000, 100, [100, 2_099], 1_500),
        record(t0 + 10_000, 100, [100, 2_099], 1_500),
        record(t0 + 15_000, 100, [100, 2_099], 1_500),
      ],
      expected: { kind: "stalled", forMs: 10_000, samples: 3, slowestInsertMs: 1_500 },
    },
    {
      name: "no partition reports an insert: stalled, slowest unknown",
      samples: [
        { ...record(t0, 0, [0, 1_999]), partitions: [partition(0, 9_000, 0)] },
        { ...record(t0 + 5_000, 0, [0, 1_999]), partitions: [partition(0, 9_500, 0)] },
      ],
      expected: { kind: "stalled", forMs: 5_000, samples: 2, slowestInsertMs: undefined },
    },
    {
      name: "ready replicas flapping (a crash loop) do not reset it: the commit records are the evidence",
      samples: [
        record(t0, 100, [100, 2_099], 900, 1),
        record(t0 + 5_000, 100, [100, 2_099], 900, 0),
        record(t0 + 10_000, 100, [100, 2_099], 900, 1),
      ],
      expected: { kind: "stalled", forMs: 10_000, samples: 3, slowestInsertMs: 900 },
    },
    {
      name: "committed offsets not reported: unknown",
      samples: [
        record(t0, 100),
        { ...record(t0 + 5_000, 100), partitions: [partition(0, 50_000, "unknown")] },
      ],
      expected: { kind: "unknown", why: "committed offsets not reported" },
    },
  ])("$name", ({ samples, expected }) => {
    const latest = samples.at(-1)?.at ?? t0;
    expect(signals(samples, { now: latest }).progress).toEqual(expected);
  });
});

describe("drain time, at the newest interval's rates", () => {
  it.each([
    {
      name: "each partition's lag over its net rate; the slowest decides",
      samples: [
        sample(t0, 1, [
          [40_000, 10_000],
          [40_000, 30_000],
        ]),
        sample(t0 + 5_000, 1, [
          [40_000, 20_000],
          [41_000, 36_000],
        ]),
      ],
      // 20,000 at 2,000/s; 5,000 at 1,200 − 200/s.
      expected: { kind: "known", value: 10 },
    },
    {
      name: "only the newest interval counts: a burst earlier in the window does not hide that input stopped",
      samples: [
        sample(t0, 1, [[0, 0]]),
        sample(t0 + 5_000, 1, [[60_000, 10_000]]),
        sample(t0 + 10_000, 1, [[60_000, 25_000]]),
        sample(t0 + 15_000, 1, [[60_000, 40_000]]),
      ],
      expected: { kind: "known", value: 20_000 / 3_000 },
    },
    {
      name: "no lag: drained",
      samples: [sample(t0, 1, [[1_000, 1_000]]), sample(t0 + 5_000, 1, [[2_000, 2_000]])],
      expected: { kind: "known", value: 0 },
    },
    {
      name: "a lag that does not shrink: unknown, naming the partition",
      samples: [
        sample(t0, 1, [
          [10_000, 10_000],
          [10_000, 5_000],
        ]),
        sample(t0 + 5_000, 1, [
          [20_000, 20_000],
          [20_000, 10_000],
        ]),
      ],
      expected: { kind: "unknown", why: "the lag of orders-1 did not shrink over the newest 5s" },
    },
    {
      name: "the group rebalanced within the interval: unknown",
      samples: [sample(t0, 1, [[40_000, 10_000]]), sample(t0 + 5_000, 2, [[40_000, 30_000]])],
      expected: { kind: "unknown", why: "the group rebalanced within the newest interval" },
    },
    {
      name: "one sample: unknown",
      samples: [sample(t0, 1, [[40_000, 10_000]])],
      expected: { kind: "unknown", why: "no offset sample 5s to 15s before the newest" },
    },
  ])("$name", ({ samples, expected }) => {
    const latest = samples.at(-1)?.at ?? t0;
    expect(signals(samples, { now: latest }).drainSeconds).toEqual(expected);
  });
});
