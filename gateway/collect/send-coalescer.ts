/**
 * Group commit for the collector's producer (no I/O of its own). The producer keeps one request in
 * flight per broker (so a retry cannot reorder or double a batch), which alone would serve one HTTP
 * request per broker round trip. Instead, requests that arrive while a send is out wait and then go
 * together in the next send, each answered when that send is acknowledged: no delay when idle, and
 * under load one round trip carries many requests. A send is capped at `maxBytes` (the brokers refuse
 * a record batch over their message.max.bytes, 1 MiB by default); a request larger than that goes alone.
 */

interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class SendCoalescer<T> {
  private waiting: Waiting<T>[] = [];
  private sending = false;

  constructor(
    private readonly sendAll: (items: readonly T[]) => Promise<void>,
    private readonly sizeOf: (item: T) => number,
    private readonly maxBytes: number,
  ) {}

  /** Resolves once a send holding `item` was acknowledged; rejects with that send's error. */
  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.waiting.length > 0) {
      const group = this.nextGroup();
      try {
        await this.sendAll(group.map((w) => w.item));
        for (const w of group) w.resolve();
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    this.sending = false;
  }

  private nextGroup(): Waiting<T>[] {
    let bytes = 0;
    let count = 0;
    for (const w of this.waiting) {
      bytes += this.sizeOf(w.item);
      if (count > 0 && bytes > this.maxBytes) break;
      count += 1;
    }
    return this.waiting.splice(0, count);
  }
}
