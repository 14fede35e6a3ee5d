import { describe, expect, it } from "vitest";
import {
  describeLiveWindowsCleanup,
  planLiveWindowsCleanup,
  prefixPattern,
} from "./pipeline-live-windows-cleanup.js";

const withRedis = { sink: { redis: { connectionSecretRef: { name: "tally-redis" } } } };

describe("planLiveWindowsCleanup", () => {
  it("deletes the pipeline's keys with Delete, from the Secret the sink names", () => {
    expect(planLiveWindowsCleanup("team-a", "clicks", "Delete", withRedis)).toEqual({
      action: "delete",
      secret: "tally-redis",
      prefix: "tally:{team-a/clicks}",
    });
  });

  it("keeps them with Retain, and has nothing to do without a Redis sink", () => {
    expect(planLiveWindowsCleanup("team-a", "clicks", "Retain", withRedis)).toMatchObject({ action: "keep" });
    expect(planLiveWindowsCleanup("team-a", "clicks", "Delete", { sink: {} })).toEqual({ action: "none" });
    // A spec that no longer validates is still read field by field.
    expect(planLiveWindowsCleanup("team-a", "clicks", "Delete", "not a spec")).toEqual({ action: "none" });
  });
});

describe("prefixPattern", () => {
  it("matches the prefix literally: glob characters are escaped, the hash tag's braces are not special", () => {
    expect(prefixPattern("tally:{team-a/clicks}")).toBe("tally:{team-a/clicks}*");
    expect(prefixPattern("a*b?c[d]e\\f")).toBe("a\\*b\\?c\\[d\\]e\\\\f*");
  });
});

describe("describeLiveWindowsCleanup", () => {
  it("says what happened to the live windows, and nothing for a pipeline without any", () => {
    expect(describeLiveWindowsCleanup({ kind: "none" })).toBeUndefined();
    expect(describeLiveWindowsCleanup({ kind: "deleted", keys: 3 })).toBe(
      "deleted 3 live-window keys from Redis",
    );
    expect(describeLiveWindowsCleanup({ kind: "skipped", why: "Secret gone" })).toBe(
      "live windows in Redis left to expire: Secret gone",
    );
  });
});
