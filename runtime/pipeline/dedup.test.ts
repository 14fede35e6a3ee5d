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

  it("matches ids by value across types the field can hold", () => {
    const d = new DedupState(1000);
    d.record(42, 0, 0);
    expect(d.isDuplicate(42, 0)).toBe(true);
  });
});
