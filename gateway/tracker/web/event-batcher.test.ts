import { describe, expect, it } from "vitest";
import { EventBatcher, type SendResult } from "./event-batcher.js";

// The queue with a hand-driven clock: timers run when the test advances time.
function harness(
  results: (SendResult | Promise<SendResult>)[] = [],
  options: { maxBatch?: number; maxQueued?: number } = {},
) {
  let now = 0;
  const timers: { at: number; run: () => void; cancelled: boolean }[] = [];
  const sent: number[][] = [];
  const reports: string[] = [];
  const batcher = new EventBatcher<number>({
    maxBatch: options.maxBatch ?? 3,
    flushIntervalMs: 1_000,
    maxQueued: options.maxQueued ?? 100,
    maxAttempts: 3,
    send: async (events) => {
      sent.push([...events]);
      return results.shift() ?? { kind: "sent" };
    },
    schedule: (run, ms) => {
      const timer = { at: now + ms, run, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    report: (message) => reports.push(message),
  });
  const advance = async (ms: number) => {
    now += ms;
    for (const timer of timers.filter((t) => !t.cancelled && t.at <= now)) {
      timer.cancelled = true;
      timer.run();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { batcher, sent, reports, advance };
}

describe("tracker event batcher", () => {
  it("sends at maxBatch events at once, else after the interval, in order", async () => {
    const { batcher, sent, advance } = harness();
    for (const n of [1, 2, 3, 4]) batcher.add(n);
    await advance(0);
    expect(sent).toEqual([[1, 2, 3]]);
    await advance(999);
    expect(sent).toEqual([[1, 2, 3]]);
    await advance(1);
    expect(sent).toEqual([[1, 2, 3], [4]]);
    expect(batcher.pending).toBe(0);
  });

  it("sends a batch that got no answer again, the same events first, after a growing backoff", async () => {
    const retry: SendResult = { kind: "retry", afterMs: undefined, why: "network" };
    const { batcher, sent, advance } = harness([retry, retry]);
    batcher.add(1);
    await advance(1_000);
    batcher.add(2);
    await advance(999);
    expect(sent).toEqual([[1]]);
    await advance(1);
    expect(sent).toEqual([[1], [1, 2]]);
    await advance(1_999);
    expect(sent).toHaveLength(2);
    await advance(1);
    expect(sent).toEqual([[1], [1, 2], [1, 2]]);
    expect(batcher.pending).toBe(0);
  });

  it("honours Retry-After, drops a refused batch or one that never got an answer, and reports both", async () => {
    const { batcher, sent, reports, advance } = harness([
      { kind: "retry", afterMs: 5_000, why: "status 503" },
      { kind: "refused", status: 400, message: "events[0]/ts is invalid" },
      { kind: "retry", afterMs: undefined, why: "network" },
      { kind: "retry", afterMs: undefined, why: "network" },
      { kind: "retry", afterMs: undefined, why: "network" },
    ]);
    batcher.add(1);
    await advance(1_000);
    await advance(4_999);
    expect(sent).toHaveLength(1);
    await advance(1);
    expect(sent).toEqual([[1], [1]]);
    expect(reports).toEqual(["the collector refused 1 events (400): events[0]/ts is invalid"]);
    batcher.add(2);
    await advance(1_000);
    await advance(1_000);
    await advance(2_000);
    expect(sent.slice(2)).toEqual([[2], [2], [2]]);
    expect(reports[1]).toContain("no answer after 3 attempts");
    expect(batcher.pending).toBe(0);
  });

  it("drains the queue to the beacon in batches, keeping what it refuses", async () => {
    let answer: (result: SendResult) => void = () => {};
    const { batcher, sent, advance } = harness([new Promise((resolve) => (answer = resolve))], {
      maxBatch: 2,
    });
    const beaconed: number[][] = [];
    batcher.add(1);
    batcher.add(2); // a full batch goes out at once, and stays out
    await advance(0);
    for (const n of [3, 4, 5]) batcher.add(n);
    batcher.drain((events) => {
      if (events.includes(5)) return false;
      beaconed.push([...events]);
      return true;
    });
    expect(beaconed).toEqual([[3, 4]]);
    expect(batcher.pending).toBe(2); // the request out, and 5
    answer({ kind: "sent" });
    await advance(0); // the answer arrives: 5 waits for the interval
    await advance(1_000);
    expect(sent).toEqual([[1, 2], [5]]);
  });

  it("drops the oldest events over maxQueued", () => {
    const { batcher, reports } = harness([], { maxBatch: 100, maxQueued: 2 });
    for (const n of [1, 2, 3]) batcher.add(n);
    expect(batcher.pending).toBe(2);
    expect(reports).toEqual(["dropped 1 events: more than 2 were waiting"]);
  });
});
