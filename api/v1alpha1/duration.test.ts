import { describe, expect, it } from "vitest";
import { DurationError, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["0s", 0],
    ["500ms", 500],
    ["5s", 5000],
    ["1m", 60_000],
    ["1h30m", 5_400_000],
    ["2h0m5s250ms", 7_205_250],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(text, "spec.x")).toBe(ms);
  });

  it.each(["", "5", "s", "1d", "1.5s", "5 s", "-1s", "1m junk"])("refuses %j naming the field", (text) => {
    expect(() => parseDuration(text, "spec.eventTime.maxOutOfOrderness")).toThrow(DurationError);
    expect(() => parseDuration(text, "spec.eventTime.maxOutOfOrderness")).toThrow(
      /spec\.eventTime\.maxOutOfOrderness/,
    );
  });
});
