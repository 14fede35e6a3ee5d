/**
 * A generated product-analytics dataset with known funnels (seeded random), loaded straight into a
 * pipeline's raw table, and the reference answers computed here in plain TypeScript from the events:
 * funnels by brute force over every path an entity's events allow (no SQL, no shared code with the
 * gateway's query), segments by counting. Users walk towards the funnel's steps with detours: steps out
 * of order, steps days apart (outside a window), exclusion events between steps, several attempts,
 * noise events, a null breakdown value, and events outside the queried range.
 */
import { createHash, randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { seededRandom } from "./clickstream-generator.js";
import { pipelineManifest, planOf, runtimeTestNames } from "./runtime-harness.js";

export interface AnalyticsEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly type: string;
  readonly url: string | null;
  readonly ts: number;
  readonly partition: number;
  readonly offset: number;
}

export interface DatasetOptions {
  readonly seed: number;
  readonly users: number;
  readonly startMs: number;
  /** Days the events spread over. */
  readonly days: number;
  /** Attempts (bursts of activity) per user: 1 … maxAttempts. */
  readonly maxAttempts: number;
}

export const funnelTypes = ["page_view", "click", "add_to_cart", "purchase"] as const;
const noiseTypes = ["scroll", "remove_from_cart", "page_view", "click", "add_to_cart", "purchase"] as const;

const minuteMs = 60_000;
const dayMs = 86_400_000;

/** A skewed pool of 40 urls (so a breakdown has more than 25 values) and some events without one. */
function pickUrl(random: () => number): string | null {
  if (random() < 0.05) return null;
  return `/p/${Math.floor(40 * random() ** 2)}`;
}

export function generateAnalyticsEvents(options: DatasetOptions): AnalyticsEvent[] {
  const random = seededRandom(options.seed);
  const events: Omit<AnalyticsEvent, "offset">[] = [];
  for (let u = 0; u < options.users; u++) {
    const user = `u${String(u).padStart(5, "0")}`;
    const partition = u % 3;
    const attempts = 1 + Math.floor(random() * options.maxAttempts);
    const used = new Set<number>();
    for (let a = 0; a < attempts; a++) {
      let t = options.startMs + Math.floor(random() * options.days * dayMs);
      let step = 0;
      const length = 1 + Math.floor(random() * 8);
      for (let i = 0; i < length; i++) {
        const r = random();
        // Mostly the next step; sometimes a detour (noise, an out-of-order step, an exclusion event).
        const type =
          r < 0.55 ? funnelTypes[Math.min(step, 3)] : noiseTypes[Math.floor(random() * noiseTypes.length)];
        if (type === funnelTypes[Math.min(step, 3)]) step += 1;
        // Whole seconds apart, never two events of a user at the same millisecond.
        while (used.has(t)) t += 1000;
        used.add(t);
        events.push({
          event_id: `${user}-${a}-${i}`,
          user_id: user,
          type: type ?? "scroll",
          url: pickUrl(random),
          ts: t,
          partition,
        });
        // Gaps: minutes, hours, or now and then days (past a short conversion window).
        const g = random();
        t +=
          g < 0.7
            ? Math.floor(1 + random() * 30) * minuteMs
            : g < 0.93
              ? Math.floor(1 + random() * 20) * 60 * minuteMs
              : Math.floor(1 + random() * 3) * dayMs;
      }
    }
  }
  events.sort((a, b) => a.ts - b.ts || a.partition - b.partition);
  const offsets = new Map<number, number>();
  return events.map((e) => {
    const offset = offsets.get(e.partition) ?? 0;
    offsets.set(e.partition, offset + 1);
    return { ...e, offset };
  });
}

// ---------------------------------------------------------------------------------------------------
// Reference answers, written plainly from the definitions (see api/v1alpha1/funnel.ts).

export type Predicate = (e: AnalyticsEvent) => boolean;

export interface ReferenceSegment {
  readonly op: "has_done" | "has_not_done";
  readonly event: Predicate;
  readonly atLeast: number;
  readonly fromMs: number;
  readonly toMs: number;
}

export interface ReferenceFunnel {
  readonly steps: readonly Predicate[];
  readonly order: "strict" | "ordered" | "any";
  readonly windowMs: number;
  readonly exclusions: readonly { readonly event: Predicate; readonly gaps: readonly number[] }[];
  readonly breakdown?: {
    readonly value: (e: AnalyticsEvent) => string | null;
    readonly attribution: { type: "first_touch" } | { type: "step"; step: number };
    readonly limit: number;
  };
  readonly bins: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly segment?: ReferenceSegment;
  /** Who converts: the user by default; events without one are left out. */
  readonly entity?: (e: AnalyticsEvent) => string | null;
}

export interface ReferenceBucket {
  readonly value: string | null;
  readonly other: boolean;
  readonly counts: number[];
  readonly medianMs: number | null;
}

export interface ReferenceAnswer {
  readonly counts: number[];
  readonly converted: number;
  readonly medianMs: number | null;
  readonly edgesMs: number[];
  readonly histogram: number[];
  readonly buckets: ReferenceBucket[];
}

function byTime(a: AnalyticsEvent, b: AnalyticsEvent): number {
  return a.ts - b.ts || a.partition - b.partition || a.offset - b.offset;
}

/** Entities in (has_done) or out of (has_not_done) the segment: the set the funnel or query keeps. */
export function segmentKeeps(
  events: readonly AnalyticsEvent[],
  segment: ReferenceSegment,
  entity: (e: AnalyticsEvent) => string | null = (e) => e.user_id,
): (user: string) => boolean {
  const counts = new Map<string, number>();
  for (const e of events) {
    const who = entity(e);
    if (who !== null && e.ts >= segment.fromMs && e.ts < segment.toMs && segment.event(e))
      counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return (user) => (counts.get(user) ?? 0) >= segment.atLeast === (segment.op === "has_done");
}

interface EntityOutcome {
  readonly level: number;
  readonly ttcMs: number | null;
  readonly value: string | null;
}

/**
 * Every valid path, by brute force: indexes i0 < i1 < … with event i_k matching step k, the last within
 * the window of the first, consecutive in strict mode, and no exclusion event for gap k strictly between
 * i_k and i_k+1. The answer's path: the longest; of those, the earliest end; of those, the one with the
 * latest step before the end, then the latest before that, and so on.
 */
function orderedOutcome(evs: readonly AnalyticsEvent[], f: ReferenceFunnel): EntityOutcome {
  const excludes = (gap: number, from: number, to: number) => {
    for (let p = from + 1; p < to; p++) {
      const e = evs[p];
      if (e !== undefined && f.exclusions.some((x) => x.gaps.includes(gap) && x.event(e))) return true;
    }
    return false;
  };
  let best: number[] = [];
  const better = (path: number[]): boolean => {
    if (path.length !== best.length) return path.length > best.length;
    const endA = path[path.length - 1] ?? 0;
    const endB = best[best.length - 1] ?? 0;
    if (endA !== endB) return endA < endB;
    for (let k = path.length - 2; k >= 0; k--) {
      if ((path[k] ?? 0) !== (best[k] ?? 0)) return (path[k] ?? 0) > (best[k] ?? 0);
    }
    return false;
  };
  const walk = (path: number[]) => {
    if (better(path)) best = [...path];
    const k = path.length;
    if (k === f.steps.length) return;
    const last = path[k - 1] ?? -1;
    const start = evs[path[0] ?? 0]?.ts ?? 0;
    for (let j = last + 1; j < evs.length; j++) {
      if (f.order === "strict" && k > 0 && j !== last + 1) break;
      const e = evs[j];
      if (e === undefined || !(f.steps[k] ?? (() => false))(e)) continue;
      if (k > 0 && e.ts - start > f.windowMs) break;
      if (k > 0 && excludes(k - 1, last, j)) continue;
      walk([...path, j]);
    }
  };
  walk([]);
  const level = best.length;
  const at = (k: number) => evs[best[k] ?? -1];
  const ttcMs = level === f.steps.length ? (at(level - 1)?.ts ?? 0) - (at(0)?.ts ?? 0) : null;
  const attribution = f.breakdown?.attribution;
  const value =
    attribution?.type === "step"
      ? level > attribution.step
        ? (f.breakdown?.value(at(attribution.step) as AnalyticsEvent) ?? null)
        : null
      : firstTouch(evs, f);
  return { level, ttcMs, value };
}

function firstTouch(evs: readonly AnalyticsEvent[], f: ReferenceFunnel): string | null {
  const first = evs.find((e) => f.steps.some((s) => s(e)));
  return first === undefined || f.breakdown === undefined ? null : f.breakdown.value(first);
}

/** Any order: each step event anchors [t, t + window]; the level is the most distinct steps one window holds. */
function anyOutcome(evs: readonly AnalyticsEvent[], f: ReferenceFunnel): EntityOutcome {
  const stepEvents = evs.filter((e) => f.steps.some((s) => s(e)));
  let level = 0;
  let ttcMs: number | null = null;
  for (const anchor of stepEvents) {
    const inWindow = stepEvents.filter((e) => e.ts >= anchor.ts && e.ts <= anchor.ts + f.windowMs);
    const covered = f.steps.filter((s) => inWindow.some(s)).length;
    level = Math.max(level, covered);
    if (ttcMs === null && covered === f.steps.length) {
      ttcMs = Math.max(
        ...f.steps.map((s) => (stepEvents.find((e) => e.ts >= anchor.ts && s(e))?.ts ?? 0) - anchor.ts),
      );
    }
  }
  return { level, ttcMs, value: firstTouch(evs, f) };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function referenceFunnel(events: readonly AnalyticsEvent[], f: ReferenceFunnel): ReferenceAnswer {
  const entity = f.entity ?? ((e: AnalyticsEvent) => e.user_id);
  const keeps = f.segment === undefined ? () => true : segmentKeeps(events, f.segment, entity);
  const byUser = new Map<string, AnalyticsEvent[]>();
  for (const e of events) {
    const who = entity(e);
    if (who === null || e.ts < f.fromMs || e.ts >= f.toMs || !keeps(who)) continue;
    byUser.set(who, [...(byUser.get(who) ?? []), e]);
  }
  const n = f.steps.length;
  const groups = new Map<string | null, { entered: number; counts: number[]; ttcs: number[] }>();
  const all = { counts: new Array<number>(n).fill(0), ttcs: [] as number[] };
  for (const evs of byUser.values()) {
    evs.sort(byTime);
    const outcome = f.order === "any" ? anyOutcome(evs, f) : orderedOutcome(evs, f);
    if (outcome.level === 0) continue;
    const value = f.breakdown === undefined ? null : outcome.value;
    const group = groups.get(value) ?? { entered: 0, counts: new Array<number>(n).fill(0), ttcs: [] };
    groups.set(value, group);
    group.entered += 1;
    for (let k = 0; k < outcome.level; k++) {
      group.counts[k] = (group.counts[k] ?? 0) + 1;
      all.counts[k] = (all.counts[k] ?? 0) + 1;
    }
    if (outcome.ttcMs !== null) {
      group.ttcs.push(outcome.ttcMs);
      all.ttcs.push(outcome.ttcMs);
    }
  }
  const ranked = [...groups.entries()].sort(([va, a], [vb, b]) =>
    b.entered !== a.entered
      ? b.entered - a.entered
      : va === vb
        ? 0
        : va === null
          ? 1
          : vb === null
            ? -1
            : va < vb
              ? -1
              : 1,
  );
  const limit = f.breakdown?.limit ?? 1;
  const buckets: ReferenceBucket[] = ranked
    .slice(0, limit)
    .map(([value, g]) => ({ value, other: false, counts: g.counts, medianMs: median(g.ttcs) }));
  const rest = ranked.slice(limit);
  if (rest.length > 0)
    buckets.push({
      value: null,
      other: true,
      counts: new Array<number>(n)
        .fill(0)
        .map((_, k) => rest.reduce((s, [, g]) => s + (g.counts[k] ?? 0), 0)),
      medianMs: median(rest.flatMap(([, g]) => g.ttcs)),
    });
  const ttcs = all.ttcs;
  let edgesMs: number[] = [];
  let histogram: number[] = [];
  if (ttcs.length > 0) {
    const min = Math.min(...ttcs);
    const width = Math.ceil((Math.max(...ttcs) - min + 1) / f.bins);
    edgesMs = Array.from({ length: f.bins + 1 }, (_, i) => min + i * width);
    histogram = new Array<number>(f.bins).fill(0);
    for (const t of ttcs) {
      const bin = Math.floor((t - min) / width);
      histogram[bin] = (histogram[bin] ?? 0) + 1;
    }
  }
  return { counts: all.counts, converted: ttcs.length, medianMs: median(ttcs), edgesMs, histogram, buckets };
}

// ---------------------------------------------------------------------------------------------------
// Loading into ClickHouse.

export interface LoadedAnalyticsDataset {
  readonly spec: PipelineSpec;
  readonly pipeline: PipelineObject;
  readonly namespace: string;
  readonly rawTable: string;
  readonly events: readonly AnalyticsEvent[];
}

const ready = [
  { type: "Ready", status: "True" as const, reason: "Ready", message: "", lastTransitionTime: "" },
];

function clickhouseTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** The example clickstream pipeline's spec pointed at `table` (the raw table this dataset fills). */
export function analyticsPipeline(
  label: string,
  table?: string,
): { spec: PipelineSpec; pipeline: PipelineObject; namespace: string } {
  const names = runtimeTestNames(label, `an-${label}-${randomUUID().slice(0, 8)}`);
  const spec = planOf(pipelineManifest(table === undefined ? names : { ...names, table })).spec;
  return {
    spec,
    namespace: names.namespace,
    pipeline: {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Pipeline",
      metadata: { name: names.pipeline, namespace: names.namespace, resourceVersion: "1" },
      spec,
      status: { conditions: ready },
    },
  };
}

/** Creates the raw table and inserts the events (in chunks), as the runtime's sink would have. */
export async function insertAnalyticsEvents(
  clickhouse: ClickHouseClient,
  spec: PipelineSpec,
  events: readonly AnalyticsEvent[],
): Promise<void> {
  for (const statement of renderRawTableDdl(spec).statements) await clickhouse.command({ query: statement });
  const { database, table } = spec.sink.clickhouse;
  const chunk = 100_000;
  for (let i = 0; i < events.length; i += chunk) {
    await clickhouse.insert({
      table: `${database}.${table}`,
      format: "JSONEachRow",
      values: events.slice(i, i + chunk).map((e) => ({
        event_id: e.event_id,
        user_id: e.user_id,
        session_id: null,
        type: e.type,
        url: e.url,
        ts: clickhouseTime(e.ts),
        latency_ms: null,
        value: null,
        _topic: "generated",
        _partition: e.partition,
        _offset: e.offset,
      })),
    });
  }
}

export async function loadAnalyticsDataset(
  clickhouse: ClickHouseClient,
  label: string,
  options: DatasetOptions,
): Promise<LoadedAnalyticsDataset> {
  const { spec, pipeline, namespace } = analyticsPipeline(label);
  const events = generateAnalyticsEvents(options);
  await insertAnalyticsEvents(clickhouse, spec, events);
  return {
    spec,
    pipeline,
    namespace,
    rawTable: `${spec.sink.clickhouse.database}.${spec.sink.clickhouse.table}`,
    events,
  };
}

export async function dropAnalyticsDataset(clickhouse: ClickHouseClient, spec: PipelineSpec): Promise<void> {
  const { database, table } = spec.sink.clickhouse;
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${qualifiedName(database, table, "test")}` });
}

/** A stable name for a generated dataset's table: the same options give the same table (bench reuse). */
export function datasetTableName(options: DatasetOptions): string {
  return `an_bench_${createHash("sha256").update(JSON.stringify(options)).digest("hex").slice(0, 12)}`;
}
