import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addValue, createState, serializeState } from "../../contracts/windows/aggregation.js";
import { assignWindows } from "../../contracts/windows/window-assignment.js";
import {
  combinePartials,
  foldResults,
  liveWindows,
  type WindowResult,
  WindowResultError,
  type WindowUpsert,
  windowIdentity,
} from "../../contracts/windows/window-results.js";
import { aggregationName, type WindowSpec, WindowSpecError } from "../../contracts/windows/window-spec.js";
import { WatermarkTracker } from "./watermark.js";
import { type IngestOutcome, type WindowEvent, WindowOperator } from "./window-operator.js";

const NEG = Number.NEGATIVE_INFINITY;

function ev(t: number, fields: Record<string, unknown> = {}): WindowEvent {
  return { timestampMs: t, fields: { k: "a", x: 1, ...fields } };
}

const countSum = [{ fn: "count" }, { fn: "sum", field: "x" }] as const;

const tumbling: WindowSpec = {
  name: "t10",
  type: "tumbling",
  sizeMs: 10,
  allowedLatenessMs: 5,
  groupBy: ["k"],
  aggregations: countSum,
};

/** A compact view of an emission for table tests: [kind, start, end, group, revision, count, sum]. */
type Row = [string, number, number, string, number, number | null, number | null];

function rows(results: readonly WindowResult[]): Row[] {
  return results.map((r) =>
    r.kind === "upsert"
      ? [
          "upsert",
          r.windowStart,
          r.windowEnd,
          String(r.groupKey[0]),
          r.revision,
          r.results.count ?? null,
          r.results.sum_x ?? null,
        ]
      : ["retract", r.windowStart, r.windowEnd, String(r.groupKey[0]), r.revision, null, null],
  );
}

type Step =
  | { ingest: WindowEvent; wm: number; outcome: IngestOutcome["kind"] }
  | { advance: number; emits: Row[]; open?: number };

function play(spec: WindowSpec, steps: readonly Step[]): WindowOperator {
  const op = new WindowOperator(spec);
  steps.forEach((step, i) => {
    if ("ingest" in step) {
      expect(op.ingest(step.ingest, step.wm).kind, `step ${i}: ingest t=${step.ingest.timestampMs}`).toBe(
        step.outcome,
      );
    } else {
      expect(rows(op.advance(step.advance)), `step ${i}: advance(${step.advance})`).toEqual(step.emits);
      if (step.open !== undefined) expect(op.openKeyCount(), `step ${i}: open windows`).toBe(step.open);
    }
  });
  return op;
}

describe("WindowOperator: tumbling", () => {
  it.each<{ name: string; steps: Step[]; spec?: WindowSpec }>([
    {
      name: "fires when the watermark reaches the window end, not before",
      steps: [
        { ingest: ev(1), wm: NEG, outcome: "accepted" },
        { ingest: ev(3, { x: 2 }), wm: NEG, outcome: "accepted" },
        { advance: 9, emits: [], open: 1 },
        { advance: 10, emits: [["upsert", 0, 10, "a", 1, 2, 3]], open: 1 },
        { advance: 14, emits: [], open: 1 },
        { advance: 15, emits: [], open: 0 }, // end + lateness: purged
      ],
    },
    {
      name: "event exactly on a window edge belongs to the next window",
      steps: [
        { ingest: ev(10), wm: NEG, outcome: "accepted" },
        { advance: 10, emits: [] },
        { advance: 20, emits: [["upsert", 10, 20, "a", 1, 1, 1]] },
      ],
    },
    {
      name: "late event within allowed lateness emits an update with a higher revision",
      steps: [
        { ingest: ev(1), wm: NEG, outcome: "accepted" },
        { advance: 10, emits: [["upsert", 0, 10, "a", 1, 1, 1]] },
        { ingest: ev(5, { x: 10 }), wm: 12, outcome: "accepted" },
        { ingest: ev(9, { x: 100 }), wm: 12, outcome: "accepted" },
        { advance: 12, emits: [["upsert", 0, 10, "a", 2, 3, 111]] }, // two late events, one revision
        { advance: 13, emits: [] },
        { ingest: ev(0), wm: 14, outcome: "accepted" }, // last ms of lateness
        { advance: 15, emits: [["upsert", 0, 10, "a", 3, 4, 112]], open: 0 }, // emitted, then purged
      ],
    },
    {
      name: "event later than end + allowed lateness goes to the late side output",
      steps: [
        { ingest: ev(1), wm: NEG, outcome: "accepted" },
        { advance: 15, emits: [["upsert", 0, 10, "a", 1, 1, 1]], open: 0 },
        { ingest: ev(9), wm: 15, outcome: "late" },
        { advance: 100, emits: [] },
      ],
    },
    {
      name: "the ingest watermark alone decides lateness, even before advance purges",
      steps: [
        { ingest: ev(1), wm: NEG, outcome: "accepted" },
        { ingest: ev(2), wm: 15, outcome: "late" },
        { advance: 15, emits: [["upsert", 0, 10, "a", 1, 1, 1]] },
      ],
    },
    {
      name: "a late event for a window that has not fired yet is simply included",
      steps: [
        { ingest: ev(3), wm: 12, outcome: "accepted" },
        { advance: 12, emits: [["upsert", 0, 10, "a", 1, 1, 1]] },
      ],
    },
    {
      name: "zero allowed lateness fires and purges at once",
      spec: { ...tumbling, allowedLatenessMs: 0 },
      steps: [
        { ingest: ev(1), wm: NEG, outcome: "accepted" },
        { advance: 10, emits: [["upsert", 0, 10, "a", 1, 1, 1]], open: 0 },
        { ingest: ev(9), wm: 10, outcome: "late" },
        { ingest: ev(10), wm: 10, outcome: "accepted" },
      ],
    },
    {
      name: "a smaller watermark is ignored (watermarks never go back)",
      steps: [
        { ingest: ev(1), wm: NEG, outcome: "accepted" },
        { advance: 15, emits: [["upsert", 0, 10, "a", 1, 1, 1]] },
        { ingest: ev(2), wm: 0, outcome: "late" },
        { advance: 3, emits: [] },
      ],
    },
    {
      name: "groups fire separately, in a deterministic order",
      steps: [
        { ingest: ev(15, { k: "b" }), wm: NEG, outcome: "accepted" },
        { ingest: ev(1, { k: "b" }), wm: NEG, outcome: "accepted" },
        { ingest: ev(2, { k: "a" }), wm: NEG, outcome: "accepted" },
        { ingest: ev(3, {}), wm: NEG, outcome: "accepted" },
        {
          advance: 20,
          emits: [
            ["upsert", 0, 10, "a", 1, 2, 2],
            ["upsert", 0, 10, "b", 1, 1, 1],
            ["upsert", 10, 20, "b", 1, 1, 1],
          ],
        },
      ],
    },
    {
      name: "negative timestamps",
      steps: [
        { ingest: ev(-1), wm: NEG, outcome: "accepted" },
        { ingest: ev(-10), wm: NEG, outcome: "accepted" },
        { ingest: ev(-11), wm: NEG, outcome: "accepted" },
        {
          advance: 0,
          emits: [
            ["upsert", -20, -10, "a", 1, 1, 1],
            ["upsert", -10, 0, "a", 1, 2, 2],
          ],
        },
      ],
    },
    {
      name: "advance(Infinity) flushes and purges everything",
      steps: [
        { ingest: ev(1), wm: NEG, outcome: "accepted" },
        { ingest: ev(8_000_000_000_000_000), wm: NEG, outcome: "accepted" },
        {
          advance: Number.POSITIVE_INFINITY,
          emits: [
            ["upsert", 0, 10, "a", 1, 1, 1],
            ["upsert", 8_000_000_000_000_000, 8_000_000_000_000_010, "a", 1, 1, 1],
          ],
          open: 0,
        },
      ],
    },
  ])("$name", ({ steps, spec }) => {
    play(spec ?? tumbling, steps);
  });

  it.each<{ name: string; event: WindowEvent; field: string | undefined; reason: RegExp }>([
    { name: "fractional timestamp", event: ev(1.5), field: undefined, reason: /event time 1.5/ },
    { name: "NaN timestamp", event: ev(Number.NaN), field: undefined, reason: /event time NaN/ },
    { name: "timestamp beyond the Date range", event: ev(9e15), field: undefined, reason: /event time/ },
    { name: "object group value", event: ev(1, { k: { nested: 1 } }), field: "k", reason: /group-by value/ },
    { name: "NaN group value", event: ev(1, { k: Number.NaN }), field: "k", reason: /group-by value/ },
    {
      name: "string in a sum field",
      event: ev(1, { x: "12" }),
      field: "x",
      reason: /"sum_x": sum needs a finite number/,
    },
  ])("rejects $name without touching state", ({ event, field, reason }) => {
    const op = new WindowOperator(tumbling);
    const outcome = op.ingest(event, NEG);
    expect(outcome.kind).toBe("rejected");
    if (outcome.kind === "rejected") {
      expect(outcome.field).toBe(field);
      expect(outcome.reason).toMatch(reason);
      expect(outcome.windowName).toBe("t10");
    }
    expect(op.openKeyCount()).toBe(0);
    expect(op.stats().rejected).toBe(1);
  });

  it("groups missing fields under null and reads only own properties", () => {
    const op = new WindowOperator({ ...tumbling, groupBy: ["k", "constructor"] });
    op.ingest({ timestampMs: 1, fields: { x: 1 } }, NEG);
    const [result] = op.advance(10);
    expect(result?.groupKey).toEqual([null, null]);
  });

  it("ignores a missing aggregation input but still counts the event", () => {
    const op = new WindowOperator(tumbling);
    op.ingest({ timestampMs: 1, fields: { k: "a" } }, NEG);
    expect(rows(op.advance(10))).toEqual([["upsert", 0, 10, "a", 1, 1, 0]]);
  });

  it("counts outcomes and lifecycle transitions", () => {
    const op = play(tumbling, [
      { ingest: ev(1), wm: NEG, outcome: "accepted" },
      { advance: 10, emits: [["upsert", 0, 10, "a", 1, 1, 1]] },
      { ingest: ev(2), wm: 10, outcome: "accepted" },
      { advance: 20, emits: [["upsert", 0, 10, "a", 2, 2, 2]] },
      { ingest: ev(3), wm: 20, outcome: "late" },
      { ingest: ev(3, { x: "bad" }), wm: 20, outcome: "rejected" },
    ]);
    expect(op.stats()).toEqual({
      accepted: 2,
      late: 1,
      rejected: 1,
      fired: 1,
      updated: 1,
      retracted: 0,
      purged: 1,
    });
    expect(op.watermarkMs).toBe(20);
  });

  it("emits partial states that deserialize to the same results", () => {
    const op = new WindowOperator({
      ...tumbling,
      aggregations: [
        { fn: "uniq", field: "u" },
        { fn: "quantiles", field: "x", quantiles: [0.5] },
        { fn: "avg", field: "x" },
      ],
    });
    for (let i = 0; i < 5; i++) op.ingest(ev(i, { u: `user-${i % 3}`, x: i }), NEG);
    const [result] = op.advance(10);
    if (result?.kind !== "upsert") throw new Error("expected an upsert");
    expect(result.results).toEqual({ uniq_u: 3, quantiles_x_p50: expect.closeTo(2, 1), avg_x: 2 });
    expect(Object.keys(result.states)).toEqual(["uniq_u", "quantiles_x", "avg_x"]);
    const [combined] = combinePartials(op.spec, [result]);
    expect(combined?.results).toEqual(result.results);
  });

  it("refuses an invalid spec", () => {
    expect(() => new WindowOperator({ ...tumbling, sizeMs: 0 })).toThrow(WindowSpecError);
  });

  it("rejects a NaN watermark loudly (a caller bug, not bad data)", () => {
    expect(() => new WindowOperator(tumbling).advance(Number.NaN)).toThrow(/window "t10": watermark is NaN/);
  });
});

describe("WindowOperator: sliding", () => {
  const sliding: WindowSpec = { ...tumbling, name: "s30", type: "sliding", sizeMs: 30, slideMs: 10 };

  it.each<{ name: string; steps: Step[] }>([
    {
      name: "an event updates size/slide windows, which fire one slide apart",
      steps: [
        { ingest: ev(25), wm: NEG, outcome: "accepted" },
        { advance: 29, emits: [] },
        { advance: 30, emits: [["upsert", 0, 30, "a", 1, 1, 1]], open: 3 },
        { advance: 40, emits: [["upsert", 10, 40, "a", 1, 1, 1]] },
        {
          advance: 50,
          emits: [["upsert", 20, 50, "a", 1, 1, 1]],
          open: 1, // [0,30) and [10,40) purged at 35 and 45
        },
      ],
    },
    {
      name: "a late event only updates the windows still within lateness; no window at all means late",
      steps: [
        { ingest: ev(25), wm: NEG, outcome: "accepted" },
        { advance: 36, emits: [["upsert", 0, 30, "a", 1, 1, 1]], open: 2 },
        { ingest: ev(21), wm: 36, outcome: "accepted" }, // [0,30) is gone; [10,40) and [20,50) take it
        { advance: 40, emits: [["upsert", 10, 40, "a", 1, 2, 2]] },
        { ingest: ev(5), wm: 46, outcome: "late" }, // [-20,10), [-10,20), [0,30) all expired
      ],
    },
  ])("$name", ({ steps }) => {
    play(sliding, steps);
  });

  it("reports how many windows an event updated", () => {
    const op = new WindowOperator(sliding);
    expect(op.ingest(ev(25), NEG)).toEqual({ kind: "accepted", windows: 3 });
    expect(op.ingest(ev(21), 36)).toEqual({ kind: "accepted", windows: 2 });
  });
});

describe("WindowOperator: session", () => {
  const session: WindowSpec = {
    ...tumbling,
    name: "sess",
    type: "session",
    gapMs: 10,
    allowedLatenessMs: 100,
  };

  it.each<{ name: string; steps: Step[]; spec?: WindowSpec }>([
    {
      name: "in-order events extend one session, which fires at last event + gap",
      steps: [
        { ingest: ev(0), wm: NEG, outcome: "accepted" },
        { ingest: ev(5), wm: NEG, outcome: "accepted" },
        { ingest: ev(14), wm: NEG, outcome: "accepted" },
        { advance: 23, emits: [], open: 1 },
        { advance: 24, emits: [["upsert", 0, 24, "a", 1, 3, 3]] },
      ],
    },
    {
      name: "an event exactly one gap after the previous one starts a new session",
      steps: [
        { ingest: ev(0), wm: NEG, outcome: "accepted" },
        { ingest: ev(10), wm: NEG, outcome: "accepted" },
        {
          advance: 20,
          emits: [
            ["upsert", 0, 10, "a", 1, 1, 1],
            ["upsert", 10, 20, "a", 1, 1, 1],
          ],
        },
      ],
    },
    {
      name: "a late event bridging two fired sessions: the earlier keeps its identity, the later is retracted",
      steps: [
        { ingest: ev(0), wm: NEG, outcome: "accepted" },
        { ingest: ev(15), wm: NEG, outcome: "accepted" },
        {
          advance: 30,
          emits: [
            ["upsert", 0, 10, "a", 1, 1, 1],
            ["upsert", 15, 25, "a", 1, 1, 1],
          ],
          open: 2,
        },
        { ingest: ev(8, { x: 5 }), wm: 30, outcome: "accepted" },
        {
          advance: 30,
          emits: [
            ["upsert", 0, 25, "a", 2, 3, 7],
            ["retract", 15, 25, "a", 2, null, null],
          ],
          open: 1,
        },
      ],
    },
    {
      name: "a late event before a fired session moves its start: new identity, old one retracted",
      steps: [
        { ingest: ev(20), wm: NEG, outcome: "accepted" },
        { advance: 40, emits: [["upsert", 20, 30, "a", 1, 1, 1]] },
        { ingest: ev(15), wm: 40, outcome: "accepted" },
        {
          advance: 40,
          emits: [
            ["upsert", 15, 30, "a", 1, 2, 2],
            ["retract", 20, 30, "a", 2, null, null],
          ],
        },
      ],
    },
    {
      name: "sessions merged before firing emit nothing extra",
      steps: [
        { ingest: ev(0), wm: NEG, outcome: "accepted" },
        { ingest: ev(15), wm: NEG, outcome: "accepted" },
        { ingest: ev(8), wm: NEG, outcome: "accepted" },
        { advance: 100, emits: [["upsert", 0, 25, "a", 1, 3, 3]] },
      ],
    },
    {
      name: "a late event inside a kept session is accepted even when far behind the watermark",
      spec: { ...session, gapMs: 1000, allowedLatenessMs: 10 },
      steps: [
        { ingest: ev(0), wm: NEG, outcome: "accepted" },
        { ingest: ev(900), wm: NEG, outcome: "accepted" },
        { ingest: ev(100), wm: 1500, outcome: "accepted" }, // 100 < 1500 - 10, but inside [0, 1900)
        { advance: 1900, emits: [["upsert", 0, 1900, "a", 1, 3, 3]] },
      ],
    },
    {
      name: "an event that would start a session more than allowed lateness behind is late",
      spec: { ...session, allowedLatenessMs: 10 },
      steps: [
        { ingest: ev(0), wm: NEG, outcome: "accepted" },
        { advance: 20, emits: [["upsert", 0, 10, "a", 1, 1, 1]], open: 0 },
        { ingest: ev(5), wm: 20, outcome: "late" }, // would overlap the purged [0, 10)
        { ingest: ev(9), wm: 20, outcome: "late" },
        { ingest: ev(10), wm: 20, outcome: "accepted" }, // 10 >= 20 - 10: cannot overlap anything purged
        { advance: 20, emits: [["upsert", 10, 20, "a", 1, 1, 1]] },
      ],
    },
    {
      name: "a fired session extended by a late event keeps emitting updates while it grows",
      steps: [
        { ingest: ev(0), wm: NEG, outcome: "accepted" },
        { advance: 10, emits: [["upsert", 0, 10, "a", 1, 1, 1]] },
        { ingest: ev(9), wm: 10, outcome: "accepted" },
        { advance: 10, emits: [["upsert", 0, 19, "a", 2, 2, 2]] },
        { ingest: ev(18), wm: 10, outcome: "accepted" },
        { advance: 28, emits: [["upsert", 0, 28, "a", 3, 3, 3]] },
        { advance: 128, emits: [], open: 0 },
      ],
    },
  ])("$name", ({ steps, spec }) => {
    play(spec ?? session, steps);
  });

  it("counts retractions", () => {
    const op = new WindowOperator(session);
    op.ingest(ev(0), NEG);
    op.ingest(ev(15), NEG);
    op.advance(30);
    op.ingest(ev(8), 30);
    op.advance(30);
    expect(op.stats()).toMatchObject({ fired: 2, updated: 1, retracted: 1 });
  });
});

describe("foldResults, liveWindows and combinePartials", () => {
  const upsert = (revision: number, start = 0): WindowUpsert => ({
    kind: "upsert",
    windowName: "t10",
    windowStart: start,
    windowEnd: start + 10,
    groupKey: ["a"],
    revision,
    states: {},
    results: { count: revision },
  });

  it("keeps the highest revision per identity, tombstones retractions and ignores replays", () => {
    const retract: WindowResult = {
      kind: "retract",
      windowName: "t10",
      windowStart: 0,
      windowEnd: 10,
      groupKey: ["a"],
      revision: 3,
    };
    const view = foldResults([upsert(1), upsert(2), upsert(1, 10), retract, upsert(2), upsert(1)]);
    expect(liveWindows(view)).toEqual([upsert(1, 10)]);
    expect(view.get(windowIdentity(upsert(1)))).toEqual(retract);
  });

  it("windowIdentity distinguishes value types in group keys", () => {
    expect(windowIdentity({ windowName: "w", windowStart: 0, groupKey: [1] })).not.toBe(
      windowIdentity({ windowName: "w", windowStart: 0, groupKey: ["1"] }),
    );
  });

  it.each<{ name: string; partial: WindowUpsert; message: RegExp }>([
    {
      name: "another window's partial",
      partial: { ...upsert(1), windowName: "other" },
      message: /belongs to window "other"/,
    },
    { name: "missing state", partial: upsert(1), message: /no state for aggregation "count"/ },
    {
      name: "corrupt state",
      partial: { ...upsert(1), states: { count: "{", sum_x: "{}" } },
      message: /aggregation "count": serialized state is not JSON/,
    },
    {
      name: "state of the wrong function",
      partial: { ...upsert(1), states: { count: '{"v":1,"fn":"min","x":1}', sum_x: "{}" } },
      message: /aggregation "count": expected a count state, got min/,
    },
  ])("combinePartials rejects $name with the window's identity", ({ partial, message }) => {
    expect(() => combinePartials(tumbling, [partial])).toThrow(WindowResultError);
    expect(() => combinePartials(tumbling, [partial])).toThrow(message);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------------------------

const aggregations = [
  { fn: "count" },
  { fn: "sum", field: "x" },
  { fn: "avg", field: "x" },
  { fn: "min", field: "x" },
  { fn: "max", field: "x" },
  { fn: "uniq", field: "u" },
  { fn: "quantiles", field: "x", quantiles: [0.5, 0.9] },
] as const;

const propertySpecs: readonly WindowSpec[] = [
  { name: "tumbling", type: "tumbling", sizeMs: 50, allowedLatenessMs: 30, groupBy: ["k"], aggregations },
  {
    name: "sliding",
    type: "sliding",
    sizeMs: 60,
    slideMs: 20,
    allowedLatenessMs: 30,
    groupBy: ["k"],
    aggregations,
  },
  { name: "session", type: "session", gapMs: 25, allowedLatenessMs: 30, groupBy: ["k"], aggregations },
  // Short gap, long lateness: late events often bridge sessions that already fired (retractions).
  {
    name: "session_bridging",
    type: "session",
    gapMs: 15,
    allowedLatenessMs: 100,
    groupBy: ["k"],
    aggregations,
  },
  { name: "session_nolate", type: "session", gapMs: 40, allowedLatenessMs: 0, groupBy: [], aggregations },
];

interface TestEvent {
  readonly t: number;
  readonly k: string;
  readonly x: number;
  readonly u: string;
}

const testEvent: fc.Arbitrary<TestEvent> = fc.record({
  t: fc.integer({ min: -50, max: 250 }),
  k: fc.constantFrom("a", "b"),
  x: fc.oneof(fc.integer({ min: -100, max: 100 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })),
  u: fc.constantFrom("u1", "u2", "u3", "u4", "u5"),
});

function toWindowEvent(e: TestEvent): WindowEvent {
  return { timestampMs: e.t, fields: { k: e.k, x: e.x, u: e.u } };
}

interface RunResult {
  readonly results: WindowResult[];
  readonly outcomes: IngestOutcome[];
  /** The watermark each event was ingested with. */
  readonly watermarks: number[];
  readonly op: WindowOperator;
}

/**
 * Feeds events in arrival order through a watermark tracker (one partition) and the operator, advancing after
 * every `advanceEvery` events, then flushes with advance(Infinity).
 */
function runOperator(
  spec: WindowSpec,
  events: readonly TestEvent[],
  maxOutOfOrdernessMs: number,
  advanceEvery = 1,
): RunResult {
  const op = new WindowOperator(spec);
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs, idleTimeoutMs: Number.POSITIVE_INFINITY });
  tracker.addPartition("p0", 0);
  const results: WindowResult[] = [];
  const outcomes: IngestOutcome[] = [];
  const watermarks: number[] = [];
  events.forEach((e, i) => {
    tracker.observe("p0", e.t, 0);
    const wm = tracker.current(0);
    watermarks.push(wm);
    outcomes.push(op.ingest(toWindowEvent(e), wm));
    if ((i + 1) % advanceEvery === 0) results.push(...op.advance(wm));
  });
  results.push(...op.advance(Number.POSITIVE_INFINITY));
  return { results, outcomes, watermarks, op };
}

/** identity → serialized states of the final live windows. */
function finalStates(results: readonly WindowResult[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const w of liveWindows(foldResults(results)))
    out.set(`${windowIdentity(w)}|${w.windowEnd}`, { ...w.states });
  return out;
}

/**
 * Batch reference: the windows of `events` computed without any streaming machinery. With `watermarks`, a fixed
 * window only takes an event if it had not expired (end + lateness <= watermark) when the event arrived.
 */
function referenceStates(
  spec: WindowSpec,
  events: readonly TestEvent[],
  watermarks?: readonly number[],
): Map<string, Record<string, string>> {
  const groupOf = (e: TestEvent): string[] => spec.groupBy.map((field) => (field === "k" ? e.k : ""));
  const cells = new Map<string, { start: number; end: number; group: string[]; events: TestEvent[] }>();
  if (spec.type === "session") {
    const byGroup = new Map<string, TestEvent[]>();
    for (const e of events) {
      const id = JSON.stringify(groupOf(e));
      byGroup.set(id, [...(byGroup.get(id) ?? []), e]);
    }
    for (const groupEvents of byGroup.values()) {
      const sorted = [...groupEvents].sort((a, b) => a.t - b.t);
      let current: { start: number; end: number; group: string[]; events: TestEvent[] } | undefined;
      for (const e of sorted) {
        if (current !== undefined && e.t < current.end) {
          current.end = Math.max(current.end, e.t + spec.gapMs);
          current.events.push(e);
        } else {
          current = { start: e.t, end: e.t + spec.gapMs, group: groupOf(e), events: [e] };
          cells.set(`${current.start}|${JSON.stringify(current.group)}`, current);
        }
      }
    }
  } else {
    events.forEach((e, i) => {
      for (const w of assignWindows(spec, e.t)) {
        if (w.end + spec.allowedLatenessMs <= (watermarks?.[i] ?? Number.NEGATIVE_INFINITY)) continue;
        const key = `${w.start}|${JSON.stringify(groupOf(e))}`;
        const cell = cells.get(key) ?? { start: w.start, end: w.end, group: groupOf(e), events: [] };
        cell.events.push(e);
        cells.set(key, cell);
      }
    });
  }
  const out = new Map<string, Record<string, string>>();
  for (const cell of cells.values()) {
    const states: Record<string, string> = {};
    for (const agg of spec.aggregations) {
      const state = createState(agg);
      for (const e of cell.events)
        addValue(state, agg.fn === "count" ? undefined : toWindowEvent(e).fields[agg.field]);
      states[aggregationName(agg)] = serializeState(state);
    }
    out.set(
      `${windowIdentity({ windowName: spec.name, windowStart: cell.start, groupKey: cell.group })}|${cell.end}`,
      states,
    );
  }
  return out;
}

/** Arrival orders whose out-of-orderness is at most `bound`: sort by t + jitter with jitter in [0, bound]. */
function boundedOrder(events: readonly TestEvent[], jitter: readonly number[]): TestEvent[] {
  return events
    .map((e, i) => ({ e, key: e.t + (jitter[i] ?? 0), i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map(({ e }) => e);
}

const BOUND = 40;

function compareKeys(a: readonly unknown[], b: readonly unknown[]): number {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

describe("WindowOperator properties", () => {
  it.each(propertySpecs.map((spec) => [spec.name, spec] as const))(
    "(a) %s: any arrival order within the out-of-orderness bound gives identical final windows, equal to a batch computation",
    (_name, spec) => {
      fc.assert(
        fc.property(
          fc.array(testEvent, { minLength: 1, maxLength: 40 }),
          fc.array(fc.integer({ min: 0, max: BOUND }), { maxLength: 40 }),
          fc.array(fc.integer({ min: 0, max: BOUND }), { maxLength: 40 }),
          fc.integer({ min: 1, max: 5 }),
          (events, jitterA, jitterB, advanceEvery) => {
            const a = runOperator(spec, boundedOrder(events, jitterA), BOUND, advanceEvery);
            const b = runOperator(spec, boundedOrder(events, jitterB), BOUND, 1);
            // Within the bound nothing is late, so every window fires exactly once, complete.
            expect(a.outcomes.every((o) => o.kind === "accepted")).toBe(true);
            expect(b.outcomes.every((o) => o.kind === "accepted")).toBe(true);
            expect(a.results.every((r) => r.kind === "upsert" && r.revision === 1)).toBe(true);
            const expected = referenceStates(spec, events);
            expect(finalStates(a.results)).toEqual(expected);
            expect(finalStates(b.results)).toEqual(expected);
            expect(a.op.openKeyCount()).toBe(0);
          },
        ),
        { numRuns: 40 },
      );
    },
  );

  it.each(propertySpecs.map((spec) => [spec.name, spec] as const))(
    "(b) %s: splitting input across workers and merging their partial states equals one worker",
    (_name, spec) => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(testEvent, fc.nat(3)), { minLength: 1, maxLength: 40 }),
          fc.array(fc.integer({ min: 0, max: BOUND }), { maxLength: 40 }),
          fc.integer({ min: 1, max: 4 }),
          (items, jitter, workers) => {
            const ordered = boundedOrder(
              items.map(([e]) => e),
              jitter,
            );
            const workerOf = new Map(items.map(([e, w]) => [e, w % workers] as const));
            const single = liveWindows(foldResults(runOperator(spec, ordered, BOUND).results));
            const partials: WindowUpsert[] = [];
            for (let w = 0; w < workers; w++) {
              // Each worker sees its share in the same relative order, with its own watermark.
              const share = ordered.filter((e) => workerOf.get(e) === w);
              partials.push(...liveWindows(foldResults(runOperator(spec, share, BOUND).results)));
            }
            const merged = combinePartials(spec, partials);
            // One worker's windows, in combinePartials' shape and order.
            const expected = combinePartials(spec, single);
            expect(expected).toHaveLength(single.length);
            expect(merged).toEqual(expected);
            const byStart = [...single].sort(
              (a, b) =>
                a.windowStart - b.windowStart ||
                a.windowEnd - b.windowEnd ||
                compareKeys(a.groupKey, b.groupKey),
            );
            expect(expected.map((w) => [w.windowStart, w.windowEnd, w.states, w.results])).toEqual(
              byStart.map((w) => [w.windowStart, w.windowEnd, w.states, w.results]),
            );
          },
        ),
        { numRuns: 40 },
      );
    },
  );

  it.each(propertySpecs.map((spec) => [spec.name, spec] as const))(
    "(c) %s: with late events, final windows equal a batch over the accepted events; revisions step by 1",
    (_name, spec) => {
      fc.assert(
        fc.property(
          fc.array(testEvent, { minLength: 1, maxLength: 50 }),
          // Jitter far beyond the bound: many events are late, some within allowed lateness, some beyond it.
          fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 50 }),
          fc.integer({ min: 0, max: 30 }),
          fc.integer({ min: 1, max: 4 }),
          (events, jitter, bound, advanceEvery) => {
            const arrival = boundedOrder(events, jitter);
            const { results, outcomes, watermarks, op } = runOperator(spec, arrival, bound, advanceEvery);
            const isAccepted = (i: number): boolean => outcomes[i]?.kind === "accepted";
            const accepted = arrival.filter((_, i) => isAccepted(i));
            const acceptedWatermarks = watermarks.filter((_, i) => isAccepted(i));
            expect(op.stats().accepted + op.stats().late).toBe(events.length);
            expect(finalStates(results)).toEqual(referenceStates(spec, accepted, acceptedWatermarks));
            const lastRevision = new Map<string, number>();
            for (const r of results) {
              const id = windowIdentity(r);
              expect(r.revision).toBe((lastRevision.get(id) ?? 0) + 1);
              lastRevision.set(id, r.revision);
              if (r.kind === "retract") expect(spec.type).toBe("session");
            }
            expect(op.openKeyCount()).toBe(0);
          },
        ),
        { numRuns: 60 },
      );
    },
  );
});
