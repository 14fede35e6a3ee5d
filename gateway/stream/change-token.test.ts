import { describe, expect, it } from "vitest";
import { changeToken, tokenSettled } from "./change-token.js";

describe("change tokens", () => {
  it("do not depend on the order Redis lists a hash's fields in", () => {
    expect(changeToken({ "t:1": "5", "t:0": "7" }, [100, 200])).toBe(
      changeToken({ "t:0": "7", "t:1": "5" }, [100, 200]),
    );
  });

  it("move with a watermark, or with an expiry alone (a write that moved no watermark)", () => {
    const base = changeToken({ "t:0": "7" }, [100, 200]);
    expect(changeToken({ "t:0": "8" }, [100, 200])).not.toBe(base);
    expect(changeToken({ "t:0": "7" }, [101, 200])).not.toBe(base);
    expect(changeToken({ "t:0": "7" }, [100, 201])).not.toBe(base);
  });

  it("are settled only when every write behind them is older than Redis's clock at the read", () => {
    const ttl = 3_600_000;
    // Written at 999 and 1000; read at 1001: a write after the read lands at 1001 or later.
    expect(tokenSettled([999 + ttl, 1000 + ttl], ttl, 1001)).toBe(true);
    // Written at 1001, read at 1001: another write at 1001 would leave the same expiry.
    expect(tokenSettled([999 + ttl, 1001 + ttl], ttl, 1001)).toBe(false);
    // Absent keys (-2) or keys without expiry (-1) have no pending write.
    expect(tokenSettled([-2, -1], ttl, 1001)).toBe(true);
  });
});
