import { describe, expect, it } from "vitest";
import { maxPartitionsPerReplica, roundRobinAssignment } from "../../../operator/autoscaler/assignment.js";
import {
  advance,
  type ConsumerGroupModel,
  fairShares,
  initialGroupState,
  type LoadTrace,
  type ReplayAutoscaler,
  replay,
  sampleOffsets,
  setReplicas,
  totalLag,
} from "./consumer-group-simulator.js";

const model: ConsumerGroupModel = {
  topic: "orders",
  partitions: 4,
  capacityPerReplica: 1_000,
  rebalancePauseMs: 5_000,
};

const even = (rate: number) => ({ inputRates: [rate, rate, rate, rate], sinkPressure: [] });

describe("round-robin assignment", () => {
  it("deals partitions out in turn, like kafkajs' default assigner", () => {
    expect(roundRobinAssignment(5, 2)).toEqual([
      [0, 2, 4],
      [1, 3],
    ]);
    expect(roundRobinAssignment(2, 3)).toEqual([[0], [1], []]);
    expect(maxPartitionsPerReplica(12, 5)).toBe(3);
    expect(() => roundRobinAssignment(3, -1)).toThrow(/replicas must be a non-negative integer, got -1/);
  });
});

describe("fairShares", () => {
  it("gives small demands what they ask and shares the rest equally", () => {
    expect(fairShares([100, 1_000, 1_000], 900)).toEqual([100, 400, 400]);
    expect(fairShares([10, 20], 100)).toEqual([10, 20]);
    expect(fairShares([], 100)).toEqual([]);
  });
});

describe("consumer group", () => {
  it("processes at most capacity per replica and lets the rest queue", () => {
    let state = initialGroupState(model, 2);
    for (let i = 0; i < 10; i++) state = advance(state, model, even(600), 1_000);
    // 2,400/s arrive, 2,000/s are processed.
    expect(totalLag(state)).toBeCloseTo(4_000);
  });

  it("stops the whole group for the rebalance pause when replicas change", () => {
    let state = initialGroupState(model, 4);
    state = setReplicas(state, model, 2);
    for (let i = 0; i < 5; i++) state = advance(state, model, even(100), 1_000);
    expect(totalLag(state)).toBeCloseTo(2_000);
    // Back at 2,000/s against 400/s arriving: 1,600/s off the backlog.
    state = advance(state, model, even(100), 1_000);
    expect(totalLag(state)).toBeCloseTo(400);
    state = advance(state, model, even(100), 1_000);
    expect(totalLag(state)).toBe(0);
    expect(setReplicas(state, model, 2)).toBe(state);
  });

  it("is limited by a slow sink however many replicas there are", () => {
    let four = initialGroupState(model, 4);
    let two = initialGroupState(model, 2);
    const slow = { ...even(1_000), sinkLimit: 1_500 };
    for (let i = 0; i < 10; i++) {
      four = advance(four, model, slow, 1_000);
      two = advance(two, model, slow, 1_000);
    }
    expect(totalLag(four)).toBeCloseTo(25_000);
    expect(totalLag(two)).toBeCloseTo(25_000);
  });

  it("reports offsets as the admin API would", () => {
    let state = initialGroupState(model, 1);
    state = advance(state, model, { inputRates: [1_500, 0, 0, 0], sinkPressure: [] }, 1_000);
    expect(sampleOffsets(state, model)).toEqual({
      at: 1_000,
      consumingReplicas: 1,
      partitions: [
        { topic: "orders", partition: 0, endOffset: 1_500, committed: { kind: "committed", offset: 1_000 } },
        { topic: "orders", partition: 1, endOffset: 0, committed: { kind: "committed", offset: 0 } },
        { topic: "orders", partition: 2, endOffset: 0, committed: { kind: "committed", offset: 0 } },
        { topic: "orders", partition: 3, endOffset: 0, committed: { kind: "committed", offset: 0 } },
      ],
    });
  });
});

describe("replay", () => {
  const trace: LoadTrace = {
    name: "burst",
    description: "one minute at 4x",
    durationMs: 5 * 60_000,
    partitions: 4,
    initialReplicas: 1,
    at: (ms) => even(ms >= 60_000 && ms < 120_000 ? 800 : 200),
  };
  // Scales to 4 while there is any lag, back to 1 when there is none.
  const naive: ReplayAutoscaler<number> = {
    name: "naive",
    initialState: 0,
    decide(decisions, observation) {
      const latest = observation.samples.at(-1);
      const lag = (latest?.partitions ?? []).reduce(
        (sum, p) => sum + (p.endOffset ?? 0) - (p.committed.kind === "committed" ? p.committed.offset : 0),
        0,
      );
      return { replicas: lag > 0 ? 4 : 1, state: decisions + 1, reason: `lag ${lag}` };
    },
  };

  it("is deterministic and records every action", () => {
    const first = replay(trace, model, naive);
    expect(replay(trace, model, naive)).toEqual(first);
    expect(first.points).toHaveLength(300);
    // The burst starts at 60 s; the first decision that sees its lag is at 75 s.
    expect(first.actions[0]).toEqual({
      at: 75_000,
      from: 1,
      to: 4,
      reason: expect.stringMatching(/^lag \d+/),
    });
    for (const [i, a] of first.actions.entries()) {
      expect(a.from).toBe(i === 0 ? 1 : first.actions[i - 1]?.to);
      expect(a.at % 15_000).toBe(0);
    }
    expect(first.points.at(-1)?.replicas).toBe(first.actions.at(-1)?.to);
  });

  it("refuses a trace with another partition count", () => {
    expect(() => replay({ ...trace, partitions: 3 }, model, naive)).toThrow(/has 3 partitions, the model 4/);
  });
});
