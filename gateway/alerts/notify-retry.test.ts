import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  nextDelayMs,
  type RetryPolicy,
  retryAfterMs,
  retryable,
  webhookRetryPolicy,
} from "./notify-retry.js";

const schedule = (policy: RetryPolicy, random: number) =>
  Array.from({ length: policy.attempts - 1 }, (_, i) => backoffDelayMs(i + 1, policy, random));

describe("backoffDelayMs", () => {
  it("doubles from 0.5 s, jittered over the upper half of each step (5 attempts: 4 waits)", () => {
    // Upper bounds 0.5, 1, 2, 4 s; lower bounds half of those.
    expect(schedule(webhookRetryPolicy, 0)).toEqual([250, 500, 1000, 2000]);
    expect(schedule(webhookRetryPolicy, 0.5)).toEqual([375, 750, 1500, 3000]);
    expect(schedule(webhookRetryPolicy, 0.999999)).toEqual([500, 1000, 2000, 4000]);
  });

  it("never waits more than the cap however many attempts", () => {
    const long: RetryPolicy = { attempts: 12, baseDelayMs: 500, maxDelayMs: 30_000 };
    // 0.5 × 2^6 = 32 s > 30 s: from the 7th failure on, each wait is within [15 s, 30 s].
    expect(schedule(long, 0.999999).slice(5)).toEqual([16_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
    expect(schedule(long, 0).slice(6)).toEqual([15_000, 15_000, 15_000, 15_000, 15_000]);
  });

  it("spreads senders that failed together", () => {
    const waits = new Set([0.1, 0.3, 0.6, 0.9].map((r) => backoffDelayMs(3, webhookRetryPolicy, r)));
    expect(waits.size).toBe(4);
  });
});

describe("retry-after", () => {
  const now = Date.now();

  it("reads seconds and HTTP dates", () => {
    expect(retryAfterMs("7", now)).toBe(7000);
    expect(retryAfterMs(new Date(Math.ceil(now / 1000) * 1000 + 9000).toUTCString(), now)).toBe(
      Math.ceil(now / 1000) * 1000 + 9000 - now,
    );
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
  });

  it("waits longer when the receiver asks, never beyond the cap", () => {
    expect(nextDelayMs(1, webhookRetryPolicy, 0, 7000)).toBe(7000);
    expect(nextDelayMs(1, webhookRetryPolicy, 0, 3_600_000)).toBe(30_000);
    expect(nextDelayMs(3, webhookRetryPolicy, 0, 10)).toBe(1000);
  });
});

describe("retryable", () => {
  it.each([
    ["NoResponse", true],
    [{ status: 500 }, true],
    [{ status: 503 }, true],
    [{ status: 429 }, true],
    [{ status: 408 }, true],
    [{ status: 400 }, false],
    [{ status: 401 }, false],
    [{ status: 404 }, false],
    [{ status: 410 }, false],
    [{ status: 302 }, false],
  ] as const)("%j → %s", (outcome, expected) => {
    expect(retryable(outcome)).toBe(expected);
  });
});
