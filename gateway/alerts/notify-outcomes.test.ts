import { describe, expect, it } from "vitest";
import { ChannelOutcomes } from "./notify-outcomes.js";

describe("ChannelOutcomes", () => {
  const now = Date.now();
  const key = (channel: string, ruleName = "errors") => ({ ruleNamespace: "shop", ruleName, channel });

  it("counts failures in a row per channel and resets on success", () => {
    const outcomes = new ChannelOutcomes();
    outcomes.record(key("pager"), now, false, "HTTP 503");
    outcomes.record(key("pager"), now + 1, false, "HTTP 503");
    outcomes.record(key("am"), now + 2, true, "sent 1 alert(s)");
    expect(outcomes.forRule("shop", "errors")).toEqual([
      {
        channel: "am",
        lastAttempt: new Date(now + 2).toISOString(),
        ok: true,
        message: "sent 1 alert(s)",
        consecutiveFailures: 0,
      },
      {
        channel: "pager",
        lastAttempt: new Date(now + 1).toISOString(),
        ok: false,
        message: "HTTP 503",
        consecutiveFailures: 2,
      },
    ]);
    expect(outcomes.record(key("pager"), now + 3, true, "delivered").consecutiveFailures).toBe(0);
    expect(outcomes.record(key("pager"), now + 4, false, "HTTP 500").consecutiveFailures).toBe(1);
  });

  it("keeps rules apart (channel names are unique within a rule only) and forgets a deleted rule", () => {
    const outcomes = new ChannelOutcomes();
    outcomes.record(key("pager", "a"), now, false, "HTTP 503");
    outcomes.record(key("pager", "b"), now, true, "delivered");
    expect(outcomes.forRule("shop", "a").map((o) => o.ok)).toEqual([false]);
    expect(outcomes.forRule("shop", "b").map((o) => o.ok)).toEqual([true]);
    outcomes.forget("shop", "a");
    expect(outcomes.forRule("shop", "a")).toEqual([]);
  });
});
