import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AlertRuleSpec, type AlertRuleStatus } from "../../api/v1alpha1/alert-rule.js";
import { formatProblems, validateAlertRuleSpec } from "../../api/v1alpha1/validation.js";
import { minimalAlertRuleSpec } from "../../test/support/fixtures/api-fixtures.js";
import {
  type AlertRuleRef,
  AlertStateError,
  type AlertTransition,
  defaultOutageToleranceMs,
  type Evaluation,
  emptyRuleState,
  firstDataGraceMs,
  hadData,
  maxStatusSeries,
  nextRuleState,
  type RuleState,
  resolvedRetentionMs,
  restoreRuleState,
  ruleSummary,
  type SeriesLabels,
  type SeriesState,
  seriesKey,
  stateFromStatus,
  transitionId,
} from "./alert-state.js";

const s = 1000;
const min = 60 * s;
const t0 = Date.now();

/** A validated rule (defaults applied) breaching while the value is > 10. */
function rule(overrides: Record<string, unknown> = {}, uid = "rule-uid-1"): AlertRuleRef {
  const result = validateAlertRuleSpec({
    ...structuredClone(minimalAlertRuleSpec),
    condition: { type: "threshold", operator: "gt", value: 10 },
    ...overrides,
  });
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return { uid, spec: result.value };
}

const breach = 20;
const clear = 0;
const values = (...series: [SeriesLabels, number][]): Evaluation => ({
  kind: "values",
  series: series.map(([labels, value]) => ({ labels, value })),
});

/**
 * One series (the rule without group-by, labels {}), one letter per evaluation: B breaching, C clear,
 * A absent from the result, N no data, E error.
 */
const letters: Readonly<Record<string, Evaluation>> = {
  B: values([{}, breach]),
  C: values([{}, clear]),
  A: values(),
  N: { kind: "noData" },
  E: { kind: "error", message: "query timed out after 30 s" },
};

/**
 * Plays `script` one evaluation every 30 s and reads each step as "<state of {}>" plus "/<kinds>"
 * when it notified ("-" once the series is forgotten); a series Pending on no data or an error reads
 * "Pending:NoData" or "Pending:Error".
 */
function play(r: AlertRuleRef, script: string, start: RuleState = emptyRuleState, startMs = t0): string[] {
  let state = start;
  return script.split(" ").map((letter, i) => {
    const evaluation = letters[letter];
    if (evaluation === undefined) throw new Error(`unknown step ${letter}`);
    const step = nextRuleState(r, state, evaluation, startMs + i * 30 * s);
    state = step.state;
    const series = state.series.find((x) => seriesKey(x.labels) === seriesKey({}));
    const kinds = step.transitions.map((t) => t.kind).join("+");
    const on = series?.state === "Pending" && series.pendingOn !== "Firing" ? `:${series.pendingOn}` : "";
    return `${series?.state ?? "-"}${on}${kinds === "" ? "" : `/${kinds}`}`;
  });
}

describe("nextRuleState: one series, one evaluation every 30 s", () => {
  it.each([
    ["for 0: fires at once, resolves at once", {}, "C B B C", "Ok Firing/firing Firing Ok/resolved"],
    [
      "for 1m: Pending until 1m has passed, Firing exactly at 1m",
      { for: "1m" },
      "B B B B C",
      "Pending Pending Firing/firing Firing Ok/resolved",
    ],
    [
      "for 1m: a Pending series that clears goes back to Ok silently, and its timer restarts",
      { for: "1m" },
      "B C B B B",
      "Pending Ok Pending Pending Firing/firing",
    ],
    [
      "flapping around for: breach and clear alternating never fires",
      { for: "1m" },
      "B C B C B C B C",
      "Pending Ok Pending Ok Pending Ok Pending Ok",
    ],
    [
      "flapping with for 30s: each episode waits for its own 30s",
      { for: "30s" },
      "B C B B C B B",
      "Pending Ok Pending Firing/firing Ok/resolved Pending Firing/firing",
    ],
    [
      "keepFiringFor 1m: keeps firing while clear for less than 1m, resolves at 1m",
      { keepFiringFor: "1m" },
      "B C C C",
      "Firing/firing Firing Firing Ok/resolved",
    ],
    [
      "keepFiringFor 1m: a breach restarts it, so flapping stays one Firing",
      { keepFiringFor: "1m" },
      "B C B C C B C C C",
      "Firing/firing Firing Firing Firing Firing Firing Firing Firing Ok/resolved",
    ],
    ["missing: held one evaluation, resolved at the second", {}, "B A A", "Firing/firing Firing Ok/resolved"],
    ["missing once and back: no notification", {}, "B A B C", "Firing/firing Firing Firing Ok/resolved"],
    ["missing Pending: held, then dropped silently", { for: "5m" }, "B A A B", "Pending Pending - Pending"],
    ["missing Ok: forgotten at once (nothing to resolve)", {}, "C A C", "Ok - Ok"],
    [
      "missing under keepFiringFor 1m: clear from the second absence, resolved 1m later",
      { keepFiringFor: "1m" },
      "B A A A A",
      "Firing/firing Firing Firing Firing Ok/resolved",
    ],
  ])("%s", (_name, overrides, script, expected) => {
    expect(play(rule(overrides), script)).toEqual(expected.split(" "));
  });
});

describe("nextRuleState: no data and errors, under each mapping", () => {
  it.each([
    // noDataState (the rule had data first: C or B; a rule that never had data is below)
    ["NoData (default): a state of its own, notified", {}, "C N N C", "Ok NoData/firing NoData Ok/resolved"],
    [
      "NoData from Firing: same episode, no second firing; back breaching is Firing again",
      {},
      "B N B C",
      "Firing/firing NoData Firing Ok/resolved",
    ],
    [
      "NoData from Pending: a no-data evaluation restarts the breach's timer, so nothing fires",
      { for: "1m" },
      "B N B C",
      "Pending Pending:NoData Pending Ok",
    ],
    [
      "NoData with for 1m: Pending 1m before it is notified, then resolved by data",
      { for: "1m" },
      "C N N N C",
      "Ok Pending:NoData Pending:NoData NoData/firing Ok/resolved",
    ],
    [
      "NoData with for 1m, data back within it: never notified",
      { for: "1m" },
      "C N C N C",
      "Ok Pending:NoData Ok Pending:NoData Ok",
    ],
    [
      "NoData, then the series stays absent: resolved after two",
      {},
      "C N A A",
      "Ok NoData/firing NoData Ok/resolved",
    ],
    ["Ok: no data clears a Firing series", { noDataState: "Ok" }, "B N", "Firing/firing Ok/resolved"],
    [
      "Ok: no data clears a Pending series silently",
      { noDataState: "Ok", for: "1m" },
      "B N B",
      "Pending Ok Pending",
    ],
    ["Ok: no data on a rule with no series creates none", { noDataState: "Ok" }, "N N", "- -"],
    [
      "Ok: clear, so keepFiringFor still applies",
      { noDataState: "Ok", keepFiringFor: "1m" },
      "B N N N",
      "Firing/firing Firing Firing Ok/resolved",
    ],
    [
      "Firing: no data is a breach, so it waits for `for`",
      { noDataState: "Firing", for: "1m" },
      "C N N N C",
      "Ok Pending Pending Firing/firing Ok/resolved",
    ],
    ["Firing, for 0, no series yet: fires at once", { noDataState: "Firing" }, "N", "Firing/firing"],
    [
      "KeepLast: a Pending series is frozen (does not fire on no data), its timer kept",
      { noDataState: "KeepLast", for: "1m" },
      "B N N N B",
      "Pending Pending Pending Pending Firing/firing",
    ],
    [
      "KeepLast: a Firing series keeps firing, resolved when data says clear",
      { noDataState: "KeepLast" },
      "B N N C",
      "Firing/firing Firing Firing Ok/resolved",
    ],
    ["KeepLast: a rule with no series stays without", { noDataState: "KeepLast" }, "N", "-"],
    // errorState
    ["Error (default): a state of its own, notified", {}, "C E E C", "Ok Error/firing Error Ok/resolved"],
    [
      "Error with for 1m: Pending 1m before it is notified",
      { for: "1m" },
      "C E E E C",
      "Ok Pending:Error Pending:Error Error/firing Ok/resolved",
    ],
    [
      "Error with for 1m, answers back within it: never notified however often it flaps",
      { for: "1m" },
      "C E C E C E C",
      "Ok Pending:Error Ok Pending:Error Ok Pending:Error Ok",
    ],
    [
      "NoData and Error share one timer (neither is a verdict); the latest is what is notified",
      { for: "1m" },
      "C N E N E",
      "Ok Pending:NoData Pending:Error NoData/firing Error",
    ],
    [
      "Error then NoData then breaching: one episode throughout",
      {},
      "B E N B C",
      "Firing/firing Error NoData Firing Ok/resolved",
    ],
    ["Ok: an error clears", { errorState: "Ok" }, "B E", "Firing/firing Ok/resolved"],
    [
      "Firing: an error is a breach, so it waits for `for`",
      { errorState: "Firing", for: "1m" },
      "E E E",
      "Pending Pending Firing/firing",
    ],
    [
      "KeepLast: Firing stays Firing",
      { errorState: "KeepLast" },
      "B E E C",
      "Firing/firing Firing Firing Ok/resolved",
    ],
    [
      "KeepLast: Pending stays Pending however long the errors last",
      { errorState: "KeepLast", for: "1m" },
      "B E E E E",
      "Pending Pending Pending Pending Pending",
    ],
    [
      "the two mappings are independent",
      { noDataState: "Ok", errorState: "Firing" },
      "N E N",
      "- Firing/firing Ok/resolved",
    ],
  ])("%s", (_name, overrides, script, expected) => {
    expect(play(rule(overrides), script)).toEqual(expected.split(" "));
  });

  it("keeps the error's message on the series, and the last value through NoData and Error", () => {
    const r = rule();
    const firing = nextRuleState(r, emptyRuleState, values([{}, 42]), t0);
    const failed = nextRuleState(r, firing.state, letters.E as Evaluation, t0 + 30 * s);
    expect(failed.state.series[0]).toMatchObject({
      state: "Error",
      message: "query timed out after 30 s",
      value: 42,
    });
    const noData = nextRuleState(r, failed.state, letters.N as Evaluation, t0 + 60 * s);
    expect(noData.state.series[0]).toMatchObject({ state: "NoData", value: 42 });
    expect(noData.state.series[0]?.message).toBeUndefined();
  });
});

/** `letter` `n` times, as a script. */
const times = (letter: string, n: number) => Array.from({ length: n }, () => letter).join(" ");
/** Evaluations every 30 s within the first-data grace (the one at the grace's end excluded). */
const withinGrace = firstDataGraceMs / (30 * s);

describe("nextRuleState: a breach after no data or an error waits its `for` (observed: NoData → Firing)", () => {
  it.each([
    [
      "a new live-window rule, for 30s: no data, then breaching: Pending 30s from the first breach, then Firing",
      { for: "30s" },
      "N N B B B",
      "Pending:NoData Pending:NoData Pending Firing/firing Firing",
    ],
    [
      "a notified NoData ended by a breach: resolved, Pending for `for`, then a new firing",
      { for: "30s" },
      "C N N B B B",
      "Ok Pending:NoData NoData/firing Pending/resolved Firing/firing Firing",
    ],
    [
      "a notified Error ended by a breach: likewise",
      { for: "1m" },
      "C E E E B B B",
      "Ok Pending:Error Pending:Error Error/firing Pending/resolved Pending Firing/firing",
    ],
    [
      "a notified NoData ended by a breach that clears within `for`: resolved once, nothing more",
      { for: "1m" },
      "C N N N B C",
      "Ok Pending:NoData Pending:NoData NoData/firing Pending/resolved Ok",
    ],
    [
      "for 0: NoData then breaching goes on as Firing, one episode",
      {},
      "C N B C",
      "Ok NoData/firing Firing Ok/resolved",
    ],
    [
      "a gap in a confirmed breach (Firing → NoData → breaching): the Firing resumes, no notification",
      { for: "1m" },
      "B B B N B C",
      "Pending Pending Firing/firing NoData Firing Ok/resolved",
    ],
    [
      "a gap through NoData and Error in a confirmed breach: the Firing resumes",
      { for: "1m" },
      "B B B N E B",
      "Pending Pending Firing/firing NoData Error Firing",
    ],
    [
      "a breach Pending, one no-data evaluation: the timer restarts (Prometheus drops a pending alert absent from an evaluation)",
      { for: "1m" },
      "B B N B B B",
      "Pending Pending Pending:NoData Pending Pending Firing/firing",
    ],
    [
      "a breach Pending, one absent evaluation (a missing series, not no data): held, the timer goes on",
      { for: "1m" },
      "B A B",
      "Pending Pending Firing/firing",
    ],
  ])("%s", (_name, overrides, script, expected) => {
    expect(play(rule(overrides), script)).toEqual(expected.split(" "));
  });

  it("keeps the ended episode on the Pending series, so its resolve is re-sent, and drops it after the retention", () => {
    const r = rule({ for: "30m" });
    const C = letters.C as Evaluation;
    const N = letters.N as Evaluation;
    const B = letters.B as Evaluation;
    // Notified at once under for 0; the rule then gets for 30m (a spec change) and breaches.
    const notified = nextRuleState(
      rule(),
      nextRuleState(rule(), emptyRuleState, C, t0).state,
      N,
      t0 + 30 * s,
    );
    expect(notified.transitions.map((t) => t.kind)).toEqual(["firing"]);
    const pending = nextRuleState(r, notified.state, B, t0 + 60 * s);
    expect(pending.state.series[0]).toMatchObject({
      state: "Pending",
      pendingOn: "Firing",
      activeAtMs: t0 + 60 * s,
      firedAtMs: t0 + 30 * s,
      resolvedAtMs: t0 + 60 * s,
    });
    expect(pending.transitions.map((t) => [t.kind, t.from, t.id])).toEqual([
      ["resolved", "NoData", transitionId(r.uid, {}, t0 + 30 * s, "resolved")],
    ]);
    const later = (ms: number) => nextRuleState(r, pending.state, B, ms).state.series[0];
    expect(later(t0 + 60 * s + resolvedRetentionMs)).toMatchObject({ firedAtMs: t0 + 30 * s });
    const settled = later(t0 + 60 * s + resolvedRetentionMs + 1);
    expect(settled).toMatchObject({ state: "Pending", activeAtMs: t0 + 60 * s });
    expect(settled?.firedAtMs).toBeUndefined();
    expect(settled?.resolvedAtMs).toBeUndefined();
  });
});

describe("nextRuleState: a rule that has never had data (observed: NoData and Error paged at install)", () => {
  it.each([
    [
      "no data from the start, for 0: Pending for the grace, NoData at its end",
      {},
      `${times("N", withinGrace)} N`,
      `${times("Pending:NoData", withinGrace)} NoData/firing`,
    ],
    [
      "the source not Ready at install, for 0: Pending for the grace, Error at its end",
      {},
      `${times("E", withinGrace)} E`,
      `${times("Pending:Error", withinGrace)} Error/firing`,
    ],
    [
      "the source becomes Ready and its data is clear: never notified",
      {},
      "E E N N C C",
      "Pending:Error Pending:Error Pending:NoData Pending:NoData Ok Ok",
    ],
    [
      "first data breaching, for 0: Firing at once (the grace is for no verdict only)",
      {},
      "N E B",
      "Pending:NoData Pending:Error Firing/firing",
    ],
    [
      "first data breaching, for 30s: Pending 30s from the first breach",
      { for: "30s" },
      "N B B",
      "Pending:NoData Pending Firing/firing",
    ],
    [
      "the grace ends at the first data: a later no data is notified after `for` only",
      {},
      "N C N",
      "Pending:NoData Ok NoData/firing",
    ],
    [
      "errors then no data within the grace: one timer, notified at the grace's end as what it is then",
      {},
      `${times("E", withinGrace / 2)} ${times("N", withinGrace / 2)} N`,
      `${times("Pending:Error", withinGrace / 2)} ${times("Pending:NoData", withinGrace / 2)} NoData/firing`,
    ],
    [
      "for longer than the grace: for it is",
      { for: "6m" },
      `${times("N", 12)} N`,
      `${times("Pending:NoData", 12)} NoData/firing`,
    ],
    [
      "noDataState Firing: no data is a breach, which has no grace",
      { noDataState: "Firing" },
      "N",
      "Firing/firing",
    ],
    [
      "errorState Firing, for 30s: a breach after `for`",
      { errorState: "Firing", for: "30s" },
      "E E",
      "Pending Firing/firing",
    ],
    ["noDataState Ok: nothing to wait for", { noDataState: "Ok" }, "N N", "- -"],
  ])("%s", (_name, overrides, script, expected) => {
    expect(play(rule(overrides), script)).toEqual(expected.split(" "));
  });

  it("knows a rule has had data from its record, or from values a state recorded before it was kept", () => {
    const r = rule();
    expect(hadData(emptyRuleState)).toBe(false);
    const noData = nextRuleState(r, emptyRuleState, letters.N as Evaluation, t0).state;
    expect(hadData(noData)).toBe(false);
    const clear = nextRuleState(r, noData, letters.C as Evaluation, t0 + 30 * s).state;
    expect(clear.dataSeen).toBe(true);
    // Its series all forgotten, the rule still had data: no grace for its next no data.
    const forgotten = nextRuleState(r, clear, values(), t0 + 60 * s).state;
    expect(forgotten.series).toEqual([]);
    expect(hadData(forgotten)).toBe(true);
    expect(nextRuleState(r, forgotten, letters.N as Evaluation, t0 + 90 * s).transitions).toHaveLength(1);
    // A record written before `dataSeen` existed: its values say it.
    const { dataSeen: _seen, ...older } = clear;
    expect(hadData(older)).toBe(true);
    // Rebuilt from the status: its last value says it.
    expect(hadData(stateFromStatus({ lastValue: 0, series: [] }))).toBe(true);
    expect(hadData(stateFromStatus({ ...ruleSummary(noData) }))).toBe(false);
  });

  it("is the grace the CRD documents", () => {
    const documented = `${firstDataGraceMs / min} minutes`;
    expect(AlertRuleSpec.properties.noDataState.description).toContain(documented);
    expect(AlertRuleSpec.properties.errorState.description).toContain(documented);
  });

  it("keeps the error's message on a series Pending on an error", () => {
    const pending = nextRuleState(rule(), emptyRuleState, letters.E as Evaluation, t0).state;
    expect(pending.series[0]).toMatchObject({
      state: "Pending",
      pendingOn: "Error",
      message: "query timed out after 30 s",
      activeAtMs: t0,
    });
  });
});

describe("nextRuleState: several series", () => {
  const host = (name: string) => ({ host: name });

  it("keeps a state per series and notifies only the series that changed", () => {
    const r = rule({ for: "30s" });
    const first = nextRuleState(r, emptyRuleState, values([host("a"), 50], [host("b"), 1]), t0);
    expect(first.transitions).toEqual([]);
    const second = nextRuleState(r, first.state, values([host("a"), 60], [host("b"), 2]), t0 + 30 * s);
    expect(second.state.series.map((x) => [x.labels.host, x.state, x.value])).toEqual([
      ["a", "Firing", 60],
      ["b", "Ok", 2],
    ]);
    expect(second.transitions.map((t) => [t.kind, t.series.labels, t.from])).toEqual([
      ["firing", host("a"), "Pending"],
    ]);
  });

  it("applies no data to every known series, each notified once", () => {
    const r = rule();
    const first = nextRuleState(r, emptyRuleState, values([host("a"), 50], [host("b"), 1]), t0);
    const noData = nextRuleState(r, first.state, { kind: "noData" }, t0 + 30 * s);
    expect(noData.state.series.map((x) => [x.labels.host, x.state])).toEqual([
      ["a", "NoData"],
      ["b", "NoData"],
    ]);
    // a was already notified (Firing): only b's episode starts.
    expect(noData.transitions.map((t) => [t.kind, t.series.labels.host])).toEqual([["firing", "b"]]);
  });

  it("treats a series it cannot judge (change without the earlier value) as absent", () => {
    const r = rule({ condition: { type: "change", operator: "gt", value: 5, over: "1h" } });
    const first = nextRuleState(
      r,
      emptyRuleState,
      { kind: "values", series: [{ labels: host("a"), value: 20, previous: 10 }] },
      t0,
    );
    expect(first.state.series.map((x) => [x.state, x.value])).toEqual([["Firing", 10]]);
    const undetermined: Evaluation = { kind: "values", series: [{ labels: host("a"), value: 20 }] };
    const held = nextRuleState(r, first.state, undetermined, t0 + 30 * s);
    expect(held.state.series.map((x) => [x.state, x.missing])).toEqual([["Firing", 1]]);
    const resolved = nextRuleState(r, held.state, undetermined, t0 + 60 * s);
    expect(resolved.transitions.map((t) => t.kind)).toEqual(["resolved"]);
  });

  it("refuses an evaluation that returns one series twice, naming the rule and the series", () => {
    const twice = values([{ a: "1", b: "2" }, 1], [{ b: "2", a: "1" }, 2]);
    // Even when the first copy could not be judged (a value that is not a number).
    const afterUndetermined = values([{ a: "1", b: "2" }, Number.NaN], [{ b: "2", a: "1" }, 2]);
    expect(() => nextRuleState(rule(), emptyRuleState, afterUndetermined, t0)).toThrow(AlertStateError);
    expect(() => nextRuleState(rule(), emptyRuleState, twice, t0)).toThrow(AlertStateError);
    expect(() => nextRuleState(rule(), emptyRuleState, twice, t0)).toThrow(
      /rule-uid-1.*\{"a":"1","b":"2"\} twice/,
    );
  });

  it("keeps a resolved series 15 minutes for re-sending, then forgets it", () => {
    const r = rule();
    let state = nextRuleState(r, emptyRuleState, values([host("a"), 50]), t0).state;
    state = nextRuleState(r, state, values([host("a"), 1]), t0 + 30 * s).state;
    expect(state.series[0]).toMatchObject({ state: "Ok", firedAtMs: t0, resolvedAtMs: t0 + 30 * s });
    // Absent from now on: an Ok series would be forgotten at once, a resolved one is kept.
    const at = (ms: number) => nextRuleState(r, state, values(), ms).state.series;
    expect(at(t0 + 30 * s + resolvedRetentionMs)).toHaveLength(1);
    expect(at(t0 + 30 * s + resolvedRetentionMs + 1)).toEqual([]);
    // Still present after the retention: shown as a plain Ok series.
    const present = nextRuleState(r, state, values([host("a"), 2]), t0 + 30 * s + resolvedRetentionMs + 1);
    expect(present.state.series).toEqual([expect.objectContaining({ state: "Ok", value: 2 })]);
    expect(present.state.series[0]?.resolvedAtMs).toBeUndefined();
    expect(present.state.series[0]?.firedAtMs).toBeUndefined();
  });
});

describe("transition ids", () => {
  const r = rule({ keepFiringFor: "0s" });
  const labels = { host: "a", region: "eu" };
  const episode = (startMs: number, state: RuleState = emptyRuleState) => {
    const fired = nextRuleState(r, state, values([labels, 50]), startMs);
    const resolved = nextRuleState(r, fired.state, values([labels, 1]), startMs + 30 * s);
    return { fired, resolved, ids: [...fired.transitions, ...resolved.transitions].map((t) => t.id) };
  };

  it("are the same when an evaluation is replayed", () => {
    expect(episode(t0).ids).toEqual(episode(t0).ids);
    expect(episode(t0).ids).toHaveLength(2);
  });

  it("differ between firing and resolved, between episodes, series and rules", () => {
    const first = episode(t0);
    const second = episode(t0 + 60 * s, first.resolved.state);
    const otherRule = nextRuleState(rule({}, "rule-uid-2"), emptyRuleState, values([labels, 50]), t0);
    const otherSeries = nextRuleState(r, emptyRuleState, values([{ ...labels, host: "b" }, 50]), t0);
    const ids = [...first.ids, ...second.ids, otherRule.transitions[0]?.id, otherSeries.transitions[0]?.id];
    expect(new Set(ids).size).toBe(6);
  });

  it("do not depend on the order of the labels, and can be recomputed from the series (re-sends)", () => {
    const swapped = nextRuleState(r, emptyRuleState, values([{ region: "eu", host: "a" }, 50]), t0);
    const { fired, resolved } = episode(t0);
    expect(swapped.transitions[0]?.id).toBe(fired.transitions[0]?.id);
    const t = resolved.transitions[0] as AlertTransition;
    expect(transitionId(r.uid, t.series.labels, t.series.firedAtMs as number, "resolved")).toBe(t.id);
  });
});

describe("restoreRuleState and stateFromStatus: after a restart", () => {
  const r = rule({ for: "10m" });
  const B = letters.B as Evaluation;
  const C = letters.C as Evaluation;
  /** Pending since t0, last evaluated at t0 + 4m. */
  const pendingAt4m = [0, 2, 4].reduce<RuleState>(
    (state, m) => nextRuleState(r, state, B, t0 + m * min).state,
    emptyRuleState,
  );

  // Pending since t0 (for 10m), last evaluated at t0 + 4m, then down; evaluated every 30 s once back.
  it.each([
    ["2m down (within the tolerance): the timer continues, Firing at t0 + 10m", 2 * min, 4 * min],
    ["down exactly the tolerance: the timer continues, so Firing at once", defaultOutageToleranceMs, 0],
    [
      "down 1 ms beyond the tolerance: the timer restarts, Firing 10m after",
      defaultOutageToleranceMs + 1,
      10 * min,
    ],
  ])("mid-for, %s", (_name, downMs, firesAfterBackMs) => {
    const backMs = t0 + 4 * min + downMs;
    let state = restoreRuleState(pendingAt4m, backMs, defaultOutageToleranceMs);
    const firings: number[] = [];
    for (let at = backMs; at <= backMs + 15 * min; at += 30 * s) {
      const step = nextRuleState(r, state, B, at);
      state = step.state;
      firings.push(...step.transitions.filter((t) => t.kind === "firing").map(() => at - backMs));
    }
    expect(firings).toEqual([firesAfterBackMs]);
  });

  it("restores a Firing series, however long the outage, without notifying it again", () => {
    const firing = nextRuleState(rule(), emptyRuleState, B, t0);
    const restored = restoreRuleState(firing.state, t0 + 3 * 60 * min, defaultOutageToleranceMs);
    const still = nextRuleState(rule(), restored, B, t0 + 3 * 60 * min);
    expect(still.state.series[0]?.state).toBe("Firing");
    expect(still.transitions).toEqual([]);
    // The resolve carries the id the uninterrupted run would have given.
    const resolvedAfter = nextRuleState(rule(), still.state, C, t0 + 3 * 60 * min + 30 * s);
    const uninterrupted = nextRuleState(rule(), firing.state, C, t0 + 3 * 60 * min + 30 * s);
    expect(resolvedAfter.transitions.map((t) => t.id)).toEqual(uninterrupted.transitions.map((t) => t.id));
    expect(resolvedAfter.transitions[0]?.id).toBe(transitionId("rule-uid-1", {}, t0, "resolved"));
  });

  it("treats a state that was never evaluated as an outage beyond any tolerance", () => {
    const pending: RuleState = { series: pendingAt4m.series };
    expect(restoreRuleState(pending, t0, Number.MAX_SAFE_INTEGER).series).toEqual([]);
  });

  it("rebuilds from the status (Redis lost it): the for timer and the episode ids survive", () => {
    const status: AlertRuleStatus = { ...ruleSummary(pendingAt4m) };
    const rebuilt = restoreRuleState(stateFromStatus(status), t0 + 5 * min, defaultOutageToleranceMs);
    expect(rebuilt.series[0]).toMatchObject({ state: "Pending", activeAtMs: t0 });
    const fired = nextRuleState(r, rebuilt, B, t0 + 10 * min);
    const uninterrupted = nextRuleState(r, pendingAt4m, B, t0 + 10 * min);
    expect(fired.transitions.map((t) => [t.kind, t.id])).toEqual(
      uninterrupted.transitions.map((t) => [t.kind, t.id]),
    );
    expect(fired.transitions).toHaveLength(1);
    // Firing in the status: rebuilt Firing, not notified again.
    const fromFiring = stateFromStatus({ ...ruleSummary(fired.state) });
    expect(nextRuleState(r, fromFiring, B, t0 + 11 * min).transitions).toEqual([]);
  });

  it("names the status field that holds a bad instant", () => {
    const status: AlertRuleStatus = {
      lastEvaluation: new Date(t0).toISOString(),
      series: [{ labels: {}, state: "Firing", since: new Date(t0).toISOString(), firedAt: "yesterday" }],
    };
    expect(() => stateFromStatus(status)).toThrow(/status\.series\[0\]\.firedAt: "yesterday"/);
    expect(stateFromStatus(undefined)).toEqual(emptyRuleState);
  });
});

describe("ruleSummary", () => {
  const series = (
    labels: SeriesLabels,
    state: SeriesState["state"],
    sinceMs: number,
    extra = {},
  ): SeriesState => ({
    labels,
    state,
    sinceMs,
    missing: 0,
    ...extra,
  });

  it("is the highest state of the series, the worst first: Firing > Error > NoData > Pending > Ok", () => {
    const state: RuleState = {
      evaluatedAtMs: t0 + 10 * min,
      series: [
        series({ s: "ok" }, "Ok", t0, { value: 1 }),
        series({ s: "ok-resolved" }, "Ok", t0 + 5 * min, {
          value: 2,
          firedAtMs: t0,
          resolvedAtMs: t0 + 5 * min,
        }),
        series({ s: "pending" }, "Pending", t0, { value: 30, activeAtMs: t0 }),
        series({ s: "nodata" }, "NoData", t0, { value: 3, firedAtMs: t0 }),
        series({ s: "firing-late" }, "Firing", t0 + 2 * min, { value: 50, firedAtMs: t0 + 2 * min }),
        series({ s: "error" }, "Error", t0, { firedAtMs: t0 }),
        series({ s: "firing-early" }, "Firing", t0 + min, { value: 40, firedAtMs: t0 + min }),
      ],
    };
    const summary = ruleSummary(state);
    expect(summary.series?.map((x) => x.labels.s)).toEqual([
      "firing-early",
      "firing-late",
      "error",
      "nodata",
      "pending",
      "ok-resolved",
      "ok",
    ]);
    expect(summary).toMatchObject({
      state: "Firing",
      since: new Date(t0 + min).toISOString(),
      lastValue: 40,
      lastEvaluation: new Date(t0 + 10 * min).toISOString(),
    });
    expect(summary.series?.[1]).toEqual({
      labels: { s: "firing-late" },
      state: "Firing",
      since: new Date(t0 + 2 * min).toISOString(),
      value: 50,
      firedAt: new Date(t0 + 2 * min).toISOString(),
    });
    expect(ruleSummary({ series: state.series.filter((x) => x.state !== "Firing") }).state).toBe("Error");
  });

  it("keeps the rule's since while its state holds", () => {
    const state: RuleState = { evaluatedAtMs: t0, series: [series({}, "Pending", t0 - min)] };
    expect(ruleSummary(state).since).toBe(new Date(t0 - min).toISOString());
    const earlier = new Date(t0 - 5 * min).toISOString();
    expect(ruleSummary(state, { state: "Pending", since: earlier }).since).toBe(earlier);
    expect(ruleSummary(state, { state: "Ok", since: earlier }).since).toBe(new Date(t0 - min).toISOString());
  });

  it("shows a rule with no series as Ok since its evaluation, and at most 100 series", () => {
    expect(ruleSummary({ evaluatedAtMs: t0, series: [] })).toEqual({
      state: "Ok",
      since: new Date(t0).toISOString(),
      lastEvaluation: new Date(t0).toISOString(),
      series: [],
    });
    const many = Array.from({ length: 150 }, (_, i) =>
      series({ i: String(i) }, i === 149 ? "Firing" : "Ok", t0),
    );
    const summary = ruleSummary({ evaluatedAtMs: t0, series: many });
    expect(summary.series).toHaveLength(maxStatusSeries);
    expect(summary.series?.[0]?.labels).toEqual({ i: "149" });
  });
});

describe("properties", () => {
  const durations = fc.constantFrom("0s", "30s", "1m", "2m");
  const spec = fc.record({
    for: durations,
    keepFiringFor: durations,
    noDataState: fc.constantFrom("NoData", "Ok", "Firing", "KeepLast"),
    errorState: fc.constantFrom("Error", "Ok", "Firing", "KeepLast"),
  });
  const hosts = ["a", "b", "c"];
  const valuesEvaluation = fc
    .tuple(...hosts.map(() => fc.constantFrom<number | undefined>(breach, clear, undefined)))
    .map(
      (vs): Evaluation => ({
        kind: "values",
        series: hosts.flatMap((h, i) => {
          const value = vs[i];
          return value === undefined ? [] : [{ labels: { host: h }, value }];
        }),
      }),
    );
  // Mostly values (each host breaching, clear or absent), now and then no data or an error.
  const evaluation: fc.Arbitrary<Evaluation> = fc.oneof(
    { weight: 6, arbitrary: valuesEvaluation },
    { weight: 1, arbitrary: fc.constant<Evaluation>({ kind: "noData" }) },
    { weight: 1, arbitrary: fc.constant<Evaluation>({ kind: "error", message: "boom" }) },
  );
  const run = fc.array(fc.tuple(evaluation, fc.integer({ min: 1, max: 90 })), {
    minLength: 1,
    maxLength: 40,
  });

  it("per series, notifications alternate firing, resolved, …; a resolve names its firing's episode; no id repeats; a series is active exactly while its last notification is a firing", () => {
    fc.assert(
      fc.property(spec, run, (overrides, steps) => {
        const r = rule(overrides);
        let state = emptyRuleState;
        let nowMs = t0;
        const open = new Map<string, AlertTransition>();
        const ids = new Set<string>();
        for (const [e, gapSeconds] of steps) {
          nowMs += gapSeconds * s;
          const step = nextRuleState(r, state, e, nowMs);
          state = step.state;
          for (const t of step.transitions) {
            const key = seriesKey(t.series.labels);
            expect(ids.has(t.id)).toBe(false);
            ids.add(t.id);
            const firing = open.get(key);
            if (t.kind === "firing") {
              expect(firing).toBeUndefined();
              open.set(key, t);
            } else {
              expect(firing?.series.firedAtMs).toBe(t.series.firedAtMs);
              open.delete(key);
            }
          }
          const activeNow = state.series
            .filter((x) => ["Firing", "NoData", "Error"].includes(x.state))
            .map((x) => seriesKey(x.labels));
          expect(activeNow.sort()).toEqual([...open.keys()].sort());
        }
      }),
      { numRuns: 400 },
    );
  });

  it("a rebuild from the status at any point changes no later transition or id (a series always present)", () => {
    const oneSeries = fc.array(
      fc.tuple(fc.constantFrom("B", "C", "N", "E"), fc.integer({ min: 1, max: 90 })),
      { minLength: 2, maxLength: 30 },
    );
    fc.assert(
      fc.property(spec, oneSeries, fc.nat(), (overrides, steps, cutSeed) => {
        const r = rule(overrides);
        const cut = 1 + (cutSeed % (steps.length - 1));
        const play = (from: RuleState, part: typeof steps, startMs: number) => {
          let state = from;
          let nowMs = startMs;
          const seen: string[] = [];
          for (const [letter, gapSeconds] of part) {
            nowMs += gapSeconds * s;
            const step = nextRuleState(r, state, letters[letter] as Evaluation, nowMs);
            state = step.state;
            seen.push(...step.transitions.map((t) => `${t.kind}:${t.id}`));
          }
          return { state, seen, nowMs };
        };
        const before = play(emptyRuleState, steps.slice(0, cut), t0);
        const whole = play(before.state, steps.slice(cut), before.nowMs);
        const rebuilt = restoreRuleState(
          stateFromStatus({ ...ruleSummary(before.state) }),
          before.nowMs,
          defaultOutageToleranceMs,
        );
        const resumed = play(rebuilt, steps.slice(cut), before.nowMs);
        expect(resumed.seen).toEqual(whole.seen);
        expect(ruleSummary(resumed.state)).toEqual(ruleSummary(whole.state));
      }),
      { numRuns: 400 },
    );
  });
});
