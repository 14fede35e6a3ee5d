/**
 * The alert state machine of one AlertRule (pure: no I/O, the clock passed in). Each series (one
 * combination of the rule's group-by values) moves Ok → Pending (breaching, for `for`) → Firing →
 * (not breaching for `keepFiringFor`) → Ok, as Prometheus's alerting rules do; NoData and Error are
 * states of their own unless the spec maps them to Ok, Firing or the last state, as Grafana does,
 * and like Grafana's since 13 (PR #117024) they wait for `for` too: Ok → Pending → NoData or Error.
 *
 * The `for` timer measures one kind of trouble at a time: breaching, or no verdict (no data or an
 * error, taken as one). A change of kind restarts it, as a Prometheus pending alert absent from one
 * evaluation is dropped: a breach after no data waits its full `for`. A rule that has never had data
 * waits at least `firstDataGraceMs` before its NoData or Error is notified: sources applied with it
 * take a while to become Ready and produce their first rows, and that is no incident.
 *
 * Notifications follow one rule: Firing, NoData and Error are *active* (the receivers hear of them);
 * a series entering the active set from Ok or Pending is one `firing` transition, leaving it for Ok
 * one `resolved` transition, and a move inside it (Firing → NoData → Firing) none, so a receiver
 * never sees two firings of one series without a resolved between them. An active episode is named
 * by the instant it began (`firedAt`); a transition's id hashes the rule, the series and that
 * instant, so a replayed evaluation, a restart or a rebuild from the status yields the same id.
 */
import { createHash } from "node:crypto";
import type {
  AlertRuleSpec,
  AlertRuleStatus,
  AlertSeriesStatus,
  AlertState,
} from "../../api/v1alpha1/alert-rule.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import { canonicalJson } from "../cache/cache-key.js";
import { evaluateCondition } from "./alert-condition.js";

/** Prometheus's `resolvedRetention`: a resolved series is kept (and re-sent as resolved) this long. */
export const resolvedRetentionMs = 15 * 60_000;
/** Grafana's default "missing series evaluations to resolve". */
const missingEvaluationsToResolve = 2;
/** Prometheus's `rules.alert.for-outage-tolerance` default. */
export const defaultOutageToleranceMs = 60 * 60_000;
/** The status keeps at most this many series (the CRD's maxItems). */
export const maxStatusSeries = 100;
/**
 * Until a rule's first data, its NoData and Error are Pending at least this long (or `for` if longer):
 * time for a source applied with the rule to become Ready and fill its first windows.
 */
export const firstDataGraceMs = 5 * 60_000;

/** What a Pending series becomes once its `for` has passed: Firing (breaching), NoData or Error. */
export type PendingOn = "Firing" | "NoData" | "Error";

export type SeriesLabels = Readonly<Record<string, string>>;

export interface SeriesState {
  readonly labels: SeriesLabels;
  readonly state: AlertState;
  readonly sinceMs: number;
  /** What was last compared with the threshold; kept through NoData and Error. */
  readonly value?: number;
  /**
   * Pending: when its `for` timer started. Firing, and NoData or Error that interrupted a Firing:
   * when the breach began (a breach back after that gap resumes the Firing).
   */
  readonly activeAtMs?: number;
  /** Pending: what it is waiting to become; absent in a record written before NoData and Error waited. */
  readonly pendingOn?: PendingOn;
  /** Active, or Ok or Pending after an active episode: when that episode began (its identity). */
  readonly firedAtMs?: number;
  /** Firing while no longer breaching: when it stopped (the `keepFiringFor` timer). */
  readonly keepFiringSinceMs?: number;
  /** Ok or Pending after an active episode: when it ended; dropped after `resolvedRetentionMs`. */
  readonly resolvedAtMs?: number;
  /** Consecutive value evaluations the series was absent from. */
  readonly missing: number;
  /** Error: the last failure. */
  readonly message?: string;
}

/** What the gateway keeps per rule (in Redis) between evaluations. */
export interface RuleState {
  readonly evaluatedAtMs?: number;
  /** Some evaluation returned data (absent: derived from the series' values, see `hadData`). */
  readonly dataSeen?: true;
  readonly series: readonly SeriesState[];
}

export const emptyRuleState: RuleState = { series: [] };

export interface SeriesValue {
  readonly labels: SeriesLabels;
  readonly value: number;
  /** Change conditions: the series' value `over` ago. */
  readonly previous?: number;
}

export type Evaluation =
  | { readonly kind: "values"; readonly series: readonly SeriesValue[] }
  | { readonly kind: "noData" }
  | { readonly kind: "error"; readonly message: string };

export interface AlertTransition {
  readonly kind: "firing" | "resolved";
  /** Stable idempotency id (webhook-id, Alertmanager dedup): see `transitionId`. */
  readonly id: string;
  readonly from: AlertState;
  /** The series after the transition. */
  readonly series: SeriesState;
}

export interface RuleStep {
  readonly state: RuleState;
  readonly transitions: readonly AlertTransition[];
}

export interface AlertRuleRef {
  readonly uid: string;
  /** The validated spec (defaults applied). */
  readonly spec: AlertRuleSpec;
}

export class AlertStateError extends Error {
  override readonly name = "AlertStateError";
}

const active: ReadonlySet<AlertState> = new Set<AlertState>(["Firing", "NoData", "Error"]);

export function isActive(state: AlertState): boolean {
  return active.has(state);
}

export function seriesKey(labels: SeriesLabels): string {
  return canonicalJson(labels);
}

/** The id of one transition: one per (rule, series, episode, kind), whoever computes it and when. */
export function transitionId(
  ruleUid: string,
  labels: SeriesLabels,
  firedAtMs: number,
  kind: AlertTransition["kind"],
): string {
  const digest = createHash("sha256")
    .update(canonicalJson([ruleUid, labels, firedAtMs, kind]))
    .digest("hex");
  return `alert_${digest.slice(0, 32)}`;
}

/** What one evaluation says about one series. */
type Signal =
  | { readonly kind: "breaching"; readonly observed?: number }
  | { readonly kind: "clear"; readonly observed?: number }
  | { readonly kind: "hold" }
  | { readonly kind: "special"; readonly state: "NoData" | "Error"; readonly message?: string };

interface Timing {
  readonly forMs: number;
  readonly keepFiringForMs: number;
  /** The rule has had data: NoData and Error wait `for` only, not `firstDataGraceMs`. */
  readonly hadData: boolean;
}

type Fields = Omit<SeriesState, "labels" | "state" | "sinceMs" | "missing">;

/** A series in `state` with exactly `fields` (anything not passed is cleared); `since` kept if the state is. */
function become(
  labels: SeriesLabels,
  prev: SeriesState | undefined,
  state: AlertState,
  nowMs: number,
  fields: Fields,
): SeriesState {
  return {
    labels,
    state,
    sinceMs: prev?.state === state ? prev.sinceMs : nowMs,
    missing: prev?.missing ?? 0,
    ...fields,
  };
}

/** The kind of trouble a `for` timer measures: NoData and Error are one (no verdict either way). */
const troubleKind = (target: PendingOn) => (target === "Firing" ? "breach" : "noVerdict");

/** How long `target` must hold before it is entered. */
function requiredMs(t: Timing, target: PendingOn): number {
  return target === "Firing" || t.hadData ? t.forMs : Math.max(t.forMs, firstDataGraceMs);
}

/**
 * Toward `target` from Ok, Pending or nothing (nothing notified yet): Pending until the trouble has
 * lasted `requiredMs`, then `target`, which starts an episode. The timer goes on while the kind of
 * trouble holds and restarts when it changes. A Pending series keeps the episode it ended (NoData
 * resolved by a breach), so its resolve can be re-sent.
 */
function pend(
  t: Timing,
  labels: SeriesLabels,
  prev: SeriesState | undefined,
  target: PendingOn,
  value: number | undefined,
  message: string | undefined,
  nowMs: number,
): SeriesState {
  const continues =
    prev?.state === "Pending" && troubleKind(prev.pendingOn ?? "Firing") === troubleKind(target);
  const activeAtMs = continues ? (prev.activeAtMs ?? nowMs) : nowMs;
  if (nowMs - activeAtMs >= requiredMs(t, target)) {
    return target === "Firing"
      ? become(labels, prev, "Firing", nowMs, { value, activeAtMs, firedAtMs: nowMs })
      : become(labels, prev, target, nowMs, { value, firedAtMs: nowMs, message });
  }
  const ended =
    prev?.state === "Pending" || prev?.state === "Ok"
      ? { firedAtMs: prev.firedAtMs, resolvedAtMs: prev.resolvedAtMs }
      : {};
  return become(labels, prev, "Pending", nowMs, { value, activeAtMs, pendingOn: target, message, ...ended });
}

function breach(
  t: Timing,
  labels: SeriesLabels,
  prev: SeriesState | undefined,
  observed: number | undefined,
  nowMs: number,
): SeriesState {
  const value = observed ?? prev?.value;
  switch (prev?.state) {
    case undefined:
    case "Ok":
    case "Pending":
      return pend(t, labels, prev, "Firing", value, undefined, nowMs);
    case "Firing":
      return become(labels, prev, "Firing", nowMs, {
        value,
        activeAtMs: prev.activeAtMs,
        firedAtMs: prev.firedAtMs,
      });
    case "NoData":
    case "Error":
      // A gap in a confirmed breach: the breach goes on, in the same episode.
      if (prev.activeAtMs !== undefined)
        return become(labels, prev, "Firing", nowMs, {
          value,
          activeAtMs: prev.activeAtMs,
          firedAtMs: prev.firedAtMs,
        });
      // Already notified and nothing to wait for: the episode goes on as Firing.
      if (t.forMs === 0)
        return become(labels, prev, "Firing", nowMs, { value, activeAtMs: nowMs, firedAtMs: prev.firedAtMs });
      // A breach after no verdict waits its `for`; the NoData or Error episode ends (resolved).
      return become(labels, prev, "Pending", nowMs, {
        value,
        activeAtMs: nowMs,
        pendingOn: "Firing",
        firedAtMs: prev.firedAtMs,
        resolvedAtMs: nowMs,
      });
  }
}

function resolve(labels: SeriesLabels, prev: SeriesState, value: number | undefined, nowMs: number) {
  return become(labels, prev, "Ok", nowMs, { value, firedAtMs: prev.firedAtMs, resolvedAtMs: nowMs });
}

function clear(
  t: Timing,
  labels: SeriesLabels,
  prev: SeriesState | undefined,
  observed: number | undefined,
  nowMs: number,
): SeriesState | undefined {
  const value = observed ?? prev?.value;
  switch (prev?.state) {
    case undefined:
      // A series first seen clear is shown; a mapping to Ok of no data creates none.
      return observed === undefined ? undefined : become(labels, prev, "Ok", nowMs, { value });
    case "Ok":
    case "Pending":
      // Pending never notified: back to Ok silently, keeping an episode it ended for its re-sends.
      return become(labels, prev, "Ok", nowMs, {
        value,
        firedAtMs: prev.firedAtMs,
        resolvedAtMs: prev.resolvedAtMs,
      });
    case "Firing": {
      const keepFiringSinceMs = prev.keepFiringSinceMs ?? nowMs;
      if (nowMs - keepFiringSinceMs < t.keepFiringForMs) {
        return become(labels, prev, "Firing", nowMs, {
          value,
          activeAtMs: prev.activeAtMs,
          firedAtMs: prev.firedAtMs,
          keepFiringSinceMs,
        });
      }
      return resolve(labels, prev, value, nowMs);
    }
    case "NoData":
    case "Error":
      return resolve(labels, prev, value, nowMs);
  }
}

function special(
  t: Timing,
  labels: SeriesLabels,
  prev: SeriesState | undefined,
  signal: Extract<Signal, { kind: "special" }>,
  nowMs: number,
): SeriesState {
  if (prev === undefined || !isActive(prev.state))
    return pend(t, labels, prev, signal.state, prev?.value, signal.message, nowMs);
  // Moving inside the active set keeps the episode, and a Firing's breach start (see `breach`).
  return become(labels, prev, signal.state, nowMs, {
    value: prev.value,
    activeAtMs: prev.activeAtMs,
    firedAtMs: prev.firedAtMs,
    message: signal.message,
  });
}

function stepSeries(
  t: Timing,
  labels: SeriesLabels,
  prev: SeriesState | undefined,
  signal: Signal,
  nowMs: number,
): SeriesState | undefined {
  switch (signal.kind) {
    case "hold":
      return prev;
    case "breaching":
      return breach(t, labels, prev, signal.observed, nowMs);
    case "clear":
      return clear(t, labels, prev, signal.observed, nowMs);
    case "special":
      return special(t, labels, prev, signal, nowMs);
  }
}

interface SeriesInput {
  readonly labels: SeriesLabels;
  readonly prev: SeriesState | undefined;
  readonly signal: Signal;
  readonly missing: number;
}

function valuesInputs(
  rule: AlertRuleRef,
  prevByKey: ReadonlyMap<string, SeriesState>,
  series: readonly SeriesValue[],
) {
  const inputs = new Map<string, SeriesInput>();
  const returned = new Set<string>();
  for (const s of series) {
    const key = seriesKey(s.labels);
    if (returned.has(key)) {
      throw new AlertStateError(`AlertRule ${rule.uid}: the evaluation returned the series ${key} twice`);
    }
    returned.add(key);
    const result = evaluateCondition(rule.spec.condition, s.value, s.previous);
    // A series that cannot be judged counts as absent: it neither breaches nor clears on a guess.
    if (result.kind === "undetermined") continue;
    inputs.set(key, {
      labels: s.labels,
      prev: prevByKey.get(key),
      signal: { kind: result.kind, observed: result.observed },
      missing: 0,
    });
  }
  for (const [key, prev] of prevByKey) {
    if (inputs.has(key)) continue;
    const missing = prev.missing + 1;
    // Grafana's stale series: held for one evaluation, then taken as no longer breaching.
    const signal: Signal = missing >= missingEvaluationsToResolve ? { kind: "clear" } : { kind: "hold" };
    inputs.set(key, { labels: prev.labels, prev, signal, missing });
  }
  return inputs;
}

function mappedSignal(
  mapping: AlertRuleSpec["noDataState"] | AlertRuleSpec["errorState"],
  message: string | undefined,
): Signal {
  switch (mapping) {
    case "Ok":
      return { kind: "clear" };
    case "Firing":
      return { kind: "breaching" };
    case "KeepLast":
      return { kind: "hold" };
    case "NoData":
      return { kind: "special", state: "NoData" };
    case "Error":
      return { kind: "special", state: "Error", message };
  }
}

/** No data or an error applies to every known series, or to the rule as one series ({}) when it has none. */
function ruleWideInputs(prevByKey: ReadonlyMap<string, SeriesState>, signal: Signal) {
  const inputs = new Map<string, SeriesInput>();
  for (const [key, prev] of prevByKey)
    inputs.set(key, { labels: prev.labels, prev, signal, missing: prev.missing });
  if (inputs.size === 0) inputs.set(seriesKey({}), { labels: {}, prev: undefined, signal, missing: 0 });
  return inputs;
}

/**
 * A series as kept: an ended episode is forgotten `resolvedRetentionMs` after its resolve, and an Ok
 * series absent from the evaluation is dropped unless it still has a resolve to re-send.
 */
function retained(series: SeriesState, nowMs: number): SeriesState | undefined {
  const expired = series.resolvedAtMs !== undefined && nowMs - series.resolvedAtMs > resolvedRetentionMs;
  const { firedAtMs: _episode, resolvedAtMs: _resolved, ...settled } = series;
  const kept: SeriesState = expired ? settled : series;
  return kept.state === "Ok" && kept.resolvedAtMs === undefined && kept.missing > 0 ? undefined : kept;
}

/**
 * One evaluation of a rule: the next state of every series and the transitions to notify, in
 * series order. `nowMs` is the evaluation's instant.
 */
export function nextRuleState(
  rule: AlertRuleRef,
  previous: RuleState,
  evaluation: Evaluation,
  nowMs: number,
): RuleStep {
  const seen = hadData(previous);
  const timing: Timing = {
    forMs: parseDuration(rule.spec.for, "spec.for"),
    keepFiringForMs: parseDuration(rule.spec.keepFiringFor, "spec.keepFiringFor"),
    hadData: seen,
  };
  const prevByKey = new Map(previous.series.map((s) => [seriesKey(s.labels), s]));
  const inputs =
    evaluation.kind === "values"
      ? valuesInputs(rule, prevByKey, evaluation.series)
      : evaluation.kind === "noData"
        ? ruleWideInputs(prevByKey, mappedSignal(rule.spec.noDataState, undefined))
        : ruleWideInputs(prevByKey, mappedSignal(rule.spec.errorState, evaluation.message));

  const series: SeriesState[] = [];
  const transitions: AlertTransition[] = [];
  for (const key of [...inputs.keys()].sort()) {
    const { labels, prev, signal, missing } = inputs.get(key) as SeriesInput;
    const stepped = stepSeries(timing, labels, prev, signal, nowMs);
    if (stepped === undefined) continue;
    const next = stepped.missing === missing ? stepped : { ...stepped, missing };
    const was = prev !== undefined && isActive(prev.state);
    const is = isActive(next.state);
    if (was !== is) {
      const kind = is ? "firing" : "resolved";
      transitions.push({
        kind,
        // Entering or leaving the active set always carries the episode's firedAt.
        id: transitionId(rule.uid, labels, next.firedAtMs ?? next.sinceMs, kind),
        from: prev?.state ?? "Ok",
        series: next,
      });
    }
    const kept = retained(next, nowMs);
    if (kept !== undefined) series.push(kept);
  }
  const dataSeen = seen || evaluation.kind === "values";
  return { state: { evaluatedAtMs: nowMs, ...(dataSeen ? { dataSeen } : {}), series }, transitions };
}

/**
 * Whether the rule has ever had data: recorded once it had, or, for a state recorded before that was
 * (or rebuilt from the status), whether any series holds a value compared with the threshold.
 */
export function hadData(state: RuleState): boolean {
  return state.dataSeen === true || state.series.some((s) => s.value !== undefined);
}

/**
 * The state to continue from after a restart or a handover. Within the outage tolerance everything
 * continues: a Pending series keeps its `for` timer (Prometheus restores `ALERTS_FOR_STATE` only
 * within `for-outage-tolerance`). Beyond it a Pending series starts over. Firing, NoData and Error
 * series stay as they are, so nothing is notified twice; whether they still hold is for the next
 * evaluation to say.
 */
export function restoreRuleState(persisted: RuleState, nowMs: number, outageToleranceMs: number): RuleState {
  const outageMs =
    persisted.evaluatedAtMs === undefined ? Number.POSITIVE_INFINITY : nowMs - persisted.evaluatedAtMs;
  if (outageMs <= outageToleranceMs) return persisted;
  return { ...persisted, series: persisted.series.filter((s) => s.state !== "Pending") };
}

function instantMs(text: string, field: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AlertStateError(`${field}: "${text}" is not an RFC 3339 date-time`);
  return ms;
}

function optionalInstantMs(text: string | undefined, field: string): number | undefined {
  return text === undefined ? undefined : instantMs(text, field);
}

/** The rule's state as its status recorded it: what remains when Redis lost the gateway's copy. */
export function stateFromStatus(status: AlertRuleStatus | undefined): RuleState {
  const series = (status?.series ?? []).map((s, i): SeriesState => {
    const field = (name: string) => `status.series[${i}].${name}`;
    const sinceMs = instantMs(s.since, field("since"));
    return {
      labels: s.labels,
      state: s.state,
      sinceMs,
      value: s.value,
      activeAtMs: optionalInstantMs(s.activeAt, field("activeAt")),
      pendingOn: s.pendingOn,
      // An active series always has its episode; `since` stands in if a hand-edited status lost it.
      firedAtMs: optionalInstantMs(s.firedAt, field("firedAt")) ?? (isActive(s.state) ? sinceMs : undefined),
      keepFiringSinceMs: optionalInstantMs(s.keepFiringSince, field("keepFiringSince")),
      resolvedAtMs: optionalInstantMs(s.resolvedAt, field("resolvedAt")),
      missing: 0,
    };
  });
  const evaluatedAtMs = optionalInstantMs(status?.lastEvaluation, "status.lastEvaluation");
  return {
    ...(evaluatedAtMs === undefined ? {} : { evaluatedAtMs }),
    ...(status?.lastValue === undefined ? {} : { dataSeen: true }),
    series,
  };
}

const severity: Readonly<Record<AlertState, number>> = { Firing: 4, Error: 3, NoData: 2, Pending: 1, Ok: 0 };

/** Worst first: by state, a recently resolved Ok before a plain one, the longest in its state, then labels. */
function worstFirst(a: SeriesState, b: SeriesState): number {
  return (
    severity[b.state] - severity[a.state] ||
    Number(b.resolvedAtMs !== undefined) - Number(a.resolvedAtMs !== undefined) ||
    a.sinceMs - b.sinceMs ||
    (seriesKey(a.labels) < seriesKey(b.labels) ? -1 : 1)
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

function seriesStatus(s: SeriesState): AlertSeriesStatus {
  const out: AlertSeriesStatus = { labels: { ...s.labels }, state: s.state, since: iso(s.sinceMs) };
  if (s.value !== undefined) out.value = s.value;
  if (s.activeAtMs !== undefined) out.activeAt = iso(s.activeAtMs);
  if (s.pendingOn !== undefined) out.pendingOn = s.pendingOn;
  if (s.firedAtMs !== undefined) out.firedAt = iso(s.firedAtMs);
  if (s.keepFiringSinceMs !== undefined) out.keepFiringSince = iso(s.keepFiringSinceMs);
  if (s.resolvedAtMs !== undefined) out.resolvedAt = iso(s.resolvedAtMs);
  return out;
}

export type RuleSummary = Pick<
  AlertRuleStatus,
  "state" | "since" | "lastValue" | "lastEvaluation" | "series"
>;

/**
 * The rule's part of its status: the highest state of its series (Firing > Error > NoData > Pending >
 * Ok), since when (kept from `previous` while the state holds), the worst series' value and at most
 * `maxStatusSeries` series, the worst first.
 */
export function ruleSummary(
  state: RuleState,
  previous?: Pick<AlertRuleStatus, "state" | "since">,
): RuleSummary {
  const sorted = [...state.series].sort(worstFirst);
  const worst = sorted[0];
  const overall: AlertState = worst?.state ?? "Ok";
  const sinceMs = Math.min(
    ...sorted.filter((s) => s.state === overall).map((s) => s.sinceMs),
    state.evaluatedAtMs ?? Number.POSITIVE_INFINITY,
  );
  const summary: RuleSummary = {
    state: overall,
    series: sorted.slice(0, maxStatusSeries).map(seriesStatus),
  };
  if (previous?.state === overall && previous.since !== undefined) summary.since = previous.since;
  else if (Number.isFinite(sinceMs)) summary.since = iso(sinceMs);
  if (worst?.value !== undefined) summary.lastValue = worst.value;
  if (state.evaluatedAtMs !== undefined) summary.lastEvaluation = iso(state.evaluatedAtMs);
  return summary;
}
