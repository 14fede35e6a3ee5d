import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluationOffsetMs, firstEvaluationMs, nextSlotMs, slotAfter } from "./rule-schedule.js";

describe("evaluationOffsetMs", () => {
  it("is stable per rule, within the interval, and spreads 1,000 rules over it", () => {
    expect(evaluationOffsetMs("a", "r", 10_000)).toBe(evaluationOffsetMs("a", "r", 10_000));
    const perSecond = new Array<number>(10).fill(0);
    for (let i = 0; i < 1_000; i++) {
      const offset = evaluationOffsetMs("bench", `rule-${i}`, 10_000);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(10_000);
      const second = Math.floor(offset / 1_000);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
    }
    // ~100 in each second of the interval, none crowded.
    expect(Math.min(...perSecond)).toBeGreaterThan(60);
    expect(Math.max(...perSecond)).toBeLessThan(140);
  });

  it("refuses an interval that is not positive", () => {
    expect(() => evaluationOffsetMs("a", "r", 0)).toThrow(/intervalMs/);
  });
});

describe("nextSlotMs", () => {
  it.each([
    [0, 10_000, 3_000, 3_000],
    [3_000, 10_000, 3_000, 3_000],
    [3_001, 10_000, 3_000, 13_000],
    [1_700_000_000_123, 10_000, 2_500, 1_700_000_002_500],
  ])("at %i, interval %i, offset %i: %i", (at, interval, offset, slot) => {
    expect(nextSlotMs(at, interval, offset)).toBe(slot);
  });

  it("is the first slot at or after the instant", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.nat(),
        (at, interval, o) => {
          const offset = o % interval;
          const slot = nextSlotMs(at, interval, offset);
          expect(slot).toBeGreaterThanOrEqual(at);
          expect(slot - interval).toBeLessThan(at);
          expect((((slot - offset) % interval) + interval) % interval).toBe(0);
        },
      ),
    );
  });
});

describe("slotAfter", () => {
  it("is the next slot when the evaluation ended in time", () => {
    expect(slotAfter(13_000, 13_400, 10_000, 3_000)).toBe(23_000);
  });
  it("skips the slots an overrunning evaluation missed (one evaluation per interval, no catch-up)", () => {
    expect(slotAfter(13_000, 35_100, 10_000, 3_000)).toBe(43_000);
    expect(slotAfter(13_000, 33_000, 10_000, 3_000)).toBe(33_000);
  });
  it("takes a changed interval at the next slot", () => {
    expect(slotAfter(13_000, 13_400, 4_000, 1_000)).toBe(17_000);
  });
});

describe("firstEvaluationMs", () => {
  it("evaluates a rule never evaluated at once, then on its slots", () => {
    // Interval 5m, offset 1m, seen at 2m: now, not at 6m.
    expect(firstEvaluationMs(120_000, 300_000, 60_000, false)).toBe(120_000);
    expect(slotAfter(120_000, 121_000, 300_000, 60_000)).toBe(360_000);
  });

  it("takes a rule evaluated before (a restart, a handover) at its next slot", () => {
    expect(firstEvaluationMs(120_000, 300_000, 60_000, true)).toBe(360_000);
    expect(firstEvaluationMs(60_000, 300_000, 60_000, true)).toBe(60_000);
  });
});
