/**
 * A connection's send buffer (pure): at most one frame waits while the socket is full. A newer frame
 * replaces the waiting one (snapshots are full, so only the latest matters) and the replaced one counts
 * as dropped; a slow client gets the latest snapshot, never an unbounded queue.
 */
export type Offer =
  | { readonly kind: "write"; readonly frame: string }
  | { readonly kind: "held"; readonly dropped: boolean };

export class FrameSlot {
  private pending: string | undefined;
  private blocked = false;

  /** A frame to send: write it now, or hold it (replacing the held one) until the socket drains. */
  offer(frame: string): Offer {
    if (!this.blocked) return { kind: "write", frame };
    const dropped = this.pending !== undefined;
    this.pending = frame;
    return { kind: "held", dropped };
  }

  /** After a write: `flushed` is what socket.write returned (false: its buffer is over the high-water mark). */
  wrote(flushed: boolean): void {
    this.blocked = !flushed;
  }

  /** The socket drained: the held frame, if any, to write next. */
  drained(): string | undefined {
    this.blocked = false;
    const frame = this.pending;
    this.pending = undefined;
    return frame;
  }

  /** Whether a heartbeat may go now: nothing held, socket not full (a held frame is news enough). */
  get idle(): boolean {
    return !this.blocked && this.pending === undefined;
  }
}
