import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Timer, TimerQueue } from "./timer-queue.js";

function drain(queue: TimerQueue, upTo: number): Timer[] {
  const out: Timer[] = [];
  for (let t = queue.popDue(upTo); t !== undefined; t = queue.popDue(upTo)) out.push(t);
  return out;
}

describe("TimerQueue", () => {
  it.each<{
    name: string;
    pushes: [number, string][];
    upTo: number;
    popped: [number, string][];
    left: number;
  }>([
    { name: "empty", pushes: [], upTo: 10, popped: [], left: 0 },
    { name: "nothing due", pushes: [[5, "a"]], upTo: 4, popped: [], left: 1 },
    { name: "due exactly at the watermark", pushes: [[5, "a"]], upTo: 5, popped: [[5, "a"]], left: 0 },
    {
      name: "time order, then key order for ties",
      pushes: [
        [3, "c"],
        [1, "z"],
        [3, "a"],
        [2, "m"],
        [9, "late"],
      ],
      upTo: 3,
      popped: [
        [1, "z"],
        [2, "m"],
        [3, "a"],
        [3, "c"],
      ],
      left: 1,
    },
    {
      name: "duplicates are kept",
      pushes: [
        [1, "a"],
        [1, "a"],
      ],
      upTo: 1,
      popped: [
        [1, "a"],
        [1, "a"],
      ],
      left: 0,
    },
    {
      name: "negative and infinite bounds",
      pushes: [[-5, "a"]],
      upTo: Number.POSITIVE_INFINITY,
      popped: [[-5, "a"]],
      left: 0,
    },
  ])("$name", ({ pushes, upTo, popped, left }) => {
    const queue = new TimerQueue();
    for (const [time, key] of pushes) queue.push(time, key);
    expect(drain(queue, upTo).map((t) => [t.time, t.key])).toEqual(popped);
    expect(queue.size).toBe(left);
  });

  it("peekTime shows the earliest timer", () => {
    const queue = new TimerQueue();
    expect(queue.peekTime()).toBeUndefined();
    queue.push(7, "a");
    queue.push(3, "b");
    expect(queue.peekTime()).toBe(3);
  });

  it("property: draining in steps yields every timer once, in (time, key) order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -100, max: 100 }), fc.string({ maxLength: 2 })), {
          maxLength: 200,
        }),
        fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 10 }),
        (timers, steps) => {
          const queue = new TimerQueue();
          for (const [time, key] of timers) queue.push(time, key);
          const popped: Timer[] = [];
          for (const step of [...steps].sort((a, b) => a - b)) popped.push(...drain(queue, step));
          popped.push(...drain(queue, Number.POSITIVE_INFINITY));
          const expected = [...timers].sort(
            ([ta, ka], [tb, kb]) => ta - tb || (ka < kb ? -1 : ka > kb ? 1 : 0),
          );
          expect(popped.map((t) => [t.time, t.key])).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
