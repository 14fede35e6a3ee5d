/**
 * What a window operator emits and how readers combine it: the results (upserts and retractions with
 * revisions), their identity, folding a stream of results into the latest view, and merging several
 * workers' partial windows into whole-input windows. The runtime writes these shapes to ClickHouse and
 * Redis; the gateway and the tests read them back, so they live in the shared contracts.
 */
import {
  type AggregationState,
  deserializeState,
  mergeStates,
  resultsFor,
  serializeState,
} from "./aggregation.js";
import { type SessionInterval, SessionSet } from "./window-assignment.js";
import { aggregationName, assertNever, type WindowSpec } from "./window-spec.js";

/** A group-by value. Missing fields group as null. */
export type GroupValue = string | number | boolean | null;

export interface WindowUpsert {
  readonly kind: "upsert";
  readonly windowName: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly groupKey: readonly GroupValue[];
  /** 1 when the window fires, +1 for every later update (or retraction) of the same identity. */
  readonly revision: number;
  /** Serialized partial state per aggregation, keyed by aggregation name (see aggregation.ts). */
  readonly states: Readonly<Record<string, string>>;
  /** Final numbers keyed by result name (see `resultNames` in window-spec.ts). */
  readonly results: Readonly<Record<string, number | null>>;
}

export interface WindowRetraction {
  readonly kind: "retract";
  readonly windowName: string;
  readonly windowStart: number;
  /** The end the retracted window had when it was last emitted. */
  readonly windowEnd: number;
  readonly groupKey: readonly GroupValue[];
  readonly revision: number;
}

export type WindowResult = WindowUpsert | WindowRetraction;

export class WindowResultError extends Error {
  readonly code = "INVALID_PARTIAL";
  readonly windowName: string;
  readonly windowStart: number;
  readonly groupKey: readonly GroupValue[];

  constructor(
    partial: Pick<WindowUpsert, "windowName" | "windowStart" | "groupKey">,
    reason: string,
    cause?: unknown,
  ) {
    super(
      `window "${partial.windowName}" start ${partial.windowStart} group ${JSON.stringify(partial.groupKey)}: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = "WindowResultError";
    this.windowName = partial.windowName;
    this.windowStart = partial.windowStart;
    this.groupKey = partial.groupKey;
  }
}

/** The compact Map key of an open window inside one operator (the operator handles a single window name). */
export function recordKey(start: number, groupKeyId: string): string {
  return `${start}|${groupKeyId}`;
}

/** A string identifying a window across operators and workers: name, start and group key. */
export function windowIdentity(
  result: Pick<WindowResult, "windowName" | "windowStart" | "groupKey">,
): string {
  return `${result.windowName}|${result.windowStart}|${JSON.stringify(result.groupKey)}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Consuming results
// ---------------------------------------------------------------------------------------------------------------

/**
 * Applies results to a view keyed by `windowIdentity`, as an idempotent sink does: a result replaces the stored
 * one only if its revision is higher, and a retraction stays as a tombstone so that a stale upsert replayed later
 * cannot resurrect the window. Replaying the same results is a no-op.
 */
export function foldResults(
  results: Iterable<WindowResult>,
  view: Map<string, WindowResult> = new Map(),
): Map<string, WindowResult> {
  for (const result of results) {
    const id = windowIdentity(result);
    const current = view.get(id);
    if (current === undefined || result.revision > current.revision) view.set(id, result);
  }
  return view;
}

/** The live (non-retracted) windows of a folded view, in a stable order. */
export function liveWindows(view: ReadonlyMap<string, WindowResult>): WindowUpsert[] {
  return [...view.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .flatMap(([, result]) => (result.kind === "upsert" ? [result] : []));
}

/** A window combined from the partial results of several workers (no revision: it is a query-time view). */
export interface CombinedWindow {
  readonly windowName: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly groupKey: readonly GroupValue[];
  readonly states: Readonly<Record<string, string>>;
  readonly results: Readonly<Record<string, number | null>>;
}

interface PartialCell extends SessionInterval {
  readonly groupKey: readonly GroupValue[];
  readonly states: AggregationState[];
}

/**
 * Merges the latest partial results of several workers (each worker's own latest revision per window, e.g. from
 * `liveWindows(foldResults(...))`) into whole-input windows. Tumbling and sliding partials merge by identity;
 * session partials of a group key merge where their intervals overlap, which reproduces exactly the sessions a
 * single worker would have built from all events.
 */
export function combinePartials(spec: WindowSpec, partials: Iterable<WindowUpsert>): CombinedWindow[] {
  const names = spec.aggregations.map(aggregationName);
  const mergeCells = (a: PartialCell, b: PartialCell): PartialCell => ({
    start: Math.min(a.start, b.start),
    end: Math.max(a.end, b.end),
    groupKey: a.groupKey,
    states: a.states.map((state, i) => {
      const other = b.states[i];
      if (other === undefined) throw new Error(`window "${spec.name}": partial states differ in length`);
      return mergeStates(state, other);
    }),
  });
  const fixed = new Map<string, PartialCell>();
  const sessions = new Map<string, SessionSet<PartialCell>>();

  for (const partial of partials) {
    if (partial.windowName !== spec.name) {
      throw new WindowResultError(
        partial,
        `partial belongs to window "${partial.windowName}", not "${spec.name}"`,
      );
    }
    const states = spec.aggregations.map((agg, i) => {
      const name = names[i] ?? "";
      const text = partial.states[name];
      if (text === undefined) throw new WindowResultError(partial, `no state for aggregation "${name}"`);
      try {
        return deserializeState(text, agg.fn);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new WindowResultError(partial, `aggregation "${name}": ${reason}`, error);
      }
    });
    const cell: PartialCell = {
      start: partial.windowStart,
      end: partial.windowEnd,
      groupKey: partial.groupKey,
      states,
    };
    const groupKeyId = JSON.stringify(partial.groupKey);
    switch (spec.type) {
      case "tumbling":
      case "sliding": {
        const key = recordKey(cell.start, groupKeyId);
        const existing = fixed.get(key);
        if (existing === undefined) fixed.set(key, cell);
        else if (existing.end !== cell.end) {
          throw new WindowResultError(
            partial,
            `window end ${cell.end} disagrees with another partial's ${existing.end}`,
          );
        } else fixed.set(key, mergeCells(existing, cell));
        break;
      }
      case "session": {
        let set = sessions.get(groupKeyId);
        if (set === undefined) {
          set = new SessionSet(mergeCells);
          sessions.set(groupKeyId, set);
        }
        set.insert(cell);
        break;
      }
      default:
        assertNever(spec);
    }
  }

  const cells =
    spec.type === "session" ? [...sessions.values()].flatMap((set) => [...set.list()]) : [...fixed.values()];
  return cells
    .map((cell) => {
      const states: Record<string, string> = {};
      const results: Record<string, number | null> = {};
      spec.aggregations.forEach((agg, i) => {
        const state = cell.states[i];
        const name = names[i];
        if (state === undefined || name === undefined)
          throw new Error(`window "${spec.name}": state ${i} missing`);
        states[name] = serializeState(state);
        Object.assign(results, resultsFor(agg, state));
      });
      return {
        windowName: spec.name,
        windowStart: cell.start,
        windowEnd: cell.end,
        groupKey: cell.groupKey,
        states,
        results,
      };
    })
    .sort(
      (a, b) =>
        a.windowStart - b.windowStart ||
        a.windowEnd - b.windowEnd ||
        compareStrings(JSON.stringify(a.groupKey), JSON.stringify(b.groupKey)),
    );
}
