import { describe, expect, it } from "vitest";
import type { SessionWindowSpec } from "../../contracts/windows/window-spec.js";
import { examplePlan } from "../../test/support/fixtures/runtime-fixtures.js";
import { rebuildLowerBound, sessionLookbackSafe } from "./rebuild-range.js";

describe("rebuildLowerBound", () => {
  it("takes the furthest reach of dedup and every window", () => {
    // Example: ooo 5s, lateness 1m, dedup 10m, tumbling 1m, sliding 5m, session 30m.
    const plan = examplePlan();
    const M = 1_000_000_000;
    expect(rebuildLowerBound(plan, M)).toBe(M - 5_000 - 60_000 - 30 * 60_000);
    const noSessions = examplePlan((s) => {
      s.windows = s.windows?.filter((w) => w.type !== "session");
    });
    expect(rebuildLowerBound(noSessions, M)).toBe(M - 10 * 60_000);
  });

  it("is -Infinity for a partition that emitted nothing", () => {
    expect(rebuildLowerBound(examplePlan(), Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe("sessionLookbackSafe", () => {
  const spec: SessionWindowSpec = {
    type: "session",
    name: "s",
    groupBy: ["user"],
    aggregations: [{ fn: "count" }],
    allowedLatenessMs: 0,
    gapMs: 100,
  };
  const rows = (user: string, times: number[]) => times.map((ts) => ({ user, ts }));

  it.each([
    ["a kept chain starting well after the bound", rows("a", [500, 550, 600]), 300, 640, true, Infinity],
    ["a kept chain starting within gap of the bound", rows("a", [350, 420, 500, 590]), 300, 640, false, 350],
    [
      "a chain within gap of the bound that is already purged",
      rows("a", [310, 380]),
      300,
      640,
      true,
      Infinity,
    ],
    [
      "only the at-risk key counts",
      [...rows("a", [900]), ...rows("b", [320, 400, 480, 560, 640])],
      300,
      700,
      false,
      320,
    ],
  ])("%s", (_label, input, lower, watermark, safe, earliest) => {
    expect(sessionLookbackSafe([spec], input, "ts", lower, watermark)).toEqual({
      safe,
      earliestChainStartMs: earliest,
    });
  });
});
