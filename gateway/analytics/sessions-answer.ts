/**
 * The sessions answer from the query's grouped rows (pure): every ratio is computed here from integer
 * sums (events / sessions, bounces / sessions, total duration / sessions), so the figures are exactly
 * what the definitions in api/v1alpha1/sessions.ts say.
 */
import type { ResultValue } from "../../api/v1alpha1/query.js";
import type { SessionStats, SessionsResponse } from "../../api/v1alpha1/sessions.js";
import { dimensionValue, type SessionsPlan } from "./sessions-plan.js";

export interface SessionGroupRow {
  readonly breakdown: "all" | "time" | "dimension" | "entry" | "exit";
  readonly key: string | null;
  readonly sessions: number;
  readonly events: number;
  readonly bounces: number;
  readonly total_ms: number;
  readonly median_ms: number;
}

export function sessionStats(row: Omit<SessionGroupRow, "breakdown" | "key"> | undefined): SessionStats {
  if (row === undefined || row.sessions === 0)
    return {
      sessions: 0,
      events: 0,
      bounces: 0,
      averageDurationSeconds: null,
      medianDurationSeconds: null,
      bounceRate: null,
      eventsPerSession: null,
    };
  return {
    sessions: row.sessions,
    events: row.events,
    bounces: row.bounces,
    averageDurationSeconds: row.total_ms / row.sessions / 1000,
    medianDurationSeconds: row.median_ms / 1000,
    bounceRate: row.bounces / row.sessions,
    eventsPerSession: row.events / row.sessions,
  };
}

/** Most sessions first, then by value (nulls last), as the query ranked them. */
function ranked(rows: readonly SessionGroupRow[]): SessionGroupRow[] {
  return [...rows].sort((a, b) => {
    if (a.sessions !== b.sessions) return b.sessions - a.sessions;
    if (a.key === b.key) return 0;
    if (a.key === null) return 1;
    if (b.key === null) return -1;
    return a.key < b.key ? -1 : 1;
  });
}

export function sessionsAnswer(
  plan: SessionsPlan,
  rows: readonly SessionGroupRow[],
): Omit<SessionsResponse, "explain" | "gapSeconds"> {
  const of = (breakdown: SessionGroupRow["breakdown"]) => rows.filter((r) => r.breakdown === breakdown);
  const pages = (breakdown: "entry" | "exit") =>
    ranked(of(breakdown)).map((r) => ({ url: r.key, sessions: r.sessions }));
  const dimension = plan.request.dimension;
  return {
    summary: sessionStats(of("all")[0]),
    entryPages: pages("entry"),
    exitPages: pages("exit"),
    overTime: of("time")
      .map((r) => ({ time: new Date(Number(r.key)).toISOString(), ...sessionStats(r) }))
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)),
    byDimension:
      dimension === undefined
        ? []
        : ranked(of("dimension")).map((r) => ({
            value: dimensionValue(plan.source, dimension, r.key),
            ...sessionStats(r),
          })),
  };
}

/** The answer as tables for the exports: one row per breakdown value, `breakdown` naming which. */
export function sessionsTable(answer: Omit<SessionsResponse, "explain" | "gapSeconds">): {
  columns: string[];
  rows: Record<string, ResultValue>[];
} {
  const stats = (s: SessionStats) => ({
    sessions: s.sessions,
    events: s.events,
    bounces: s.bounces,
    average_duration_seconds: s.averageDurationSeconds,
    median_duration_seconds: s.medianDurationSeconds,
    bounce_rate: s.bounceRate,
    events_per_session: s.eventsPerSession,
  });
  return {
    columns: [
      "breakdown",
      "key",
      "sessions",
      "events",
      "bounces",
      "average_duration_seconds",
      "median_duration_seconds",
      "bounce_rate",
      "events_per_session",
    ],
    rows: [
      { breakdown: "all", key: null, ...stats(answer.summary) },
      ...answer.overTime.map((t) => ({ breakdown: "time", key: t.time, ...stats(t) })),
      ...answer.byDimension.map((d) => ({ breakdown: "dimension", key: d.value, ...stats(d) })),
      ...answer.entryPages.map((p) => ({ breakdown: "entry_page", key: p.url, sessions: p.sessions })),
      ...answer.exitPages.map((p) => ({ breakdown: "exit_page", key: p.url, sessions: p.sessions })),
    ],
  };
}
