/**
 * The controller work queue (controller-runtime's contract): keys, never events; a key queued twice
 * is processed once; one key never runs on two workers at once (a key added while running is run
 * again afterwards); failures retry with per-key capped exponential backoff; `requeueAfter`
 * schedules a timed run and resets the backoff; at most `concurrency` keys run at a time; each run
 * has a timeout. Time is injected so the behaviour is tested without sleeping.
 */

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** What a reconcile asks for next. A thrown error means "retry with backoff". */
export type ReconcileOutcome =
  | { readonly kind: "done" }
  | { readonly kind: "requeueAfter"; readonly ms: number }
  | { readonly kind: "terminal"; readonly error: Error };

interface WorkQueueOptions {
  readonly concurrency: number;
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly timeoutMs: number;
  readonly clock?: Clock;
  /** Called after each run: for metrics and the one log line per failed reconcile. */
  readonly onResult?: (event: QueueRunEvent) => void;
}

export interface QueueRunEvent {
  readonly key: string;
  readonly outcome: "done" | "requeue" | "terminal" | "error";
  readonly durationMs: number;
  readonly queuedMs: number;
  readonly error?: unknown;
  readonly retryInMs?: number;
  readonly failures: number;
}

class ReconcileTimeoutError extends Error {
  override readonly name = "ReconcileTimeoutError";
}

export class WorkQueue {
  private readonly queued = new Map<string, number>(); // key → time it was queued
  private readonly order: string[] = [];
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>(); // added while running
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { cancel(): void }>();
  private readonly clock: Clock;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly reconcile: (key: string) => Promise<ReconcileOutcome>,
    private readonly options: WorkQueueOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Queues a key now (de-duplicated). */
  add(key: string): void {
    if (this.stopped) return;
    this.cancelTimer(key);
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (!this.queued.has(key)) {
      this.queued.set(key, this.clock.now());
      this.order.push(key);
    }
    this.pump();
  }

  /** Queues a key after a delay; an earlier `add` wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    this.cancelTimer(key);
    this.timers.set(
      key,
      this.clock.setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, ms),
    );
  }

  /** Queued and running keys: the queue-depth metric. */
  depth(): number {
    return this.queued.size;
  }

  backoffFor(failures: number): number {
    return Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** Math.max(0, failures - 1));
  }

  /** Stops taking work; resolves when running reconciles have finished. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
    this.queued.clear();
    this.order.length = 0;
    await this.idle();
  }

  /** Resolves when nothing is queued or running (timers may still be pending). */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.queued.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private cancelTimer(key: string): void {
    this.timers.get(key)?.cancel();
    this.timers.delete(key);
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.options.concurrency) {
      const index = this.order.findIndex((k) => !this.running.has(k));
      if (index < 0) break;
      const [key] = this.order.splice(index, 1);
      if (key === undefined) break;
      const queuedAt = this.queued.get(key) ?? this.clock.now();
      this.queued.delete(key);
      this.running.add(key);
      void this.run(key, queuedAt);
    }
    if (this.running.size === 0 && this.queued.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async run(key: string, queuedAt: number): Promise<void> {
    const started = this.clock.now();
    let event: Omit<QueueRunEvent, "durationMs" | "queuedMs" | "key">;
    try {
      const outcome = await this.withTimeout(key);
      if (outcome.kind === "terminal") {
        this.failures.delete(key);
        event = { outcome: "terminal", error: outcome.error, failures: 0 };
      } else if (outcome.kind === "requeueAfter") {
        this.failures.delete(key);
        this.addAfter(key, outcome.ms);
        event = { outcome: "requeue", retryInMs: outcome.ms, failures: 0 };
      } else {
        this.failures.delete(key);
        event = { outcome: "done", failures: 0 };
      }
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const retryInMs = this.backoffFor(failures);
      this.addAfter(key, retryInMs);
      event = { outcome: "error", error, retryInMs, failures };
    }
    this.running.delete(key);
    this.options.onResult?.({
      key,
      durationMs: this.clock.now() - started,
      queuedMs: started - queuedAt,
      ...event,
    });
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
  }

  private withTimeout(key: string): Promise<ReconcileOutcome> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(
        () =>
          reject(
            new ReconcileTimeoutError(`reconcile of ${key} took longer than ${this.options.timeoutMs} ms`),
          ),
        this.options.timeoutMs,
      );
      this.reconcile(key).then(
        (outcome) => {
          timer.cancel();
          resolve(outcome);
        },
        (error: unknown) => {
          timer.cancel();
          reject(error);
        },
      );
    });
  }
}
