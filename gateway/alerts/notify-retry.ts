/**
 * When to try a webhook again (pure): capped exponential backoff with jitter, so receivers that
 * failed together are not hit again together, and a receiver's Retry-After, capped the same way.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const webhookRetryPolicy: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * The wait after failed attempt `failedAttempt` (1 = the first): base × 2^(n−1) capped at the
 * maximum, then a uniform jitter over its upper half (`random` in [0, 1)), so the schedule still
 * grows while no two senders stay in step.
 */
export function backoffDelayMs(failedAttempt: number, policy: RetryPolicy, random: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The wait before the next attempt: the backoff, or longer if the receiver asked, never above the cap. */
export function nextDelayMs(
  failedAttempt: number,
  policy: RetryPolicy,
  random: number,
  receiverAskedMs: number | undefined,
): number {
  const backoff = backoffDelayMs(failedAttempt, policy, random);
  return Math.min(policy.maxDelayMs, Math.max(backoff, receiverAskedMs ?? 0));
}

/**
 * Whether a failed attempt is worth repeating: no answer, a timeout, throttling or a server error
 * may pass; another 4xx (a wrong URL or token) will not within the retry schedule, and 410 means
 * the receiver wants no more (Standard Webhooks).
 */
export function retryable(outcome: { readonly status: number } | "NoResponse"): boolean {
  if (outcome === "NoResponse") return true;
  const { status } = outcome;
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
