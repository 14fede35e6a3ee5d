import { setTimeout as sleep } from "node:timers/promises";

/**
 * Retries an assertion until it passes or the timeout elapses; the last failure is rethrown so
 * the test says what was still wrong, not just "timed out".
 */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
      await sleep(intervalMs);
    }
  }
  throw new Error(
    `still failing after ${timeoutMs} ms: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
    {
      cause: lastError,
    },
  );
}
