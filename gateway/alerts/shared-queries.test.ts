import { describe, expect, it } from "vitest";
import { SharedQueries, sharedRangeEndMs } from "./shared-queries.js";

describe("sharedRangeEndMs", () => {
  it.each([
    [1_700_000_000_000, 1_700_000_000_000],
    [1_700_000_000_001, 1_700_000_001_000],
    [1_700_000_000_999, 1_700_000_001_000],
  ])("%i → %i (never before now)", (now, end) => {
    expect(sharedRangeEndMs(now)).toBe(end);
  });
});

describe("SharedQueries", () => {
  it("runs a question asked again while in flight once, and again once it settled", async () => {
    const shared = new SharedQueries<number>();
    let runs = 0;
    let release: (value: number) => void = () => undefined;
    const query = () => {
      runs++;
      return new Promise<number>((resolve) => {
        release = resolve;
      });
    };
    const first = shared.run("q", query);
    const second = shared.run("q", query);
    const other = shared.run("other", async () => 7);
    release(42);
    expect(await Promise.all([first, second, other])).toEqual([42, 42, 7]);
    expect(runs).toBe(1);
    await shared.run("q", async () => 43).then((v) => expect(v).toBe(43));
    expect(shared.counts()).toEqual({ asked: 4, ran: 3 });
  });

  it("shares a failure with the questions waiting on it, and forgets it", async () => {
    const shared = new SharedQueries<number>();
    const failing = () => Promise.reject(new Error("ClickHouse: timeout"));
    await expect(Promise.all([shared.run("q", failing), shared.run("q", failing)])).rejects.toThrow(
      /timeout/,
    );
    await expect(shared.run("q", async () => 1)).resolves.toBe(1);
  });
});
