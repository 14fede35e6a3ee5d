import { describe, expect, it } from "vitest";
import {
  hpaNormalize,
  hpaReplicasForAverageValue,
  initialKedaState,
  type KedaState,
  kedaDecide,
  kedaKafkaMetric,
  kedaKafkaScaler,
} from "./keda-policy.js";

const scaler = kedaKafkaScaler({ lagThreshold: 100, minReplicaCount: 1, maxReplicaCount: 12 });

describe("KEDA's Kafka metric", () => {
  it("is the total lag, capped at partitions × lagThreshold without idle consumers", () => {
    expect(kedaKafkaMetric(550, 12, scaler)).toBe(550);
    expect(kedaKafkaMetric(1_000_000, 12, scaler)).toBe(1_200);
    // Go integer division: 1,299 / 100 = 12, not above 12 partitions.
    expect(kedaKafkaMetric(1_299, 12, scaler)).toBe(1_299);
    expect(kedaKafkaMetric(1_000_000, 12, { ...scaler, allowIdleConsumers: true })).toBe(1_000_000);
  });

  it("validates its parameters", () => {
    expect(() => kedaKafkaScaler({ lagThreshold: 0 })).toThrow(/lagThreshold must be > 0/);
    expect(() => kedaKafkaScaler({ lagThreshold: 5, minReplicaCount: 3, maxReplicaCount: 2 })).toThrow(
      /exceeds/,
    );
  });
});

describe("the HPA's replica calculation", () => {
  it("keeps the current count within the 10% tolerance, else ceil(metric / target)", () => {
    expect(hpaReplicasForAverageValue(105, 100, 1, 0.1)).toBe(1);
    expect(hpaReplicasForAverageValue(111, 100, 1, 0.1)).toBe(2);
    expect(hpaReplicasForAverageValue(250, 100, 1, 0.1)).toBe(3);
    expect(hpaReplicasForAverageValue(0, 100, 4, 0.1)).toBe(0);
  });

  it("scales up by at most max(4 pods, 100%) per 15 s", () => {
    let state: KedaState = initialKedaState;
    let replicas = 1;
    const seen: number[] = [];
    for (let t = 0; t <= 45_000; t += 15_000) {
      const next = hpaNormalize(replicas, 12, state, scaler, t);
      state = next.state;
      replicas = next.replicas;
      seen.push(replicas);
    }
    expect(seen).toEqual([5, 10, 12, 12]);
  });

  it("scales down only to the highest recommendation of the last 300 s", () => {
    let state: KedaState = initialKedaState;
    let replicas = 8;
    const seen: [number, number][] = [];
    for (let t = 0; t <= 330_000; t += 15_000) {
      const next = hpaNormalize(replicas, 2, state, scaler, t);
      state = next.state;
      if (next.replicas !== replicas) seen.push([t, next.replicas]);
      replicas = next.replicas;
    }
    // The window starts seeded with the current count (maybeInitScaleDownStabilizationWindow).
    expect(seen).toEqual([[300_000, 2]]);
  });
});

describe("kedaDecide", () => {
  it("wakes from zero on activation and scales to zero after the cooldown period", () => {
    const toZero = kedaKafkaScaler({ lagThreshold: 100, activationLagThreshold: 10, maxReplicaCount: 12 });
    const woke = kedaDecide(50, 12, 0, initialKedaState, toZero, 0);
    expect(woke.replicas).toBe(1);
    const idle = kedaDecide(5, 12, 0, initialKedaState, toZero, 0);
    expect(idle.replicas).toBe(0);
    const stillCooling = kedaDecide(0, 12, 1, woke.state, toZero, 299_000);
    expect(stillCooling.replicas).toBe(1);
    expect(kedaDecide(0, 12, 1, woke.state, toZero, 300_000).replicas).toBe(0);
  });

  it("never goes beyond the partition count or below minReplicaCount", () => {
    expect(kedaDecide(1_000_000, 6, 4, initialKedaState, scaler, 0).replicas).toBe(6);
    expect(kedaDecide(0, 6, 9, initialKedaState, scaler, 0).replicas).toBe(6);
    expect(kedaDecide(0, 6, 0, initialKedaState, scaler, 0).replicas).toBe(1);
  });
});
