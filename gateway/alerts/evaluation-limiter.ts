/**
 * At most `limit` alert evaluations at once, the others queued in arrival order: 1,000 rules due
 * together do not open 1,000 queries, and a slow source holds up only its share of the slots.
 */
/** Evaluations at once by default: enough to keep ClickHouse busy, few enough not to queue inside it. */
export const defaultConcurrency = 8;

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
