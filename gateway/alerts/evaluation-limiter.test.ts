import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { EvaluationLimiter } from "./evaluation-limiter.js";

describe("EvaluationLimiter", () => {
  it("runs at most `limit` tasks at once, the rest in arrival order", async () => {
    const limiter = new EvaluationLimiter(3);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          started.push(i);
          running++;
          peak = Math.max(peak, running);
          await sleep(5);
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(limiter.waiting()).toBe(0);
  });

  it("frees the slot of a task that fails", async () => {
    const limiter = new EvaluationLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error("query failed")))).rejects.toThrow(
      "query failed",
    );
    await expect(limiter.run(async () => "next")).resolves.toBe("next");
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => new EvaluationLimiter(0)).toThrow(/limit/);
  });
});
