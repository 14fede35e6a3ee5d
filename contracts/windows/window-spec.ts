// Window definitions for the event-time core. All times are integer milliseconds.
//
// These types are the runtime's view of a Pipeline's `windows` entry. The CRD schema rejects most bad specs at
// `kubectl apply`; `validateWindowSpec` re-checks the semantic rules here because the runtime must never trust
// its input (a spec could come from an older CRD version or a hand-edited ConfigMap).

/** Event timestamps are limited to the range a JavaScript `Date` can represent (±100,000,000 days). */
export const MIN_EVENT_TIME_MS = -8.64e15;
export const MAX_EVENT_TIME_MS = 8.64e15;

/**
 * Upper bound for sizes, slides, gaps and lateness (~317 years). Together with the event-time range this keeps
 * every derived instant (`t + size + lateness`, `t - size`) a safe integer, so window arithmetic is exact.
 */
export const MAX_DURATION_MS = 1e13;

/** A sliding window assigns each event to size/slide windows; cap it so one event cannot blow up state. */
const MAX_WINDOWS_PER_EVENT = 1000;

/** Names that become ClickHouse columns or Redis hash fields must be plain identifiers. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

interface CountAggregation {
  readonly fn: "count";
  /** Output name; defaults to "count". */
  readonly as?: string;
}

interface NumericAggregation {
  readonly fn: "sum" | "avg" | "min" | "max";
  readonly field: string;
  /** Output name; defaults to `${fn}_${field}`. */
  readonly as?: string;
}

interface UniqAggregation {
  readonly fn: "uniq";
  readonly field: string;
  /** Output name; defaults to `uniq_${field}`. */
  readonly as?: string;
}

interface QuantilesAggregation {
  readonly fn: "quantiles";
  readonly field: string;
  /** Each in the open interval (0, 1). */
  readonly quantiles: readonly number[];
  /** Output name prefix; defaults to `quantiles_${field}`; one result per quantile, e.g. `${as}_p99`. */
  readonly as?: string;
}

export type AggregationSpec = CountAggregation | NumericAggregation | UniqAggregation | QuantilesAggregation;
export type AggregationFn = AggregationSpec["fn"];

export const AGGREGATION_FNS = [
  "count",
  "sum",
  "avg",
  "min",
  "max",
  "uniq",
  "quantiles",
] as const satisfies readonly AggregationFn[];

interface WindowSpecBase {
  readonly name: string;
  /** Field names whose values form the group key; empty means one global group. */
  readonly groupBy: readonly string[];
  readonly aggregations: readonly AggregationSpec[];
  /** How long after a window fires late events may still update it (0 = no late updates). */
  readonly allowedLatenessMs: number;
}

export interface TumblingWindowSpec extends WindowSpecBase {
  readonly type: "tumbling";
  readonly sizeMs: number;
}

export interface SlidingWindowSpec extends WindowSpecBase {
  readonly type: "sliding";
  readonly sizeMs: number;
  /** Must divide sizeMs, so every event falls in exactly sizeMs / slideMs windows. */
  readonly slideMs: number;
}

export interface SessionWindowSpec extends WindowSpecBase {
  readonly type: "session";
  /** A session closes after gapMs without events; each event covers [t, t + gapMs). */
  readonly gapMs: number;
}

export type WindowSpec = TumblingWindowSpec | SlidingWindowSpec | SessionWindowSpec;

interface WindowSpecIssue {
  /** JSON-pointer-like path inside the spec, e.g. "aggregations/2/quantiles/0". */
  readonly path: string;
  readonly message: string;
}

export class WindowSpecError extends Error {
  readonly code = "INVALID_WINDOW_SPEC";
  readonly windowName: string;
  readonly issues: readonly WindowSpecIssue[];

  constructor(windowName: string, issues: readonly WindowSpecIssue[]) {
    super(
      `window "${windowName}" is invalid: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
    );
    this.name = "WindowSpecError";
    this.windowName = windowName;
    this.issues = issues;
  }
}

/** Formats a quantile as a column-safe label: 0.5 → "p50", 0.999 → "p99_9", 0.001 → "p0_1". */
export function quantileLabel(quantile: number): string {
  // Round away binary noise (0.29 * 100 = 28.999999999999996) before printing.
  const percent = Math.round(quantile * 100 * 1e6) / 1e6;
  return `p${String(percent).replace(".", "_")}`;
}

/** The output name of one aggregation (for quantiles: the prefix of its per-quantile results). */
export function aggregationName(spec: AggregationSpec): string {
  if (spec.as !== undefined) return spec.as;
  switch (spec.fn) {
    case "count":
      return "count";
    case "sum":
    case "avg":
    case "min":
    case "max":
    case "uniq":
    case "quantiles":
      return `${spec.fn}_${spec.field}`;
    default:
      return assertNever(spec);
  }
}

/** The result columns one aggregation produces, in order. */
export function resultNames(spec: AggregationSpec): string[] {
  const name = aggregationName(spec);
  if (spec.fn === "quantiles") return spec.quantiles.map((q) => `${name}_${quantileLabel(q)}`);
  return [name];
}

function isDuration(value: number, allowZero: boolean): boolean {
  return Number.isSafeInteger(value) && (allowZero ? value >= 0 : value > 0) && value <= MAX_DURATION_MS;
}

function durationMessage(allowZero: boolean): string {
  return `must be an integer number of milliseconds, ${allowZero ? ">= 0" : "> 0"} and <= ${MAX_DURATION_MS}`;
}

/** Returns every problem with the spec (empty when valid), so an operator condition can list them all at once. */
export function validateWindowSpec(spec: WindowSpec): WindowSpecIssue[] {
  const issues: WindowSpecIssue[] = [];
  const issue = (path: string, message: string): void => {
    issues.push({ path, message });
  };

  if (!IDENTIFIER.test(spec.name))
    issue("name", `"${spec.name}" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  if (!isDuration(spec.allowedLatenessMs, true)) issue("allowedLatenessMs", durationMessage(true));

  switch (spec.type) {
    case "tumbling":
      if (!isDuration(spec.sizeMs, false)) issue("sizeMs", durationMessage(false));
      break;
    case "sliding":
      if (!isDuration(spec.sizeMs, false)) issue("sizeMs", durationMessage(false));
      if (!isDuration(spec.slideMs, false)) issue("slideMs", durationMessage(false));
      else if (isDuration(spec.sizeMs, false)) {
        if (spec.sizeMs % spec.slideMs !== 0) {
          issue(
            "slideMs",
            `must divide sizeMs (${spec.sizeMs} % ${spec.slideMs} = ${spec.sizeMs % spec.slideMs})`,
          );
        } else if (spec.sizeMs / spec.slideMs > MAX_WINDOWS_PER_EVENT) {
          issue(
            "slideMs",
            `sizeMs / slideMs = ${spec.sizeMs / spec.slideMs} windows per event exceeds ${MAX_WINDOWS_PER_EVENT}`,
          );
        }
      }
      break;
    case "session":
      if (!isDuration(spec.gapMs, false)) issue("gapMs", durationMessage(false));
      break;
    default:
      assertNever(spec);
  }

  const seenGroupFields = new Set<string>();
  spec.groupBy.forEach((field, i) => {
    if (field.length === 0) issue(`groupBy/${i}`, "field name must not be empty");
    if (seenGroupFields.has(field)) issue(`groupBy/${i}`, `field "${field}" is listed twice`);
    seenGroupFields.add(field);
  });

  if (spec.aggregations.length === 0) issue("aggregations", "at least one aggregation is required");
  const seenOutputs = new Map<string, number>();
  spec.aggregations.forEach((agg, i) => {
    const path = `aggregations/${i}`;
    if (agg.fn !== "count" && agg.field.length === 0) issue(`${path}/field`, "field name must not be empty");
    if (agg.as !== undefined && !IDENTIFIER.test(agg.as))
      issue(`${path}/as`, `"${agg.as}" is not an identifier`);
    if (agg.fn === "quantiles") {
      if (agg.quantiles.length === 0) issue(`${path}/quantiles`, "at least one quantile is required");
      agg.quantiles.forEach((q, j) => {
        if (!(Number.isFinite(q) && q > 0 && q < 1)) issue(`${path}/quantiles/${j}`, `${q} is not in (0, 1)`);
      });
    }
    for (const output of resultNames(agg)) {
      if (!IDENTIFIER.test(output)) issue(path, `output name "${output}" is not an identifier; set "as"`);
      const previous = seenOutputs.get(output);
      if (previous !== undefined)
        issue(path, `output name "${output}" is also produced by aggregations/${previous}`);
      else seenOutputs.set(output, i);
    }
  });
  return issues;
}

/** Throws a WindowSpecError listing every problem; returns the spec unchanged when it is valid. */
export function assertValidWindowSpec<S extends WindowSpec>(spec: S): S {
  const issues = validateWindowSpec(spec);
  if (issues.length > 0) throw new WindowSpecError(spec.name, issues);
  return spec;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected variant: ${JSON.stringify(value)}`);
}
