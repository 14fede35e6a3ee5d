/**
 * What the notifiers are given for one series' transition: the state machine decides, the
 * notifiers render and deliver. Defined here, on the notifiers' side, so they depend on nothing the
 * evaluator does; whoever drives them builds one per transition (and per Alertmanager resend).
 */
import type { AlertRuleSpec } from "../../api/v1alpha1/alert-rule.js";

interface NotificationCommon {
  readonly ruleNamespace: string;
  readonly ruleName: string;
  readonly ruleUid: string;
  readonly severity: AlertRuleSpec["severity"];
  /**
   * What identifies the alert to Alertmanager: the rule's labels, the series' group-by values and
   * `alertname`, `namespace` and `severity`. An empty value means "no such label" (as in Prometheus).
   */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** When the series started firing (epoch ms). */
  readonly startsAtMs: number;
  /** The value that made (or ended) the transition. */
  readonly value: number;
  /**
   * One per transition, the same on every retry and resend of it: the webhook-id receivers drop
   * repeats by. No "." (the Standard Webhooks signed content is `id.timestamp.body`).
   */
  readonly idempotencyId: string;
  /** The gateway's page for the rule. */
  readonly generatorURL: string;
}

export type AlertNotification =
  | (NotificationCommon & { readonly status: "firing" })
  | (NotificationCommon & { readonly status: "resolved"; readonly resolvedAtMs: number });

type NotifyChannel = AlertRuleSpec["notify"][number];
export type AlertmanagerChannel = Extract<NotifyChannel, { type: "alertmanager" }>;
export type WebhookChannel = Extract<NotifyChannel, { type: "webhook" }>;

/** A channel of one rule: channel names are unique within a rule only. */
export interface ChannelKey {
  readonly ruleNamespace: string;
  readonly ruleName: string;
  readonly channel: string;
}
