import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CommitMetadataError, formatCommitMetadata, parseCommitMetadata } from "./commit-metadata.js";

describe("commit metadata", () => {
  it.each([
    [
      { maxEventTimeMs: 1_700_000_000_123, inflight: { first: 100, last: 199 } },
      "tally/1 max=1700000000123 inflight=100-199",
    ],
    [{ maxEventTimeMs: 5, inflight: undefined }, "tally/1 max=5"],
    [{ maxEventTimeMs: Number.NEGATIVE_INFINITY, inflight: undefined }, "tally/1 max=none"],
    [
      {
        maxEventTimeMs: 5,
        inflight: { first: 7, last: 9 },
        sink: { insertMs: 1_250, failedInserts: 3, tooManyParts: true },
      },
      "tally/1 max=5 inflight=7-9 sink=1250ms/3f/parts",
    ],
    [
      {
        maxEventTimeMs: 5,
        inflight: undefined,
        sink: { insertMs: 40, failedInserts: 0, tooManyParts: false },
      },
      "tally/1 max=5 sink=40ms/0f",
    ],
    [
      {
        maxEventTimeMs: 5,
        inflight: { first: 12, last: 20 },
        floors: [
          { offset: 3, watermarkMs: 1_700_000_000_000 },
          { offset: 12, watermarkMs: 1_700_000_060_000 },
        ],
      },
      "tally/1 max=5 floors=3@1700000000000,12@1700000060000 inflight=12-20",
    ],
    [
      {
        maxEventTimeMs: 5,
        inflight: undefined,
        floors: [{ offset: 12, watermarkMs: 1_700_000_060_000 }],
        idleAdvanceInFlight: true,
        sink: { insertMs: 40, failedInserts: 0, tooManyParts: false },
      },
      "tally/1 max=5 floors=12@1700000060000 inflight=idle sink=40ms/0f",
    ],
  ])("formats %j", (metadata, text) => {
    expect(formatCommitMetadata(metadata)).toBe(text);
    expect(parseCommitMetadata(text, "t[0]")).toEqual(metadata);
  });

  it("round-trips", () => {
    fc.assert(
      fc.property(
        fc.maxSafeInteger(),
        fc.option(fc.tuple(fc.maxSafeNat(), fc.maxSafeNat())),
        (max, range) => {
          const inflight =
            range === null ? undefined : { first: Math.min(...range), last: Math.max(...range) };
          expect(parseCommitMetadata(formatCommitMetadata({ maxEventTimeMs: max, inflight }), "x")).toEqual({
            maxEventTimeMs: max,
            inflight,
          });
        },
      ),
    );
  });

  it("treats empty metadata as none and refuses foreign metadata naming the partition", () => {
    expect(parseCommitMetadata("", "t[0]")).toBeUndefined();
    expect(parseCommitMetadata(null, "t[0]")).toBeUndefined();
    expect(() => parseCommitMetadata("inflight:1-2", "clicks[3]")).toThrow(CommitMetadataError);
    expect(() => parseCommitMetadata("inflight:1-2", "clicks[3]")).toThrow(/^clicks\[3\]: /);
    expect(() => parseCommitMetadata("tally/1 max=1 inflight=9-2", "t[0]")).toThrow(/empty/);
    expect(() => parseCommitMetadata("tally/1 max=1 inflight=idle", "t[0]")).toThrow(/no floor/);
    expect(() => parseCommitMetadata("tally/1 max=1 floors=5@10,4@20", "t[0]")).toThrow(/ascending/);
    expect(parseCommitMetadata("tally/1 max=1 floors=5@10,5@20", "t[0]")?.floors).toHaveLength(2);
    expect(() => parseCommitMetadata("tally/1 max=1 floors=4@20,5@10", "t[0]")).toThrow(/ascending/);
  });
});
