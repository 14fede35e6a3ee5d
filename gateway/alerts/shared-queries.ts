/**
 * Rules that ask the same question share one query. Many rules watch the same metric with other
 * thresholds (warning and critical, one per team's on-call), so the evaluator ends every range at the
 * next whole second (`sharedRangeEndMs`: never before now, so no row already there is missed) and runs a
 * question asked again while the first is in flight only once (`SharedQueries`): rules whose slots fall in
 * the same second then cost one query, not one each.
 */
import type { QueryRequest } from "../../api/v1alpha1/query.js";

/** The quantum range ends are rounded up to. */
export const rangeEndQuantumMs = 1_000;

/** The end of an evaluation's range at `nowMs`: the next whole second (or now, when it is one). */
export function sharedRangeEndMs(nowMs: number): number {
  return Math.ceil(nowMs / rangeEndQuantumMs) * rangeEndQuantumMs;
}

/** The key under which a question is shared: its namespace and the request as asked. */
export function sharedQueryKey(namespace: string, request: QueryRequest): string {
  return `${namespace}\n${JSON.stringify(request)}`;
}

/** Single flight: a question asked while the same one is in flight gets that one's answer. */
export class SharedQueries<T> {
  private readonly inFlight = new Map<string, Promise<T>>();
  private asked = 0;
  private ran = 0;

  run(key: string, query: () => Promise<T>): Promise<T> {
    this.asked++;
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    this.ran++;
    const started = query().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** Questions asked and queries run so far. */
  counts(): { readonly asked: number; readonly ran: number } {
    return { asked: this.asked, ran: this.ran };
  }
}
