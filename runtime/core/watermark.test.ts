import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type IdleAdvanceInput,
  idleAdvanceTarget,
  MAX_FLOORS,
  pruneFloors,
  WatermarkError,
  type WatermarkFloor,
  type WatermarkOptions,
  WatermarkTracker,
} from "./watermark.js";

type Step =
  | { add: string; now: number }
  | { remove: string }
  | { event: string; t: number; now: number }
  | { check: number; now: number };

const NEG = Number.NEGATIVE_INFINITY;
const options: WatermarkOptions = { maxOutOfOrdernessMs: 100, idleTimeoutMs: 1000 };

function run(steps: readonly Step[], opts: WatermarkOptions = options): void {
  const tracker = new WatermarkTracker(opts);
  steps.forEach((step, i) => {
    if ("add" in step) tracker.addPartition(step.add, step.now);
    else if ("remove" in step) tracker.removePartition(step.remove);
    else if ("event" in step) tracker.observe(step.event, step.t, step.now);
    else expect(tracker.current(step.now), `step ${i}`).toBe(step.check);
  });
}

describe("WatermarkTracker", () => {
  it.each<{ name: string; steps: Step[]; opts?: WatermarkOptions }>([
    { name: "no partitions: no watermark", steps: [{ check: NEG, now: 0 }] },
    {
      name: "one partition: max event time minus out-of-orderness",
      steps: [
        { add: "p0", now: 0 },
        { check: NEG, now: 0 },
        { event: "p0", t: 1000, now: 1 },
        { check: 900, now: 1 },
        { event: "p0", t: 950, now: 2 },
        { check: 900, now: 2 },
        { event: "p0", t: 2000, now: 3 },
        { check: 1900, now: 3 },
      ],
    },
    {
      name: "pipeline watermark is the minimum over partitions",
      steps: [
        { add: "p0", now: 0 },
        { add: "p1", now: 0 },
        { event: "p0", t: 5000, now: 1 },
        { check: NEG, now: 1 }, // p1 has no events yet and is not idle: it holds the watermark back
        { event: "p1", t: 3000, now: 2 },
        { check: 2900, now: 2 },
        { event: "p1", t: 9000, now: 3 },
        { check: 4900, now: 3 },
      ],
    },
    {
      name: "a partition idle for longer than the timeout stops holding the watermark back",
      steps: [
        { add: "p0", now: 0 },
        { add: "p1", now: 0 },
        { event: "p0", t: 5000, now: 500 },
        { event: "p1", t: 1000, now: 500 },
        { check: 900, now: 1000 },
        { event: "p0", t: 6000, now: 1400 },
        { check: 900, now: 1500 }, // p1 idle for exactly the timeout: still active
        { check: 5900, now: 1501 }, // idle for longer: excluded
      ],
    },
    {
      name: "a never-seen partition is excluded once idle",
      steps: [
        { add: "p0", now: 0 },
        { add: "p1", now: 0 },
        { event: "p0", t: 5000, now: 100 },
        { check: NEG, now: 1000 },
        { check: 4900, now: 1001 },
      ],
    },
    {
      name: "the watermark never goes backwards when an idle partition resumes behind",
      steps: [
        { add: "p0", now: 0 },
        { add: "p1", now: 0 },
        { event: "p0", t: 5000, now: 2000 },
        { check: 4900, now: 2000 },
        { event: "p1", t: 100, now: 2001 },
        { check: 4900, now: 2001 },
        { event: "p1", t: 7000, now: 2002 },
        { event: "p0", t: 8000, now: 2002 },
        { check: 6900, now: 2002 },
      ],
    },
    {
      name: "all partitions idle: the watermark holds",
      steps: [
        { add: "p0", now: 0 },
        { event: "p0", t: 5000, now: 0 },
        { check: 4900, now: 0 },
        { check: 4900, now: 10_000 },
        { event: "p0", t: 6000, now: 10_001 },
        { check: 5900, now: 10_001 },
      ],
    },
    {
      name: "a revoked partition no longer counts; the watermark does not drop when a new one joins",
      steps: [
        { add: "p0", now: 0 },
        { add: "p1", now: 0 },
        { event: "p0", t: 5000, now: 1 },
        { event: "p1", t: 1000, now: 1 },
        { check: 900, now: 1 },
        { remove: "p1" },
        { check: 4900, now: 2 },
        { add: "p2", now: 3 },
        { check: 4900, now: 3 },
        { event: "p2", t: 10, now: 4 },
        { check: 4900, now: 4 },
      ],
    },
    {
      name: "re-adding a tracked partition keeps its state",
      steps: [
        { add: "p0", now: 0 },
        { event: "p0", t: 5000, now: 1 },
        { add: "p0", now: 2 },
        { check: 4900, now: 2 },
      ],
    },
    {
      name: "zero out-of-orderness and infinite idle timeout",
      opts: { maxOutOfOrdernessMs: 0, idleTimeoutMs: Number.POSITIVE_INFINITY },
      steps: [
        { add: "p0", now: 0 },
        { add: "p1", now: 0 },
        { event: "p0", t: 10, now: 0 },
        { check: NEG, now: 1e15 },
        { event: "p1", t: 20, now: 1e15 },
        { check: 10, now: 1e15 },
      ],
    },
    {
      name: "negative event times",
      steps: [
        { add: "p0", now: 0 },
        { event: "p0", t: -5000, now: 0 },
        { check: -5100, now: 0 },
      ],
    },
  ])("$name", ({ steps, opts }) => {
    run(steps, opts);
  });

  it.each<[string, WatermarkOptions]>([
    ["negative out-of-orderness", { maxOutOfOrdernessMs: -1, idleTimeoutMs: 1 }],
    ["infinite out-of-orderness", { maxOutOfOrdernessMs: Number.POSITIVE_INFINITY, idleTimeoutMs: 1 }],
    ["zero idle timeout", { maxOutOfOrdernessMs: 0, idleTimeoutMs: 0 }],
    ["NaN idle timeout", { maxOutOfOrdernessMs: 0, idleTimeoutMs: Number.NaN }],
  ])("rejects %s", (_name, opts) => {
    expect(() => new WatermarkTracker(opts)).toThrow(WatermarkError);
  });

  it("rejects events on unknown partitions and non-finite event times, naming the partition", () => {
    const tracker = new WatermarkTracker(options);
    expect(() => tracker.observe("orders-3", 1, 0)).toThrow(/"orders-3".*never added/);
    tracker.addPartition("orders-3", 0);
    expect(() => tracker.observe("orders-3", Number.NaN, 0)).toThrow(/NaN.*"orders-3"/);
  });

  it("reports per-partition state", () => {
    const tracker = new WatermarkTracker(options);
    tracker.addPartition("b", 0);
    tracker.addPartition("a", 0);
    tracker.observe("a", 500, 10);
    expect(tracker.partitions(1005)).toEqual([
      { partition: "a", maxEventTimeMs: 500, watermarkMs: 400, lastActivityMs: 10, idle: false },
      { partition: "b", maxEventTimeMs: null, watermarkMs: NEG, lastActivityMs: 0, idle: true },
    ]);
  });

  it("property: monotonic, never above any active partition's watermark, and equal to the min when all are active", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("event" as const),
        p: fc.nat(3),
        t: fc.integer({ min: -1e6, max: 1e6 }),
        dt: fc.nat(600),
      }),
      fc.record({ kind: fc.constant("check" as const), dt: fc.nat(600) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.nat(500), (ops, bound) => {
        const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: bound, idleTimeoutMs: 1000 });
        let now = 0;
        for (let p = 0; p < 4; p++) tracker.addPartition(`p${p}`, now);
        let previous = NEG;
        for (const step of ops) {
          now += step.dt;
          if (step.kind === "event") tracker.observe(`p${step.p}`, step.t, now);
          const wm = tracker.current(now);
          expect(wm).toBeGreaterThanOrEqual(previous);
          const active = tracker.partitions(now).filter((p) => !p.idle);
          const minActive = Math.min(...active.map((p) => p.watermarkMs));
          if (active.length > 0 && minActive >= previous) expect(wm).toBe(minActive);
          else expect(wm).toBe(previous);
          previous = wm;
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("idle advance", () => {
  const now = 1_000_000_000;
  const base: IdleAdvanceInput = {
    nowMs: now,
    lastActivityMs: now - 30_000,
    idleTimeoutMs: 30_000,
    maxOutOfOrdernessMs: 5_000,
    watermarkMs: now - 3_600_000,
    nextDueMs: now - 3_000_000,
    backlog: 0,
  };

  it.each<[string, Partial<IdleAdvanceInput>, number | undefined]>([
    ["idle for idleTimeout with a window due: now − maxOutOfOrderness", {}, now - 5_000],
    ["a record less than idleTimeout ago", { lastActivityMs: now - 29_999 }, undefined],
    ["no window open", { nextDueMs: Number.POSITIVE_INFINITY }, undefined],
    ["the next window is due after now − maxOutOfOrderness", { nextDueMs: now - 4_999 }, undefined],
    ["due exactly at the target", { nextDueMs: now - 5_000 }, now - 5_000],
    [
      "the watermark is already there (event time ahead of the clock)",
      { watermarkMs: now - 5_000 },
      undefined,
    ],
    ["idleness disabled", { idleTimeoutMs: Number.POSITIVE_INFINITY }, undefined],
    ["silent but with a backlog still to read (not fetched lately)", { backlog: 3 }, undefined],
    ["silent, backlog not yet looked up", { backlog: undefined }, undefined],
  ])("%s", (_name, patch, expected) => {
    expect(idleAdvanceTarget({ ...base, ...patch })).toBe(expected);
  });

  it("property: an advance is always above the watermark, at or past the next due time, and only when idle with nothing left to read", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 120_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: -600_000, max: 600_000 }),
        fc.integer({ min: -600_000, max: 600_000 }),
        fc.option(fc.nat({ max: 3 })),
        (silentMs, idleTimeoutMs, maxOutOfOrdernessMs, watermarkOffset, dueOffset, backlog) => {
          const input = {
            nowMs: now,
            lastActivityMs: now - silentMs,
            idleTimeoutMs,
            maxOutOfOrdernessMs,
            watermarkMs: now + watermarkOffset,
            nextDueMs: now + dueOffset,
            backlog: backlog ?? undefined,
          };
          const target = idleAdvanceTarget(input);
          const expected =
            silentMs >= idleTimeoutMs &&
            backlog === 0 &&
            now - maxOutOfOrdernessMs > input.watermarkMs &&
            input.nextDueMs <= now - maxOutOfOrdernessMs;
          expect(target !== undefined).toBe(expected);
          if (target !== undefined) expect(target).toBe(now - maxOutOfOrdernessMs);
        },
      ),
    );
  });

  const f = (offset: number, watermarkMs: number): WatermarkFloor => ({ offset, watermarkMs });

  it("pruneFloors: with sessions, drops floors whose held-back records are all below the rebuild bound, then the oldest", () => {
    // floor + maxOutOfOrderness (5) must be above the bound (150) to be kept
    expect(pruneFloors([f(1, 100), f(2, 145), f(3, 146), f(4, 300)], true, 150, 5)).toEqual([
      f(3, 146),
      f(4, 300),
    ]);
    const many = Array.from({ length: MAX_FLOORS + 3 }, (_, i) => f(i, 1_000 + i));
    expect(pruneFloors(many, true, 0, 0)).toEqual(many.slice(3));
  });

  it("pruneFloors: without sessions, only the latest floor (the watermark a rebuild starts from)", () => {
    expect(pruneFloors([f(1, 100), f(2, 145), f(4, 300)], false, 0, 5)).toEqual([f(4, 300)]);
    expect(pruneFloors([], false, 0, 5)).toEqual([]);
  });
});
