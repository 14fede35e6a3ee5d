import { describe, expect, it } from "vitest";
import { ManualClock } from "../../test/support/manual-clock.js";
import { type QueueRunEvent, type ReconcileOutcome, WorkQueue } from "./work-queue.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(reconcile: (key: string) => Promise<ReconcileOutcome>, concurrency = 2) {
  const clock = new ManualClock();
  const events: QueueRunEvent[] = [];
  const queue = new WorkQueue(reconcile, {
    concurrency,
    baseBackoffMs: 100,
    maxBackoffMs: 1000,
    timeoutMs: 5000,
    clock,
    onResult: (e) => events.push(e),
  });
  return { clock, events, queue };
}

const done: ReconcileOutcome = { kind: "done" };

describe("WorkQueue", () => {
  it("runs a key added several times before it starts only once", async () => {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const { queue } = setup(async (key) => {
      runs.push(key);
      if (key === "busy") await new Promise<void>((r) => (release = r));
      return done;
    }, 1);
    queue.add("busy"); // occupies the only worker while the others queue up
    await flush();
    for (const key of ["ns/a", "ns/b", "ns/b", "ns/a"]) queue.add(key);
    expect(queue.depth()).toBe(2);
    release();
    await queue.idle();
    expect(runs).toEqual(["busy", "ns/a", "ns/b"]);
  });

  it("never runs one key on two workers, and reruns a key added while it ran", async () => {
    let active = 0;
    let maxActive = 0;
    let release: () => void = () => undefined;
    const runs: number[] = [];
    const { queue } = setup(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      runs.push(active);
      if (runs.length === 1) await new Promise<void>((r) => (release = r));
      active -= 1;
      return done;
    }, 4);
    queue.add("ns/a");
    await flush();
    queue.add("ns/a"); // arrives while the first run is in progress
    await flush();
    expect(runs).toHaveLength(1);
    release();
    await queue.idle();
    expect(runs).toHaveLength(2);
    expect(maxActive).toBe(1);
  });

  it("limits how many keys run at once", async () => {
    let active = 0;
    let maxActive = 0;
    const { queue, clock } = setup(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await flush();
      active -= 1;
      return done;
    }, 2);
    for (const k of ["a", "b", "c", "d", "e"]) queue.add(k);
    await queue.idle();
    expect(maxActive).toBe(2);
    expect(clock.pending()).toBe(0);
  });

  it("retries failures with capped exponential backoff and forgets them on success", async () => {
    let attempts = 0;
    const { queue, clock, events } = setup(async () => {
      attempts += 1;
      if (attempts <= 5) throw new Error(`boom ${attempts}`);
      return done;
    });
    queue.add("ns/a");
    await queue.idle();
    for (const wait of [100, 200, 400, 800, 1000]) {
      expect(events.at(-1)?.retryInMs).toBe(wait);
      clock.advance(wait - 1);
      await flush();
      expect(attempts).toBe(events.length); // not retried early
      clock.advance(1);
      await queue.idle();
    }
    expect(attempts).toBe(6);
    expect(events.map((e) => e.outcome)).toEqual(["error", "error", "error", "error", "error", "done"]);
    expect(events.at(-1)?.failures).toBe(0);
  });

  it("does not retry a terminal error", async () => {
    let attempts = 0;
    const { queue, clock, events } = setup(async () => {
      attempts += 1;
      return { kind: "terminal", error: new Error("spec.windows[0].slide: must divide size") };
    });
    queue.add("ns/a");
    await queue.idle();
    clock.advance(60_000);
    await queue.idle();
    expect(attempts).toBe(1);
    expect(events[0]?.outcome).toBe("terminal");
  });

  it("requeues after the asked delay and resets the backoff", async () => {
    let attempts = 0;
    const { queue, clock, events } = setup(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("transient");
      return attempts === 2 ? { kind: "requeueAfter", ms: 30_000 } : done;
    });
    queue.add("k");
    await queue.idle();
    clock.advance(100);
    await queue.idle();
    expect(events[1]).toMatchObject({ outcome: "requeue", retryInMs: 30_000, failures: 0 });
    clock.advance(29_999);
    await flush();
    expect(attempts).toBe(2);
    clock.advance(1);
    await queue.idle();
    expect(attempts).toBe(3);
  });

  it("times out a reconcile that hangs and retries it", async () => {
    const { queue, clock, events } = setup(() => new Promise<ReconcileOutcome>(() => undefined));
    queue.add("ns/stuck");
    await flush();
    clock.advance(5000);
    await queue.idle();
    expect(events[0]?.outcome).toBe("error");
    expect(String(events[0]?.error)).toContain("ns/stuck took longer than 5000 ms");
  });

  it("an immediate add wins over a pending delayed retry", async () => {
    let attempts = 0;
    const { queue, clock } = setup(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("transient");
      return done;
    });
    queue.add("k");
    await queue.idle();
    queue.add("k"); // e.g. a watch event arrives during the backoff
    await queue.idle();
    expect(attempts).toBe(2);
    clock.advance(10_000);
    await queue.idle();
    expect(attempts).toBe(2); // the cancelled retry does not fire
  });

  it("shuts down: waits for running work and takes no more", async () => {
    let release: () => void = () => undefined;
    let attempts = 0;
    const { queue } = setup(async () => {
      attempts += 1;
      await new Promise<void>((r) => (release = r));
      return done;
    });
    queue.add("a");
    await flush();
    const stopping = queue.shutdown();
    queue.add("b");
    release();
    await stopping;
    expect(attempts).toBe(1);
  });
});
