import { describe, expect, it } from "vitest";
import { changeToken } from "./change-token.js";

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
});
