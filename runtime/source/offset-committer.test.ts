import type { Offsets } from "kafkajs";
import { describe, expect, it } from "vitest";
import { FencedCommitError, OffsetCommitter } from "./offset-committer.js";

describe("OffsetCommitter", () => {
  const entry = { topic: "t", partition: 3, offset: 42, metadata: "tally/1 max=1" };

  function committer() {
    const sent: Offsets[] = [];
    const c = new OffsetCommitter();
    c.capture(async (offsets) => {
      sent.push(offsets);
    });
    return { c, sent };
  }

  it("is fenced until the first assignment, then commits with metadata for the current epoch", async () => {
    const { c, sent } = committer();
    await expect(c.commit(entry, 0)).rejects.toThrow(FencedCommitError);
    const epoch = c.open();
    await c.commit(entry, epoch);
    expect(sent).toEqual([
      { topics: [{ topic: "t", partitions: [{ partition: 3, offset: "42", metadata: "tally/1 max=1" }] }] },
    ]);
  });

  it("refuses commits from the moment a rebalance starts, and from an older epoch after it", async () => {
    const { c, sent } = committer();
    const first = c.open();
    c.close();
    await expect(c.commit(entry, first)).rejects.toThrow(/while the group rebalances/);
    c.close(); // a JoinGroup response after REBALANCING does not move the epoch twice
    const second = c.open();
    expect(second).toBe(first + 1);
    await expect(c.commit(entry, first)).rejects.toThrow(FencedCommitError);
    await c.commit(entry, second);
    expect(sent).toHaveLength(1);
  });

  it("commits through the latest batch's function: a consumer kafkajs restarted has a new membership", async () => {
    const { c, sent } = committer();
    const restarted: Offsets[] = [];
    const epoch = c.open();
    await c.commit(entry, epoch);
    c.capture(async (offsets) => {
      restarted.push(offsets);
    });
    await c.commit({ ...entry, offset: 43 }, epoch);
    expect(sent).toHaveLength(1);
    expect(restarted).toEqual([
      { topics: [{ topic: "t", partitions: [{ partition: 3, offset: "43", metadata: "tally/1 max=1" }] }] },
    ]);
  });
});
