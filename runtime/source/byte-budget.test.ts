import { describe, expect, it } from "vitest";
import { ByteBudget } from "./byte-budget.js";

describe("ByteBudget", () => {
  const budget = () => new ByteBudget({ budgetBytes: 1000, headroomBytes: 100, resumeFraction: 0.5 });

  it("pauses at budget minus headroom and resumes below half the budget", () => {
    const b = budget();
    expect(b.shouldPause(899)).toBe(false);
    expect(b.shouldPause(900)).toBe(true);
    expect(b.shouldResume(600)).toBe(false);
    expect(b.shouldResume(499)).toBe(true);
    expect(b.maxObservedBytes).toBe(900);
  });

  it("refuses a headroom that leaves no room", () => {
    expect(() => new ByteBudget({ budgetBytes: 10, headroomBytes: 10, resumeFraction: 0.5 })).toThrow(
      RangeError,
    );
  });
});
