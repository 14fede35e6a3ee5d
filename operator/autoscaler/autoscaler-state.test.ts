import { describe, expect, it } from "vitest";
import {
  type AutoscalerState,
  decodeAutoscalerState,
  encodeAutoscalerState,
  initialAutoscalerState,
  maxRecommendations,
  recommendationRange,
  recordRecommendation,
} from "./autoscaler-state.js";

const minute = 60_000;

describe("autoscaler state in the Pipeline's status", () => {
  it("round-trips through JSON exactly", () => {
    const state: AutoscalerState = {
      version: 1,
      recommendations: [
        { at: 1_000, replicas: 2 },
        { at: 16_000, replicas: 6 },
      ],
      lastScaleAt: 16_000,
      capacity: { perReplica: 20_000.5, at: 16_000 },
      sinkPressureAt: 1_000,
    };
    const stored = JSON.parse(JSON.stringify(encodeAutoscalerState(state))) as unknown;
    expect(decodeAutoscalerState(stored)).toEqual({ ok: true, state });
  });

  it("starts fresh when there is no state yet", () => {
    expect(decodeAutoscalerState(undefined)).toEqual({ ok: true, state: initialAutoscalerState });
  });

  it("starts fresh, and says where, when the stored state is not readable", () => {
    const decoded = decodeAutoscalerState({
      version: 1,
      recommendations: [{ at: "yesterday", replicas: 2 }],
    });
    expect(decoded.ok).toBe(false);
    expect(decoded.state).toEqual(initialAutoscalerState);
    expect(!decoded.ok && decoded.error).toMatch(
      /^status\.autoscaler is not a valid autoscaler state at \/recommendations\/0\/at/,
    );
    expect(decodeAutoscalerState({ version: 2, recommendations: [] }).ok).toBe(false);
  });
});

describe("recommendations as a step function", () => {
  it("adds an entry only when the value changes", () => {
    let steps = recordRecommendation([], { at: 0, replicas: 2 }, 5 * minute);
    steps = recordRecommendation(steps, { at: 15_000, replicas: 2 }, 5 * minute);
    steps = recordRecommendation(steps, { at: 30_000, replicas: 4 }, 5 * minute);
    expect(steps).toEqual([
      { at: 0, replicas: 2 },
      { at: 30_000, replicas: 4 },
    ]);
  });

  it("forgets what no window can see, keeping the entry still in force at the window's start", () => {
    const steps = [
      { at: 0, replicas: 1 },
      { at: minute, replicas: 3 },
      { at: 2 * minute, replicas: 5 },
    ];
    expect(recordRecommendation(steps, { at: 7 * minute, replicas: 2 }, 5 * minute)).toEqual([
      { at: 2 * minute, replicas: 5 },
      { at: 7 * minute, replicas: 2 },
    ]);
  });

  it(`keeps at most ${maxRecommendations} entries`, () => {
    let steps: { at: number; replicas: number }[] = [];
    for (let i = 0; i < 300; i++)
      steps = recordRecommendation(steps, { at: i * 1000, replicas: i % 2 }, 60 * minute);
    expect(steps).toHaveLength(maxRecommendations);
    expect(steps.at(-1)).toEqual({ at: 299_000, replicas: 1 });
  });

  it("ranges over every entry in force within the window", () => {
    const steps = [
      { at: 0, replicas: 6 },
      { at: 2 * minute, replicas: 3 },
      { at: 4 * minute, replicas: 4 },
    ];
    expect(recommendationRange(steps, 6 * minute, 5 * minute)).toEqual({ min: 3, max: 6 });
    expect(recommendationRange(steps, 8 * minute, 5 * minute)).toEqual({ min: 3, max: 4 });
    expect(recommendationRange(steps, 8 * minute, 0)).toEqual({ min: 4, max: 4 });
    expect(recommendationRange([], 8 * minute, 0)).toBeUndefined();
  });
});
