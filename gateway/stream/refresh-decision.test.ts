import { describe, expect, it } from "vitest";
import { afterRead, decideRefresh, type RefreshInput } from "./refresh-decision.js";

const live = { mode: "live" } as const;
const base: RefreshInput = {
  last: undefined,
  refresh: live,
  token: "t1",
  settled: true,
  range: "0/60000",
  nowMs: 10_000,
  untrackedEveryMs: 10_000,
};
const settled = afterRead({ token: "t1", settled: true, range: "0/60000", nowMs: 9_000 }, false);

describe("whether a panel is read this tick", () => {
  it("reads a panel never read", () => {
    expect(decideRefresh(base)).toEqual({ read: true, reason: "first" });
  });

  it("reads nothing while the token and the range stay (an idle pipeline)", () => {
    expect(decideRefresh({ ...base, last: settled })).toEqual({ read: false });
    expect(decideRefresh({ ...base, last: settled, nowMs: 1e9 })).toEqual({ read: false });
  });

  it("reads when the token moved; once, when the token was settled", () => {
    const input = { ...base, last: settled, token: "t2" };
    expect(decideRefresh(input)).toEqual({ read: true, reason: "changed" });
    const after = afterRead(input, false);
    expect(decideRefresh({ ...base, last: after, token: "t2" })).toEqual({ read: false });
  });

  it("reads once more after a read whose token was unsettled (a write may share its millisecond)", () => {
    const input = { ...base, last: settled, token: "t2", settled: false };
    expect(decideRefresh(input)).toEqual({ read: true, reason: "changed" });
    const after = afterRead(input, false);
    expect(decideRefresh({ ...base, last: after, token: "t2" })).toEqual({ read: true, reason: "recheck" });
    const rechecked = afterRead({ ...input, settled: true, nowMs: 11_000 }, false);
    expect(decideRefresh({ ...base, last: rechecked, token: "t2" })).toEqual({ read: false });
  });

  it("reads when a relative range slid past a bucket boundary, without new data", () => {
    expect(decideRefresh({ ...base, last: settled, range: "60000/120000" })).toEqual({
      read: true,
      reason: "slid",
    });
  });

  it("re-reads a pipeline without a token on the fallback period only", () => {
    const last = afterRead({ token: undefined, settled: false, range: "0/60000", nowMs: 0 }, false);
    expect(decideRefresh({ ...base, last, token: undefined, nowMs: 9_999 })).toEqual({ read: false });
    expect(decideRefresh({ ...base, last, token: undefined, nowMs: 10_000 })).toEqual({
      read: true,
      reason: "untracked",
    });
  });

  it("reads an interval panel on its period, whatever the token", () => {
    const refresh = { mode: "interval", everyMs: 5_000 } as const;
    expect(decideRefresh({ ...base, refresh, last: settled, token: "t9", nowMs: 13_999 })).toEqual({
      read: false,
    });
    expect(decideRefresh({ ...base, refresh, last: settled, nowMs: 14_000 })).toEqual({
      read: true,
      reason: "interval",
    });
  });

  it("retries a failed read on the next tick", () => {
    const failed = afterRead({ token: "t1", settled: true, range: "0/60000", nowMs: 9_000 }, true);
    expect(decideRefresh({ ...base, last: failed })).toEqual({ read: true, reason: "retry" });
  });
});
