/**
 * The tracker's queue (no DOM: the sending and the timers are given). Events wait until `maxBatch` of
 * them are queued or `flushIntervalMs` passed since the first, then go out as one request; one request
 * at a time, so events leave in order. A batch the collector could not take for now (network error,
 * 429, 5xx) goes back to the head of the queue and is sent again after a backoff, with the same event
 * ids, so what did land the first time is dropped by the pipeline's dedup. A batch the collector
 * refused (4xx: invalid, too large) is dropped and reported: sending it again cannot succeed.
 * `drain` hands everything queued to a last-chance sender (the beacon, when the page is hidden).
 */

export type SendResult =
  | { readonly kind: "sent" }
  | { readonly kind: "retry"; readonly afterMs: number | undefined; readonly why: string }
  | { readonly kind: "refused"; readonly status: number; readonly message: string };

export interface BatcherOptions<E> {
  readonly maxBatch: number;
  readonly flushIntervalMs: number;
  /** Over this many queued events the oldest are dropped (a collector away for long). */
  readonly maxQueued: number;
  /**
   * Sends of one batch before it is dropped: a page whose origin the pipeline does not grant CORS gets a
   * network error even though the collector took the events, so retrying forever would only repeat them.
   */
  readonly maxAttempts: number;
  readonly send: (events: readonly E[]) => Promise<SendResult>;
  readonly schedule: (run: () => void, ms: number) => () => void;
  readonly report: (message: string) => void;
}

const firstBackoffMs = 1_000;
const maxBackoffMs = 30_000;

export class EventBatcher<E> {
  private queue: E[] = [];
  private inFlight = false;
  private cancelTimer: (() => void) | undefined;
  private backoffMs = 0;
  private attempts = 0;

  constructor(private readonly options: BatcherOptions<E>) {}

  get pending(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }

  add(event: E): void {
    this.queue.push(event);
    const over = this.queue.length - this.options.maxQueued;
    if (over > 0) {
      this.queue.splice(0, over);
      this.options.report(`dropped ${over} events: more than ${this.options.maxQueued} were waiting`);
    }
    if (this.backoffMs > 0) return; // the retry timer sends them
    if (this.queue.length >= this.options.maxBatch) void this.flush();
    else if (this.cancelTimer === undefined) this.arm(this.options.flushIntervalMs);
  }

  /** Sends the head of the queue now (unless a request is out); resolves when that request ended. */
  async flush(): Promise<void> {
    this.disarm();
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.inFlight = true;
    let result: SendResult;
    try {
      result = await this.options.send(batch);
    } catch (error) {
      result = {
        kind: "retry",
        afterMs: undefined,
        why: error instanceof Error ? error.message : String(error),
      };
    }
    this.inFlight = false;
    this.attempts += 1;
    if (result.kind === "retry" && this.attempts >= this.options.maxAttempts)
      result = {
        kind: "refused",
        status: 0,
        message: `no answer after ${this.attempts} attempts: ${result.why}`,
      };
    if (result.kind === "retry") {
      this.queue.unshift(...batch);
      this.backoffMs = Math.min(
        maxBackoffMs,
        Math.max(result.afterMs ?? 0, this.backoffMs * 2 || firstBackoffMs),
      );
      this.arm(this.backoffMs);
      return;
    }
    this.backoffMs = 0;
    this.attempts = 0;
    if (result.kind === "refused")
      this.options.report(
        `the collector refused ${batch.length} events (${result.status}): ${result.message}`,
      );
    if (this.queue.length >= this.options.maxBatch) void this.flush();
    else if (this.queue.length > 0) this.arm(this.options.flushIntervalMs);
  }

  /**
   * Everything queued, in batches of at most `maxBatch`, to `sendNow`; a batch it cannot take (false)
   * and those after it stay queued. A request already out is left to finish (it was sent with keepalive).
   */
  drain(sendNow: (events: readonly E[]) => boolean): void {
    this.disarm();
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.maxBatch);
      if (!sendNow(batch)) break;
      this.queue.splice(0, batch.length);
    }
    if (this.queue.length > 0) this.arm(this.backoffMs || this.options.flushIntervalMs);
  }

  private arm(ms: number): void {
    this.disarm();
    this.cancelTimer = this.options.schedule(() => {
      this.cancelTimer = undefined;
      void this.flush();
    }, ms);
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }
}
