import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DedupState } from "./dedup.js";

describe("DedupState", () => {
  it("finds an id emitted within the horizon of the newest event time", () => {
    const d = new DedupState(1000);
    d.record("a", 5000, 5000);
    expect(d.isDuplicate("a", 5000)).toBe(true);
    expect(d.isDuplicate("a", 6000)).toBe(true);
    expect(d.isDuplicate("a", 6001)).toBe(false);
    expect(d.isDuplicate("b", 5000)).toBe(false);
  });

  it("never treats a null id as a duplicate", () => {
    const d = new DedupState(1000);
    d.record(null, 1, 1);
    expect(d.isDuplicate(null, 1)).toBe(false);
    expect(d.size).toBe(0);
  });

  it("evicts ids behind the horizon, and decisions do not depend on when eviction ran", () => {
    const d = new DedupState(100);
    for (let t = 0; t < 1000; t += 10) d.record(`e${t}`, t, t);
    expect(d.size).toBeLessThanOrEqual(12);
    // An out-of-order old id may linger, but it is never reported as a duplicate.
    d.record("old", 850, 990);
    expect(d.isDuplicate("old", 990)).toBe(false);
    expect(d.isDuplicate("e950", 990)).toBe(true);
  });

  it("keeps the newest time of an id whether or not it was just asked about", () => {
    const d = new DedupState(1000);
    d.record("a", 5000, 5000);
    expect(d.isDuplicate("a", 5000)).toBe(true);
    d.record("a", 4000, 5000); // older: the stored 5000 stays
    d.record("a", 4000, 5000);
    expect(d.isDuplicate("a", 6000)).toBe(true);
    expect(d.isDuplicate("b", 6000)).toBe(false);
    d.record("a", 5500, 6000); // asked about b, records a: its own lookup
    expect(d.isDuplicate("a", 6500)).toBe(true);
  });

  it("matches ids by value across types the field can hold", () => {
    const d = new DedupState(1000);
    d.record(42, 0, 0);
    expect(d.isDuplicate(42, 0)).toBe(true);
  });

  it("property: decisions equal the rule's definition (every emitted id remembered, nothing evicted)", () => {
    const event = fc.record({
      id: fc.option(fc.integer({ min: 0, max: 40 }).map(String), { freq: 20 }),
      dt: fc.integer({ min: -300, max: 200 }),
    });
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1500, maxLength: 3000 }),
        fc.integer({ min: 0, max: 500 }),
        (events, horizon) => {
          const state = new DedupState(horizon);
          const emitted = new Map<string, number>();
          let newest = Number.NEGATIVE_INFINITY;
          let clock = 0;
          for (const { id, dt } of events) {
            clock = Math.max(0, clock + dt);
            const previous = id === null ? undefined : emitted.get(id);
            const expected = previous !== undefined && previous >= newest - horizon;
            expect(state.isDuplicate(id, newest)).toBe(expected);
            if (expected) continue;
            newest = Math.max(newest, clock);
            if (id !== null && (previous === undefined || clock > previous)) emitted.set(id, clock);
            state.record(id, clock, newest);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});
