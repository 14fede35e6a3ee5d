// Event-time timers: a binary min-heap of (time, key).
//
// The window operator registers one timer per open window (at its end, later at end + allowed lateness) so that
// advancing the watermark costs O(fired · log n) instead of a scan over every open window. Timers are never
// cancelled: a popped timer is checked against the window's current state, which keeps the heap simple.

export interface Timer {
  readonly time: number;
  readonly key: string;
}

export class TimerQueue {
  private readonly heap: Timer[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(time: number, key: string): void {
    const heap = this.heap;
    heap.push({ time, key });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const up = heap[parent];
      const node = heap[i];
      if (up === undefined || node === undefined || !less(node, up)) break;
      heap[parent] = node;
      heap[i] = up;
      i = parent;
    }
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  /** Removes and returns the earliest timer if its time is <= upTo. Ties pop in key order, for determinism. */
  popDue(upTo: number): Timer | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.time > upTo) return undefined;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return top;
    // Sift the last leaf down from the root.
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      let smallestNode = last;
      const leftNode = heap[left];
      if (leftNode !== undefined && less(leftNode, smallestNode)) {
        smallest = left;
        smallestNode = leftNode;
      }
      const rightNode = heap[right];
      if (rightNode !== undefined && less(rightNode, smallestNode)) {
        smallest = right;
        smallestNode = rightNode;
      }
      if (smallest === i) break;
      heap[i] = smallestNode;
      i = smallest;
    }
    heap[i] = last;
    return top;
  }
}

function less(a: Timer, b: Timer): boolean {
  return a.time < b.time || (a.time === b.time && a.key < b.key);
}
