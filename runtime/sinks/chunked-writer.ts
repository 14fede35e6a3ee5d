/**
 * An append-only UTF-8 byte buffer in fixed-size chunks (not one doubling buffer), so the memory a batch
 * holds grows in small steps and `allocatedBytes` is an honest figure for the runtime's byte budget.
 */
export class ChunkedWriter {
  private readonly done: Buffer[] = [];
  private doneBytes = 0;
  private buffer: Buffer;
  private position = 0;
  private allocated: number;

  constructor(private readonly chunkBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
    this.allocated = chunkBytes;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.doneBytes + this.position;
  }

  /** Bytes of memory the writer holds: every chunk it allocated, used or not. */
  get allocatedBytes(): number {
    return this.allocated;
  }

  /** Where the next byte goes in the chunk `reserve` returns. */
  get cursor(): number {
    return this.position;
  }

  /**
   * The current chunk, with at least `maxBytes` free from `cursor` (a new chunk if it had less). Callers
   * write there directly and then `advanceTo` the end of what they wrote.
   */
  reserve(maxBytes: number): Buffer {
    if (this.position + maxBytes <= this.buffer.length) return this.buffer;
    // A finished chunk's unused tail stays allocated (the subarray keeps the whole chunk alive), so it
    // stays counted in `allocatedBytes`.
    if (this.position > 0) {
      this.done.push(this.buffer.subarray(0, this.position));
      this.doneBytes += this.position;
    } else {
      this.allocated -= this.buffer.length;
    }
    const size = Math.max(this.chunkBytes, maxBytes);
    this.buffer = Buffer.allocUnsafe(size);
    this.allocated += size;
    this.position = 0;
    return this.buffer;
  }

  /** Keeps the bytes written up to `end` in the chunk `reserve` returned. */
  advanceTo(end: number): void {
    // Writes past a Buffer's end are dropped silently; failing here keeps a short reservation from
    // turning into a corrupt batch.
    if (end < this.position || end > this.buffer.length)
      throw new RangeError(`chunk write ended at ${end}, outside ${this.position}..${this.buffer.length}`);
    this.position = end;
  }

  /** Appends `text` as UTF-8. */
  write(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const out = this.reserve(text.length * 3);
    this.advanceTo(this.position + out.write(text, this.position, "utf8"));
  }

  /** The bytes written so far, as one buffer. */
  toBuffer(): Buffer {
    return Buffer.concat([...this.done, this.buffer.subarray(0, this.position)], this.length);
  }
}
