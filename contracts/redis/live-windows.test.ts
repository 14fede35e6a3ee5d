import { describe, expect, it } from "vitest";
import type { WindowResult } from "../windows/window-results.js";
import {
  decodeShare,
  encodeShareBody,
  liveWindowIndexKey,
  liveWindowKey,
  liveWindowMember,
  redisPrefix,
  shareField,
  watermarksKey,
} from "./live-windows.js";

const upsert: WindowResult = {
  kind: "upsert",
  windowName: "events_per_minute",
  windowStart: 1_800_000_000_000,
  windowEnd: 1_800_000_060_000,
  groupKey: ["click", null, 3],
  revision: 2,
  states: { events: "c:5" },
  results: { events: 5, revenue: null },
};

describe("the Redis live-window layout", () => {
  it("names every key under the pipeline's hash-tagged prefix", () => {
    const prefix = redisPrefix("shop", "clickstream");
    expect(prefix).toBe("tally:{shop/clickstream}");
    const member = liveWindowMember(upsert);
    expect(member).toBe('1800000000000:["click",null,3]');
    expect(liveWindowKey(prefix, "events_per_minute", member)).toBe(
      'tally:{shop/clickstream}:w:events_per_minute:1800000000000:["click",null,3]',
    );
    expect(liveWindowIndexKey(prefix, "events_per_minute")).toBe(
      "tally:{shop/clickstream}:i:events_per_minute",
    );
    expect(watermarksKey(prefix)).toBe("tally:{shop/clickstream}:wm");
    expect(shareField("clicks", 7)).toBe("clicks:7");
  });

  it("reads back what the writer stores, with the stored version as the revision", () => {
    const stored = `41|${encodeShareBody(upsert)}`;
    expect(decodeShare("events_per_minute", liveWindowMember(upsert), stored)).toEqual({
      ...upsert,
      revision: 41,
    });
  });

  it("reads a retracted session as nothing", () => {
    const retract: WindowResult = {
      kind: "retract",
      windowName: "sessions",
      windowStart: 10,
      windowEnd: 20,
      groupKey: ["u1"],
      revision: 3,
    };
    expect(
      decodeShare("sessions", liveWindowMember(retract), `9|${encodeShareBody(retract)}`),
    ).toBeUndefined();
  });
});
