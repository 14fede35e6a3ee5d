/**
 * When a rule is evaluated (pure). As Prometheus offsets its rule groups, each rule runs at fixed slots
 * `offset + k × interval` where the offset is a hash of namespace/name: 1,000 rules of one interval spread
 * evenly over it instead of running together, every replica computes the same slots (a rule moved to
 * another replica keeps its rhythm), and a slot missed because an evaluation overran is skipped, not run
 * late on top of the next: at most one evaluation per rule per interval. A rule never evaluated yet is
 * evaluated at once, so a new rule shows a state within seconds, not an interval (5 minutes) later.
 */
import { createHash } from "node:crypto";

/** The rule's offset within its interval, in [0, intervalMs). */
export function evaluationOffsetMs(namespace: string, name: string, intervalMs: number): number {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0)
    throw new RangeError(`intervalMs: expected a positive duration, got ${intervalMs}`);
  const digest = createHash("sha256").update(`${namespace}/${name}`).digest();
  return digest.readUInt32BE(0) % Math.floor(intervalMs);
}

/** The first slot at or after `atMs`. */
export function nextSlotMs(atMs: number, intervalMs: number, offsetMs: number): number {
  const k = Math.ceil((atMs - offsetMs) / intervalMs);
  return offsetMs + k * intervalMs;
}

/**
 * The slot after `slotMs` for an evaluation that finished at `doneMs`: slots it overran are skipped. With
 * the current interval and offset, so a changed interval takes effect at the next slot.
 */
export function slotAfter(slotMs: number, doneMs: number, intervalMs: number, offsetMs: number): number {
  return nextSlotMs(Math.max(slotMs + 1, doneMs), intervalMs, offsetMs);
}

/**
 * The first evaluation on taking a rule: at once for a rule never evaluated (its status has no
 * state yet), else its next slot, so rules taken over together (a restart, a handover) keep their spread.
 */
export function firstEvaluationMs(
  nowMs: number,
  intervalMs: number,
  offsetMs: number,
  everEvaluated: boolean,
): number {
  return everEvaluated ? nextSlotMs(nowMs, intervalMs, offsetMs) : nowMs;
}
