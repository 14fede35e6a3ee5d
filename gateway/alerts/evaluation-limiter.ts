/**
 * At most `limit` tasks at once (alert evaluations, or their distinct queries), the others queued in
 * arrival order: 1,000 rules due together do not open 1,000 queries, and a slow source holds up only its
 * share of the slots.
 */
/**
 * Distinct queries at once by default (ClickHouse's load). Evaluations themselves mostly wait, often on a
 * query shared with other rules, so they are bounded far higher (`defaultEvaluationConcurrency`): bounding
 * them at 8 or 32 kept 1,000 rules every 10 s to ~24 evaluations/s on the bench's stack, each holding a
 * slot while it waited ~1 s on a shared query.
 */
export const defaultConcurrency = 8;

/**
 * Evaluations at once: a bound for bursts (a takeover, many windows changing), not the usual limit. An
 * evaluation waiting on its query holds little (its rule's record, a promise); at 256, 1,000 rules every
 * 10 s whose shared query took ~3 s on the bench's loaded stack still queued (lag p99 7.8 s).
 */
export const defaultEvaluationConcurrency = 1_024;

export class EvaluationLimiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit: expected a positive integer, got ${limit}`);
  }

  /** How many wait for a slot now. */
  waiting(): number {
    return this.queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      // The slot passes straight to the next in line (running stays the same).
      if (next !== undefined) next();
      else this.running--;
    }
  }
}
