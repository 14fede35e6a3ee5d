/**
 * The query router (pure): from a request and the namespace's catalogue to a plan saying which tables
 * answer which part of the time range, and why every other candidate was not used.
 *
 * Among the sources that answer exactly, the coarsest rollup reads the fewest rows, so candidates are
 * tried coarsest first. A rollup answers the part of the range aligned to its buckets (and only if every
 * bucket of the query is a whole number of its buckets in the query's timezone); the edges go to the next
 * finer source, down to the raw table, so a range that does not align is still answered exactly. States
 * are merged with -Merge across segments, so uniq and quantiles stay what one pass over the events gives.
 */
import type { QueryGranularity, QueryRequest } from "../../api/v1alpha1/query.js";
import type { Segment as EntitySegmentRequest } from "../../api/v1alpha1/segment.js";
import type {
  MetricOffer,
  NamespaceCatalogue,
  PipelineCatalogue,
  RawSourceEntry,
} from "../../contracts/catalogue/source-catalogue.js";
import { resolveEntityField } from "../analytics/analytics-source.js";
import { type ResolvedSegment, resolveSegment } from "../analytics/segment-sql.js";
import { checkDimensions, checkFilter, checkOrderBy, resolveMetrics } from "./query-fields.js";
import { refuse, useOneOf } from "./query-refusal.js";
import { judgeRollup, type RollupUse } from "./rollup-eligibility.js";
import { bucketStarts, checkTimezone, offsetMs, type ResolvedRange, resolveTimeRange } from "./time-range.js";
import { planWindowQuery, type WindowPlan } from "./window-plan.js";

export interface PlanLimits {
  /** Time buckets one query may return. */
  readonly maxBuckets: number;
  /** The longest range the raw table may be scanned for. */
  readonly rawMaxRangeMs: number;
}

export const defaultPlanLimits: PlanLimits = { maxBuckets: 10_000, rawMaxRangeMs: 31 * 86_400_000 };

export type SegmentSource =
  | { readonly kind: "Pipeline"; readonly raw: RawSourceEntry }
  | { readonly kind: "Rollup"; readonly use: RollupUse };

export interface Segment {
  readonly source: SegmentSource;
  readonly fromMs: number;
  readonly toMs: number;
}

export interface CandidateVerdict {
  readonly kind: "Pipeline" | "Rollup" | "Window";
  readonly name: string;
  readonly chosen: boolean;
  readonly reason: string;
}

export interface EventsPlan {
  readonly kind: "events";
  readonly pipeline: PipelineCatalogue;
  readonly metrics: readonly MetricOffer[];
  readonly dimensions: readonly string[];
  readonly filter: QueryRequest["filter"];
  readonly range: ResolvedRange;
  readonly granularity: QueryGranularity;
  readonly timezone: string;
  readonly segments: readonly Segment[];
  readonly candidates: readonly CandidateVerdict[];
  readonly orderBy: QueryRequest["orderBy"];
  readonly limit: number;
  readonly offset: number;
  /** Only the events of the entities a segment selects (forces the raw table). */
  readonly entitySegment?: { readonly resolved: ResolvedSegment; readonly entityField: string };
}

/** Why a segment sends a query to the raw table (explain). */
export const segmentNeedsRaw = "a segment selects entities (user_id), which rollups aggregate away";

export type QueryPlan = EventsPlan | WindowPlan;

export function selectPipeline(catalogue: NamespaceCatalogue, name: string | undefined): PipelineCatalogue {
  const names = [...catalogue.pipelines.keys()];
  if (name === undefined) {
    const only = names.length === 1 ? catalogue.pipelines.get(names[0] ?? "") : undefined;
    if (only !== undefined) return only;
    if (names.length === 0)
      refuse(404, "NoPipelines", `namespace ${catalogue.namespace} has no usable Pipeline`);
    refuse(
      400,
      "PipelineRequired",
      `namespace ${catalogue.namespace} has ${names.length} pipelines; name one in "pipeline"`,
      {
        field: "pipeline",
        allowed: names,
      },
    );
  }
  const pipeline = catalogue.pipelines.get(name);
  if (pipeline === undefined)
    refuse(
      404,
      "UnknownPipeline",
      `namespace ${catalogue.namespace} has no usable Pipeline "${name}"; ${useOneOf(names)}`,
      {
        field: "pipeline",
        allowed: names,
      },
    );
  return pipeline;
}

export function planQuery(
  catalogue: NamespaceCatalogue,
  request: QueryRequest & { readonly segment?: EntitySegmentRequest | undefined },
  nowMs: number,
  limits: PlanLimits = defaultPlanLimits,
): QueryPlan {
  const pipeline = selectPipeline(catalogue, request.pipeline);
  checkTimezone(request.timezone);
  const range = resolveTimeRange(request.timeRange, request.granularity, request.timezone, nowMs);
  if (request.window !== undefined) {
    if (request.segment !== undefined)
      refuse(
        400,
        "SegmentNotSupported",
        "a live window keeps no entity to segment by; query events instead",
        {
          field: "segment",
        },
      );
    return planWindowQuery(pipeline, request, range);
  }
  const entitySegment =
    request.segment === undefined
      ? undefined
      : {
          entityField: resolveEntityField(pipeline.raw.fields, undefined, "segment"),
          resolved: resolveSegment(
            request.segment,
            pipeline.raw,
            range,
            request.timezone,
            nowMs,
            limits.rawMaxRangeMs,
          ),
        };

  const metrics = resolveMetrics(pipeline, request.metrics);
  const fieldNames = [...pipeline.raw.fields.keys()];
  checkDimensions(fieldNames, request.dimensions, `pipeline ${pipeline.name}`);
  checkFilter(request.filter, pipeline.raw.fields, `pipeline ${pipeline.name}`);
  const buckets = checkBucketCount(request, range, limits);
  checkOrderBy(request.orderBy, resultColumns(request, metrics));

  const verdicts = new Map<string, CandidateVerdict>();
  const usable: RollupUse[] = [];
  for (const rollup of pipeline.rollups) {
    if (entitySegment !== undefined) {
      verdicts.set(rollup.name, {
        kind: "Rollup",
        name: rollup.name,
        chosen: false,
        reason: segmentNeedsRaw,
      });
      continue;
    }
    const judged = judgeRollup(rollup, metrics, request.dimensions, request.filter, range.fromMs, nowMs);
    if (judged.ok) usable.push(judged.use);
    else
      verdicts.set(rollup.name, { kind: "Rollup", name: rollup.name, chosen: false, reason: judged.reason });
  }
  // Coarsest first; among equals, fewer dimensions means fewer rows.
  usable.sort(
    (a, b) =>
      b.rollup.granularityMs - a.rollup.granularityMs ||
      a.rollup.spec.dimensions.length - b.rollup.spec.dimensions.length ||
      a.rollup.name.localeCompare(b.rollup.name),
  );
  if (!pipeline.availability.ready && usable.length === 0)
    refuse(
      503,
      "SourceNotReady",
      `${pipeline.availability.reason}; no ready Rollup answers this query either`,
    );

  const fits = (use: RollupUse, fromMs: number, toMs: number) =>
    fitsBuckets(use.rollup.granularityMs, { fromMs, toMs }, request, buckets);
  const skipped = new Map<string, Skip>();
  const segments = assignSegments(range, usable, pipeline.raw, fits, skipped);
  recordVerdicts(verdicts, usable, segments, skipped, request, pipeline.name);
  if (entitySegment !== undefined) {
    const raw = verdicts.get("");
    if (raw !== undefined)
      verdicts.set("", {
        ...raw,
        reason: raw.reason.replace(": no rollup answers this query", `: ${segmentNeedsRaw}`),
      });
  }
  checkRawSpan(segments, limits, pipeline);

  return {
    kind: "events",
    pipeline,
    metrics,
    dimensions: request.dimensions,
    filter: request.filter,
    range,
    granularity: request.granularity,
    timezone: request.timezone,
    segments,
    candidates: [...verdicts.values()],
    orderBy: request.orderBy,
    limit: request.limit,
    offset: request.offset,
    ...(entitySegment === undefined ? {} : { entitySegment }),
  };
}

function checkBucketCount(
  request: QueryRequest,
  range: ResolvedRange,
  limits: PlanLimits,
): readonly number[] {
  if (request.granularity === "none") return [];
  const starts = bucketStarts(range, request.granularity, request.timezone, limits.maxBuckets);
  if (starts.length > limits.maxBuckets)
    refuse(
      422,
      "TooManyBuckets",
      `granularity ${request.granularity} over this range makes more than ${limits.maxBuckets} time buckets (the limit): use a coarser granularity or a shorter range`,
      { field: "granularity" },
    );
  return starts;
}

function resultColumns(request: QueryRequest, metrics: readonly MetricOffer[]): string[] {
  return [
    ...(request.granularity === "none" ? [] : ["time"]),
    ...request.dimensions,
    ...metrics.flatMap((m) => m.columns),
  ];
}

/**
 * Whether buckets of `sourceMs` make up the query's buckets over [fromMs, toMs): the segment's ends
 * and every query bucket start inside it fall on the source's bucket boundaries (UTC, as rollups store them).
 */
function fitsBuckets(
  sourceMs: number,
  segment: ResolvedRange,
  request: QueryRequest,
  buckets: readonly number[],
): boolean {
  if (segment.fromMs % sourceMs !== 0 || segment.toMs % sourceMs !== 0) return false;
  if (request.granularity === "none") return true;
  // A timezone offset that is not a whole number of source buckets shifts every query bucket off them.
  for (let t = segment.fromMs; t < segment.toMs; t += 86_400_000) {
    if (offsetMs(t, request.timezone) % sourceMs !== 0) return false;
  }
  return buckets.every((start) => start <= segment.fromMs || start >= segment.toMs || start % sourceMs === 0);
}

/**
 * Splits [from, to) among sources, coarsest first: the first rollup whose aligned middle is non-empty
 * and fits the buckets takes it; the edges are assigned the same way among the finer rollups, and the
 * raw table, which has no buckets, takes whatever is left.
 */
/** Why a usable rollup was passed over for a part of the range (the first time it was). */
type Skip = { readonly why: "no-whole-bucket" | "buckets-do-not-fit"; readonly range: ResolvedRange };

function assignSegments(
  range: ResolvedRange,
  rollups: readonly RollupUse[],
  raw: RawSourceEntry,
  fits: (use: RollupUse, fromMs: number, toMs: number) => boolean,
  skipped: Map<string, Skip>,
): Segment[] {
  if (range.fromMs >= range.toMs) return [];
  for (const [i, use] of rollups.entries()) {
    const size = use.rollup.granularityMs;
    const fromMs = Math.ceil(range.fromMs / size) * size;
    const toMs = Math.floor(range.toMs / size) * size;
    const why =
      fromMs >= toMs ? "no-whole-bucket" : fits(use, fromMs, toMs) ? undefined : "buckets-do-not-fit";
    if (why !== undefined) {
      if (!skipped.has(use.rollup.name)) skipped.set(use.rollup.name, { why, range });
      continue;
    }
    const finer = rollups.slice(i + 1).filter((r) => r.rollup.granularityMs < size);
    return [
      ...assignSegments({ fromMs: range.fromMs, toMs: fromMs }, finer, raw, fits, skipped),
      { source: { kind: "Rollup", use }, fromMs, toMs },
      ...assignSegments({ fromMs: toMs, toMs: range.toMs }, finer, raw, fits, skipped),
    ];
  }
  return [{ source: { kind: "Pipeline", raw }, fromMs: range.fromMs, toMs: range.toMs }];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function describeSkip(use: RollupUse, skip: Skip | undefined, request: QueryRequest): string {
  const g = use.rollup.spec.granularity;
  if (skip === undefined) return "not needed: coarser rollups answered the whole range";
  const part = `[${iso(skip.range.fromMs)}, ${iso(skip.range.toMs)})`;
  return skip.why === "no-whole-bucket"
    ? `has every metric and dimension, but no whole ${g} bucket lies inside ${part}`
    : `has every metric and dimension, but its ${g} buckets do not make up the query's ${request.granularity} buckets in ${request.timezone} over ${part}`;
}

function recordVerdicts(
  verdicts: Map<string, CandidateVerdict>,
  usable: readonly RollupUse[],
  segments: readonly Segment[],
  skipped: ReadonlyMap<string, Skip>,
  request: QueryRequest,
  pipelineName: string,
): void {
  const used = new Map<string, Segment[]>();
  for (const s of segments) {
    const key = s.source.kind === "Rollup" ? s.source.use.rollup.name : "";
    used.set(key, [...(used.get(key) ?? []), s]);
  }
  const coarsestUsed = usable.find((u) => used.has(u.rollup.name));
  for (const use of usable) {
    const name = use.rollup.name;
    const parts = used.get(name);
    const g = use.rollup.spec.granularity;
    verdicts.set(name, {
      kind: "Rollup",
      name,
      chosen: parts !== undefined,
      reason:
        parts === undefined
          ? describeSkip(use, skipped.get(name), request)
          : `answers ${parts.map((p) => `[${iso(p.fromMs)}, ${iso(p.toMs)})`).join(", ")}: ${
              use === coarsestUsed
                ? `the coarsest rollup (${g}) with every metric and dimension`
                : `a finer rollup (${g}) for what the coarser buckets do not cover`
            }`,
    });
  }
  const rawParts = used.get("");
  verdicts.set("", {
    kind: "Pipeline",
    name: pipelineName,
    chosen: rawParts !== undefined,
    reason:
      rawParts !== undefined
        ? `the raw table answers ${rawParts.map((p) => `[${iso(p.fromMs)}, ${iso(p.toMs)})`).join(", ")}${usable.length === 0 ? ": no rollup answers this query" : ": no rollup's buckets fit there"}`
        : "not needed: rollups answer the whole range",
  });
}

function checkRawSpan(segments: readonly Segment[], limits: PlanLimits, pipeline: PipelineCatalogue): void {
  const rawMs = segments
    .filter((s) => s.source.kind === "Pipeline")
    .reduce((sum, s) => sum + (s.toMs - s.fromMs), 0);
  if (rawMs > limits.rawMaxRangeMs)
    refuse(
      422,
      "RawRangeTooLong",
      `this query would scan ${Math.ceil(rawMs / 3_600_000)} h of pipeline ${pipeline.name}'s raw events; the limit is ${limits.rawMaxRangeMs / 3_600_000} h: narrow the time range, or query metrics and dimensions a Rollup has (see the explain candidates)`,
      { field: "timeRange" },
    );
}
