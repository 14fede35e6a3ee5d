/**
 * What the evaluator hands the notifiers (pure): one AlertNotification per series and episode, the
 * Alertmanager alerts due now (each active series every resend delay, each resolved one for 15
 * minutes after its resolution), and one webhook delivery per transition. Alertmanager identifies
 * an alert by its labels, a webhook receiver by the transition id, so neither hears of one
 * transition twice.
 */
import type { AlertRuleSpec } from "../../api/v1alpha1/alert-rule.js";
import {
  type AlertTransition,
  isActive,
  type RuleState,
  type SeriesState,
  transitionId,
} from "./alert-state.js";
import type { AlertNotification } from "./notification.js";
import { alertmanagerSendDue } from "./notify-alertmanager.js";

export interface RuleIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly spec: AlertRuleSpec;
}

/** The gateway's page for a rule (Alertmanager's and the webhook's `generatorURL`). */
export function ruleUrl(publicUrl: string, namespace: string, name: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/alerts/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/**
 * The notification of one series' episode. The rule's own labels first, then the series' group-by
 * values, then `alertname`, `namespace` and `severity`, which nothing overrides (Alertmanager routes
 * on them). Undefined for a series with no episode (never active).
 */
export function seriesNotification(
  rule: RuleIdentity,
  series: SeriesState,
  kind: AlertTransition["kind"],
  publicUrl: string,
): AlertNotification | undefined {
  const firedAtMs = series.firedAtMs;
  if (firedAtMs === undefined) return undefined;
  const common = {
    ruleNamespace: rule.namespace,
    ruleName: rule.name,
    ruleUid: rule.uid,
    severity: rule.spec.severity,
    labels: {
      ...rule.spec.labels,
      ...series.labels,
      alertname: rule.name,
      namespace: rule.namespace,
      severity: rule.spec.severity,
    },
    annotations: { ...rule.spec.annotations },
    startsAtMs: firedAtMs,
    value: series.value ?? Number.NaN,
    idempotencyId: transitionId(rule.uid, series.labels, firedAtMs, kind),
    generatorURL: ruleUrl(publicUrl, rule.namespace, rule.name),
  };
  if (kind === "firing") return { ...common, status: "firing" };
  return series.resolvedAtMs === undefined
    ? undefined
    : { ...common, status: "resolved", resolvedAtMs: series.resolvedAtMs };
}

/** Every alert Alertmanager should know of: active series as firing, recently resolved ones as resolved. */
export function alertmanagerAlerts(
  rule: RuleIdentity,
  state: RuleState,
  publicUrl: string,
): AlertNotification[] {
  return state.series.flatMap((s) => {
    const kind = isActive(s.state) ? "firing" : s.resolvedAtMs === undefined ? undefined : "resolved";
    const n = kind === undefined ? undefined : seriesNotification(rule, s, kind, publicUrl);
    return n === undefined ? [] : [n];
  });
}

/** When each alert (by idempotency id) was last sent to one Alertmanager channel. */
export type SentLog = Readonly<Record<string, number>>;

/**
 * The alerts to send to one Alertmanager channel now, and the sent log to keep once they are sent
 * (alerts no longer known are forgotten, so the log never outgrows the rule's series).
 */
export function alertmanagerDue(
  alerts: readonly AlertNotification[],
  sent: SentLog,
  nowMs: number,
  resendDelayMs: number,
): { readonly due: AlertNotification[]; readonly sentAfter: SentLog } {
  const due = alerts.filter((a) => alertmanagerSendDue(a, sent[a.idempotencyId], nowMs, resendDelayMs));
  const dueIds = new Set(due.map((a) => a.idempotencyId));
  const sentAfter = Object.fromEntries(
    alerts.flatMap((a) => {
      const at = dueIds.has(a.idempotencyId) ? nowMs : sent[a.idempotencyId];
      return at === undefined ? [] : [[a.idempotencyId, at] as const];
    }),
  );
  return { due, sentAfter };
}

/** The webhook notifications of one evaluation's transitions, in order. */
export function transitionNotifications(
  rule: RuleIdentity,
  transitions: readonly AlertTransition[],
  publicUrl: string,
): AlertNotification[] {
  return transitions.flatMap((t) => {
    const n = seriesNotification(rule, t.series, t.kind, publicUrl);
    return n === undefined ? [] : [n];
  });
}
