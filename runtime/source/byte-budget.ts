/**
 * The byte budget of a worker's buffered, not yet durable data (pure). Every open and sealed batch's
 * bytes count against it; when the total reaches the pause threshold the source stops taking messages
 * and pauses the partition it was reading (Kafka keeps them), and partitions resume once flushing has
 * brought the total below the resume threshold. Messages are checked one at a time after they are
 * applied, so the total can exceed the pause threshold by at most one message's rows and one buffer
 * chunk; the headroom between the pause threshold and the budget covers that, so the budget holds.
 */
interface ByteBudgetOptions {
  readonly budgetBytes: number;
  /** Kept free below the budget for the overshoot of the last message applied. */
  readonly headroomBytes: number;
  /** Fraction of the budget under which paused partitions resume. */
  readonly resumeFraction: number;
}

export class ByteBudget {
  private maxSeen = 0;

  constructor(readonly options: ByteBudgetOptions) {
    if (!(options.headroomBytes >= 0 && options.headroomBytes < options.budgetBytes)) {
      throw new RangeError(
        `byte budget: headroom ${options.headroomBytes} must be in [0, ${options.budgetBytes})`,
      );
    }
  }

  get pauseAtBytes(): number {
    return this.options.budgetBytes - this.options.headroomBytes;
  }

  get resumeBelowBytes(): number {
    return Math.min(this.pauseAtBytes, this.options.budgetBytes * this.options.resumeFraction);
  }

  /** The highest total observed. */
  get maxObservedBytes(): number {
    return this.maxSeen;
  }

  observe(totalBytes: number): void {
    if (totalBytes > this.maxSeen) this.maxSeen = totalBytes;
  }

  /** Whether to stop taking messages at this total. */
  shouldPause(totalBytes: number): boolean {
    this.observe(totalBytes);
    return totalBytes >= this.pauseAtBytes;
  }

  shouldResume(totalBytes: number): boolean {
    this.observe(totalBytes);
    return totalBytes < this.resumeBelowBytes;
  }
}
