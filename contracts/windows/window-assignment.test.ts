import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  alignDown,
  assignWindows,
  EventTimeError,
  isValidEventTime,
  type SessionInterval,
  SessionSet,
  slidingWindowsFor,
  tumblingWindowFor,
} from "./window-assignment.js";
import { MAX_DURATION_MS, MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS } from "./window-spec.js";

const eventTime = fc.integer({ min: MIN_EVENT_TIME_MS, max: MAX_EVENT_TIME_MS });

describe("isValidEventTime", () => {
  it.each([
    [0, true],
    [-1, true],
    [1_700_000_000_000, true],
    [MAX_EVENT_TIME_MS, true],
    [MIN_EVENT_TIME_MS, true],
    [MAX_EVENT_TIME_MS + 1, false],
    [MIN_EVENT_TIME_MS - 1, false],
    [1.5, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    [Number.MAX_SAFE_INTEGER, false],
  ])("%d → %s", (t, valid) => {
    expect(isValidEventTime(t)).toBe(valid);
  });
});

describe("alignDown", () => {
  it.each([
    [0, 10, 0],
    [9, 10, 0],
    [10, 10, 10],
    [-1, 10, -10],
    [-10, 10, -10],
    [-11, 10, -20],
    [MAX_EVENT_TIME_MS, 7, MAX_EVENT_TIME_MS - (MAX_EVENT_TIME_MS % 7)],
  ])("alignDown(%d, %d) = %d", (value, unit, expected) => {
    expect(alignDown(value, unit)).toBe(expected);
  });

  it("never returns -0", () => {
    expect(Object.is(alignDown(-0, 10), 0)).toBe(true);
    expect(Object.is(alignDown(-5, 5), -5)).toBe(true);
  });
});

describe("tumblingWindowFor", () => {
  it.each([
    { t: 0, size: 60_000, start: 0, end: 60_000, note: "epoch is a window edge" },
    { t: 59_999, size: 60_000, start: 0, end: 60_000, note: "last ms of a window" },
    {
      t: 60_000,
      size: 60_000,
      start: 60_000,
      end: 120_000,
      note: "exactly on an edge belongs to the next window",
    },
    { t: -1, size: 60_000, start: -60_000, end: 0, note: "negative time floors, not truncates" },
    { t: -60_000, size: 60_000, start: -60_000, end: 0, note: "negative edge" },
    { t: -60_001, size: 60_000, start: -120_000, end: -60_000, note: "just before a negative edge" },
    {
      t: 1_700_000_123_456,
      size: 1000,
      start: 1_700_000_123_000,
      end: 1_700_000_124_000,
      note: "real epoch ms",
    },
    { t: 5, size: 1, start: 5, end: 6, note: "1 ms windows" },
    {
      t: MAX_EVENT_TIME_MS,
      size: MAX_DURATION_MS,
      start: MAX_EVENT_TIME_MS - (MAX_EVENT_TIME_MS % MAX_DURATION_MS),
      end: MAX_EVENT_TIME_MS - (MAX_EVENT_TIME_MS % MAX_DURATION_MS) + MAX_DURATION_MS,
      note: "largest time and size stay exact",
    },
    {
      t: MIN_EVENT_TIME_MS,
      size: 3,
      start: MIN_EVENT_TIME_MS - 0,
      end: MIN_EVENT_TIME_MS + 3,
      note: "smallest time (a multiple of 3)",
    },
  ])("$note: t=$t size=$size → [$start, $end)", ({ t, size, start, end }) => {
    expect(tumblingWindowFor(t, size)).toEqual({ start, end });
  });

  it.each([Number.NaN, 1.5, MAX_EVENT_TIME_MS + 1, Number.NEGATIVE_INFINITY])(
    "rejects event time %d",
    (t) => {
      expect(() => tumblingWindowFor(t, 1000)).toThrow(EventTimeError);
    },
  );

  it("property: the window contains t, is aligned and has the spec's size", () => {
    fc.assert(
      fc.property(eventTime, fc.integer({ min: 1, max: MAX_DURATION_MS }), (t, size) => {
        const { start, end } = tumblingWindowFor(t, size);
        expect(start <= t && t < end).toBe(true);
        expect(end - start).toBe(size);
        expect(Math.abs(start % size)).toBe(0);
        expect(Number.isSafeInteger(start) && Number.isSafeInteger(end)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("slidingWindowsFor", () => {
  it.each([
    {
      t: 0,
      size: 30,
      slide: 10,
      windows: [
        [-20, 10],
        [-10, 20],
        [0, 30],
      ],
    },
    {
      t: 9,
      size: 30,
      slide: 10,
      windows: [
        [-20, 10],
        [-10, 20],
        [0, 30],
      ],
    },
    {
      t: 10,
      size: 30,
      slide: 10,
      windows: [
        [-10, 20],
        [0, 30],
        [10, 40],
      ],
    },
    {
      t: -1,
      size: 30,
      slide: 10,
      windows: [
        [-30, 0],
        [-20, 10],
        [-10, 20],
      ],
    },
    { t: 25, size: 10, slide: 10, windows: [[20, 30]] },
    {
      t: 3_600_000,
      size: 3_600_000,
      slide: 1_800_000,
      windows: [
        [1_800_000, 5_400_000],
        [3_600_000, 7_200_000],
      ],
    },
  ])("t=$t size=$size slide=$slide", ({ t, size, slide, windows }) => {
    expect(slidingWindowsFor(t, size, slide)).toEqual(windows.map(([start, end]) => ({ start, end })));
  });

  it("equals tumbling when slide == size", () => {
    expect(assignWindows({ type: "sliding", sizeMs: 100, slideMs: 100 }, 250)).toEqual(
      assignWindows({ type: "tumbling", sizeMs: 100 }, 250),
    );
  });

  it("property: exactly size/slide aligned windows, ascending, all containing t, and no other aligned window does", () => {
    fc.assert(
      fc.property(
        eventTime,
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 50 }),
        (t, slide, n) => {
          const size = slide * n;
          const windows = slidingWindowsFor(t, size, slide);
          expect(windows).toHaveLength(n);
          windows.forEach((w, i) => {
            expect(w.start <= t && t < w.end).toBe(true);
            expect(w.end - w.start).toBe(size);
            expect(Math.abs(w.start % slide)).toBe(0);
            if (i > 0) expect(w.start - (windows[i - 1]?.start ?? 0)).toBe(slide);
          });
          const first = windows[0];
          const last = windows[windows.length - 1];
          if (first === undefined || last === undefined) throw new Error("no windows");
          // The neighbours just outside the list do not contain t.
          expect(first.start - slide + size <= t).toBe(true);
          expect(last.start + slide > t).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

interface Counted extends SessionInterval {
  count: number;
}

function counted(start: number, end: number, count = 1): Counted {
  return { start, end, count };
}

function newSet(): SessionSet<Counted> {
  return new SessionSet<Counted>((a, b) => ({ start: a.start, end: a.end, count: a.count + b.count }));
}

function snapshot(set: SessionSet<Counted>): [number, number, number][] {
  return set.list().map((s) => [s.start, s.end, s.count]);
}

describe("SessionSet", () => {
  it.each<{ name: string; inserts: [number, number][]; sessions: [number, number, number][] }>([
    { name: "single event", inserts: [[0, 10]], sessions: [[0, 10, 1]] },
    {
      name: "overlapping events merge",
      inserts: [
        [0, 10],
        [5, 15],
      ],
      sessions: [[0, 15, 2]],
    },
    {
      name: "touching intervals stay separate (event exactly one gap later)",
      inserts: [
        [0, 10],
        [10, 20],
      ],
      sessions: [
        [0, 10, 1],
        [10, 20, 1],
      ],
    },
    {
      name: "one ms inside the gap merges",
      inserts: [
        [0, 10],
        [9, 19],
      ],
      sessions: [[0, 19, 2]],
    },
    {
      name: "a late event bridges two sessions",
      inserts: [
        [0, 10],
        [20, 30],
        [8, 22],
      ],
      sessions: [[0, 30, 3]],
    },
    {
      name: "an event before a session extends its start",
      inserts: [
        [10, 20],
        [5, 15],
      ],
      sessions: [[5, 20, 2]],
    },
    {
      name: "an event inside a session does not change its bounds",
      inserts: [
        [0, 100],
        [10, 20],
      ],
      sessions: [[0, 100, 2]],
    },
    {
      name: "one interval spanning many sessions",
      inserts: [
        [0, 5],
        [10, 15],
        [20, 25],
        [30, 35],
        [-1, 31],
      ],
      sessions: [[-1, 35, 5]],
    },
    {
      name: "negative times",
      inserts: [
        [-30, -20],
        [-25, -15],
        [-10, 0],
      ],
      sessions: [
        [-30, -15, 2],
        [-10, 0, 1],
      ],
    },
  ])("$name", ({ inserts, sessions }) => {
    const set = newSet();
    for (const [start, end] of inserts) set.insert(counted(start, end));
    expect(snapshot(set)).toEqual(sessions);
  });

  it("insert reports the absorbed sessions in start order", () => {
    const set = newSet();
    const a = counted(0, 10);
    const b = counted(20, 30);
    set.insert(a);
    set.insert(b);
    const { merged, absorbed } = set.insert(counted(5, 25));
    expect(absorbed).toEqual([a, b]);
    expect([merged.start, merged.end, merged.count]).toEqual([0, 30, 3]);
    const lone = counted(100, 110);
    expect(set.insert(lone)).toEqual({ merged: lone, absorbed: [] });
  });

  it("findContaining and soleOverlapping use half-open bounds", () => {
    const set = newSet();
    set.insert(counted(0, 10));
    set.insert(counted(20, 30));
    expect(set.findContaining(0)?.start).toBe(0);
    expect(set.findContaining(9)?.start).toBe(0);
    expect(set.findContaining(10)).toBeUndefined();
    expect(set.findContaining(-1)).toBeUndefined();
    expect(set.findContaining(25)?.start).toBe(20);
    expect(set.soleOverlapping(10, 20)).toBeUndefined();
    expect(set.soleOverlapping(9, 20)?.start).toBe(0);
    expect(set.soleOverlapping(10, 21)?.start).toBe(20);
    expect(set.soleOverlapping(9, 21)).toBeUndefined();
  });

  it("extendEnd grows in place and refuses to overlap the next session", () => {
    const set = newSet();
    const first = counted(0, 10);
    set.insert(first);
    set.insert(counted(20, 30));
    set.extendEnd(first, 20);
    expect(first.end).toBe(20);
    expect(() => set.extendEnd(first, 21)).toThrow(/would overlap \[20, 30\)/);
    expect(() => set.extendEnd(counted(50, 60), 70)).toThrow(/not in this set/);
  });

  it("remove deletes exactly the given session", () => {
    const set = newSet();
    const a = counted(0, 10);
    set.insert(a);
    set.insert(counted(20, 30));
    expect(set.remove(counted(0, 10))).toBe(false);
    expect(set.remove(a)).toBe(true);
    expect(snapshot(set)).toEqual([[20, 30, 1]]);
  });

  it("rejects empty intervals", () => {
    expect(() => newSet().insert(counted(5, 5))).toThrow(RangeError);
  });

  const events = fc.array(fc.integer({ min: -500, max: 500 }), { minLength: 1, maxLength: 40 });

  /** Reference: sessions of sorted events, a new one whenever an event is at or beyond the current end. */
  function referenceSessions(times: readonly number[], gap: number): [number, number, number][] {
    const sorted = [...times].sort((a, b) => a - b);
    const out: [number, number, number][] = [];
    for (const t of sorted) {
      const current = out[out.length - 1];
      if (current !== undefined && t < current[1]) {
        current[1] = Math.max(current[1], t + gap);
        current[2]++;
      } else out.push([t, t + gap, 1]);
    }
    return out;
  }

  it("property: any insertion order of events gives the reference sessions, and merging keeps every event", () => {
    fc.assert(
      fc.property(events, fc.integer({ min: 1, max: 60 }), (times, gap) => {
        const set = newSet();
        for (const t of times) set.insert(counted(t, t + gap));
        expect(snapshot(set)).toEqual(referenceSessions(times, gap));
        const list = set.list();
        for (let i = 1; i < list.length; i++)
          expect((list[i - 1]?.end ?? 0) <= (list[i]?.start ?? 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("property: merging partial sessions built from any split of the events equals sessions of all events", () => {
    const split = fc.array(fc.tuple(fc.integer({ min: -500, max: 500 }), fc.nat(3)), {
      minLength: 1,
      maxLength: 40,
    });
    fc.assert(
      fc.property(split, fc.integer({ min: 1, max: 60 }), (items, gap) => {
        const partials = [newSet(), newSet(), newSet(), newSet()];
        for (const [t, part] of items) partials[part]?.insert(counted(t, t + gap));
        const combined = newSet();
        for (const partial of partials)
          for (const s of partial.list()) combined.insert(counted(s.start, s.end, s.count));
        expect(snapshot(combined)).toEqual(
          referenceSessions(
            items.map(([t]) => t),
            gap,
          ),
        );
      }),
      { numRuns: 300 },
    );
  });
});
