import { describe, expect, it } from "vitest";
import type { AlertRuleSpec } from "../../api/v1alpha1/alert-rule.js";
import { formatProblems, validateAlertRuleSpec } from "../../api/v1alpha1/validation.js";
import { type Evaluation, nextRuleState, type RuleState } from "./alert-state.js";
import {
  alertmanagerAlerts,
  alertmanagerDue,
  type RuleIdentity,
  ruleUrl,
  transitionNotifications,
} from "./rule-notifications.js";

const second = 1000;
const t0 = Date.now();
const base = "https://tally.example.com/";

function spec(extra: Record<string, unknown> = {}): AlertRuleSpec {
  const checked = validateAlertRuleSpec({
    query: { source: { kind: "Rollup", name: "r" }, metric: "events", groupBy: ["type"] },
    condition: { type: "threshold", operator: "gt", value: 10 },
    for: "4s",
    labels: { team: "checkout", alertname: "overridden" },
    annotations: { summary: "too many" },
    notify: [{ type: "alertmanager", name: "am", url: "http://am:9093" }],
    ...extra,
  });
  if (!checked.ok) throw new Error(formatProblems(checked.problems));
  return checked.value;
}

const rule: RuleIdentity = { namespace: "shop", name: "errors-high", uid: "uid-1", spec: spec() };
const values = (...pairs: [string, number][]): Evaluation => ({
  kind: "values",
  series: pairs.map(([type, value]) => ({ labels: { type }, value })),
});

/** Runs the state machine over `steps` (one per 2 s) and collects every transition's notifications. */
function run(steps: Evaluation[]) {
  let state: RuleState = { series: [] };
  const notified = [];
  for (const [i, evaluation] of steps.entries()) {
    const step = nextRuleState({ uid: rule.uid, spec: rule.spec }, state, evaluation, t0 + i * 2 * second);
    notified.push(...transitionNotifications(rule, step.transitions, base));
    state = step.state;
  }
  return { state, notified };
}

describe("notifications of a rule's transitions", () => {
  it("one firing and one resolved per episode, identified as the state machine identifies them", () => {
    const { notified } = run([
      values(["click", 50]),
      values(["click", 50]),
      values(["click", 50]), // 4 s breaching: fires
      values(["click", 50]),
      values(["click", 1]), // resolves
    ]);
    expect(notified.map((n) => n.status)).toEqual(["firing", "resolved"]);
    const [firing, resolved] = notified;
    expect(firing).toMatchObject({
      ruleNamespace: "shop",
      ruleName: "errors-high",
      ruleUid: "uid-1",
      severity: "warning",
      // The rule's labels, the series', then alertname/namespace/severity, which nothing overrides.
      labels: {
        team: "checkout",
        type: "click",
        alertname: "errors-high",
        namespace: "shop",
        severity: "warning",
      },
      annotations: { summary: "too many" },
      startsAtMs: t0 + 4 * second,
      value: 50,
      generatorURL: "https://tally.example.com/alerts/shop/errors-high",
    });
    expect(resolved).toMatchObject({
      status: "resolved",
      startsAtMs: t0 + 4 * second,
      resolvedAtMs: t0 + 8 * second,
      value: 1,
    });
    expect(firing?.idempotencyId).not.toBe(resolved?.idempotencyId);
    expect(firing?.idempotencyId).toMatch(/^alert_[0-9a-f]{32}$/);
  });

  it("lists every active series as firing and every recently resolved one as resolved for Alertmanager", () => {
    const { state } = run([
      values(["click", 50], ["view", 50], ["buy", 1]),
      values(["click", 50], ["view", 50], ["buy", 1]),
      values(["click", 50], ["view", 50], ["buy", 1]),
      values(["click", 50], ["view", 1], ["buy", 1]),
    ]);
    const alerts = alertmanagerAlerts(rule, state, base);
    expect(alerts.map((a) => [a.labels.type, a.status])).toEqual([
      ["click", "firing"],
      ["view", "resolved"],
    ]);
  });
});

describe("a NoData episode ended by a breach that waits its `for`", () => {
  it("notifies NoData once, then its resolve, then the breach's firing as a new episode, and re-sends the resolve meanwhile", () => {
    const noData: Evaluation = { kind: "noData" };
    const { state, notified } = run([
      values(["click", 1]),
      noData,
      noData,
      noData, // 4 s without data: NoData
      values(["click", 50]), // breaching: NoData resolved, the breach Pending
    ]);
    expect(notified.map((n) => [n.status, n.startsAtMs])).toEqual([
      ["firing", t0 + 6 * second],
      ["resolved", t0 + 6 * second],
    ]);
    expect(notified[1]).toMatchObject({ resolvedAtMs: t0 + 8 * second, value: 50 });
    // While the breach is Pending, Alertmanager is still told of the resolve.
    expect(alertmanagerAlerts(rule, state, base).map((a) => [a.status, a.idempotencyId])).toEqual([
      ["resolved", notified[1]?.idempotencyId],
    ]);
    const later = run([
      values(["click", 1]),
      noData,
      noData,
      noData,
      values(["click", 50]),
      values(["click", 50]),
      values(["click", 50]), // 4 s breaching: fires, a new episode
    ]);
    expect(later.notified.map((n) => [n.status, n.startsAtMs])).toEqual([
      ["firing", t0 + 6 * second],
      ["resolved", t0 + 6 * second],
      ["firing", t0 + 12 * second],
    ]);
  });
});

describe("alertmanagerDue", () => {
  const { state } = run([values(["click", 50]), values(["click", 50]), values(["click", 50])]);
  const alerts = alertmanagerAlerts(rule, state, base);
  const id = alerts[0]?.idempotencyId ?? "";
  const resend = 60 * second;

  it("sends a new alert at once, then once every resend delay, and forgets alerts no longer known", () => {
    const first = alertmanagerDue(alerts, { gone: t0 }, t0, resend);
    expect(first.due).toHaveLength(1);
    expect(first.sentAfter).toEqual({ [id]: t0 });
    expect(alertmanagerDue(alerts, first.sentAfter, t0 + resend, resend).due).toHaveLength(0);
    const later = alertmanagerDue(alerts, first.sentAfter, t0 + resend + 1, resend);
    expect(later.due).toHaveLength(1);
    expect(later.sentAfter).toEqual({ [id]: t0 + resend + 1 });
  });
});

describe("ruleUrl", () => {
  it("joins the public URL and the rule, escaped", () => {
    expect(ruleUrl("http://gw:8090//", "a b", "c/d")).toBe("http://gw:8090/alerts/a%20b/c%2Fd");
  });
});
