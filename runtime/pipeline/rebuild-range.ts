/**
 * Which raw rows a partition's state depends on (pure). After a restart or a rebalance, a worker
 * rebuilds a partition's state at its committed offset C by replaying the raw rows the partition
 * emitted below C (the raw table is exactly-once, so it is the ground truth). Only rows that can still
 * matter are read: those with event time ≥ a lower bound derived from the partition's newest event
 * time M at C (carried in the commit metadata), W = M − maxOutOfOrderness:
 *
 *  - dedup: ids whose event time is ≥ M − horizon (dedup.ts);
 *  - tumbling/sliding windows: a window is kept until end + allowedLateness ≤ W, and an event at t is in
 *    windows ending at most t + size, so events before W − allowedLateness − size are in purged windows
 *    only;
 *  - session windows: a session is kept while end + allowedLateness > W, end = last event + gap, but a
 *    kept session may reach back arbitrarily far through a chain of events less than `gap` apart. The
 *    bound starts at W − allowedLateness − gap and is pushed back until no kept chain can reach before
 *    it (`sessionLookbackSafe`).
 *
 * Replaying a subset is exact: rows below the bound can only belong to windows that are purged by W,
 * and the running watermark the replay recomputes equals the original one from the first replayed row
 * on (a skipped row has an older event time than every replayed row after it, so it never held the
 * running maximum there).
 */
import type { WindowSpec } from "../../contracts/windows/window-spec.js";
import type { Row } from "../decode/row.js";
import type { PipelinePlan } from "./pipeline-plan.js";

/** The event-time lower bound of the rows to replay, before the session chain check. */
export function rebuildLowerBound(plan: PipelinePlan, maxEventTimeMs: number): number {
  if (!Number.isFinite(maxEventTimeMs)) return maxEventTimeMs;
  const watermark = maxEventTimeMs - plan.eventTime.maxOutOfOrdernessMs;
  let lower = Number.POSITIVE_INFINITY;
  if (plan.dedup !== undefined) lower = Math.min(lower, maxEventTimeMs - plan.dedup.horizonMs);
  for (const spec of plan.windows)
    lower = Math.min(lower, watermark - spec.allowedLatenessMs - reachMs(spec));
  return lower;
}

function reachMs(spec: WindowSpec): number {
  switch (spec.type) {
    case "tumbling":
    case "sliding":
      return spec.sizeMs;
    case "session":
      return spec.gapMs;
  }
}

interface LookbackCheck {
  /** True when every kept session chain starts at least `gap` after the bound. */
  readonly safe: boolean;
  /** When not safe: the earliest start of a chain that reaches too close to the bound. */
  readonly earliestChainStartMs: number;
}

/**
 * Whether replaying rows with event time ≥ `lowerMs` reproduces every session that is kept at
 * watermark `watermarkMs`. `rows` are every emitted row with event time ≥ lowerMs (any order).
 * Chains are computed over every emitted row, a superset of what the windows accepted, so the check is
 * conservative.
 */
export function sessionLookbackSafe(
  specs: readonly WindowSpec[],
  rows: readonly Row[],
  timeField: string,
  lowerMs: number,
  watermarkMs: number,
): LookbackCheck {
  let earliest = Number.POSITIVE_INFINITY;
  let safe = true;
  for (const spec of specs) {
    if (spec.type !== "session") continue;
    const byKey = new Map<string, number[]>();
    for (const row of rows) {
      const time = row[timeField];
      if (typeof time !== "number") continue;
      const key = JSON.stringify(spec.groupBy.map((f) => row[f] ?? null));
      let times = byKey.get(key);
      if (times === undefined) {
        times = [];
        byKey.set(key, times);
      }
      times.push(time);
    }
    for (const times of byKey.values()) {
      times.sort((a, b) => a - b);
      let chainStart = Number.NaN;
      let chainEnd = Number.NEGATIVE_INFINITY;
      const checkChain = (): void => {
        // A chain is kept when end + lateness > watermark; it is at risk when it starts within gap of the bound.
        if (
          !Number.isNaN(chainStart) &&
          chainEnd + spec.allowedLatenessMs > watermarkMs &&
          chainStart < lowerMs + spec.gapMs
        ) {
          safe = false;
          earliest = Math.min(earliest, chainStart);
        }
      };
      for (const t of times) {
        if (t >= chainEnd) {
          checkChain();
          chainStart = t;
        }
        chainEnd = Math.max(chainEnd, t + spec.gapMs);
      }
      checkChain();
    }
  }
  return { safe, earliestChainStartMs: earliest };
}

export interface RebuildRow {
  readonly offset: number;
  readonly row: Row;
}

/** Rows of the partition below the committed offset with event time in [fromMs, toMs). */
type FetchRebuildRows = (fromMs: number, toMs: number) => Promise<readonly RebuildRow[]>;

interface RebuildRows {
  readonly rows: readonly RebuildRow[];
  /** The event-time bound finally used. */
  readonly lowerMs: number;
  /** How many times the bound was pushed back for session chains. */
  readonly extensions: number;
}

const MAX_EXTENSIONS = 32;

/**
 * Fetches the rows a partition's state at its committed offset depends on, pushing the bound back
 * (each time by at least twice the span covered so far) until no kept session chain can reach
 * before it. Rows come back in offset order, ready for PartitionProcessor.restore.
 */
export async function collectRebuildRows(
  plan: PipelinePlan,
  maxEventTimeMs: number,
  fetch: FetchRebuildRows,
): Promise<RebuildRows> {
  if (!Number.isFinite(maxEventTimeMs)) return { rows: [], lowerMs: maxEventTimeMs, extensions: 0 };
  const watermark = maxEventTimeMs - plan.eventTime.maxOutOfOrdernessMs;
  let lower = rebuildLowerBound(plan, maxEventTimeMs);
  const rows = [...(await fetch(lower, Number.POSITIVE_INFINITY))];
  let extensions = 0;
  for (; extensions < MAX_EXTENSIONS; extensions++) {
    const check = sessionLookbackSafe(
      plan.windows,
      rows.map((r) => r.row),
      plan.eventTime.field,
      lower,
      watermark,
    );
    if (check.safe) break;
    const gap = Math.max(...plan.windows.map((w) => (w.type === "session" ? w.gapMs : 0)));
    const next = Math.min(
      check.earliestChainStartMs - gap,
      lower - 2 * Math.max(maxEventTimeMs - lower, gap),
    );
    rows.push(...(await fetch(next, lower)));
    lower = next;
  }
  if (extensions === MAX_EXTENSIONS) {
    throw new Error(
      `pipeline ${plan.namespace}/${plan.name}: a session chain still reaches before ${new Date(lower).toISOString()} after ${MAX_EXTENSIONS} extensions of the rebuild range`,
    );
  }
  rows.sort((a, b) => a.offset - b.offset);
  return { rows, lowerMs: lower, extensions };
}
