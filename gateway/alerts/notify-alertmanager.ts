/**
 * Alertmanager v2 (`POST /api/v2/alerts`) as Prometheus drives it: a firing alert is re-sent every
 * resend delay with `endsAt` a few evaluations ahead, so Alertmanager resolves it by itself if the
 * sender dies, and a resolved alert is re-sent with `endsAt` = the resolve time for 15 minutes, so an
 * Alertmanager that restarted or missed one still learns of it. Alertmanager deduplicates by the
 * labels, so resends notify nobody twice.
 */
import type { Logger } from "../logger.js";
import type { AlertmanagerChannel, AlertNotification, ChannelKey } from "./notification.js";
import { type ChannelOutcomes, failureText } from "./notify-outcomes.js";

/** A postable alert (Alertmanager's OpenAPI `postableAlert`). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

/** Prometheus' `resolvedRetention`: how long a resolved alert keeps being re-sent. */
export const resolvedResendWindowMs = 15 * 60_000;
/** Prometheus' `--rules.alert.resend-delay` default. */
export const defaultResendDelayMs = 60_000;

/**
 * How long a firing alert stays valid without a resend: 4 × max(interval, resend delay), as
 * Prometheus does, so two evaluations or sends can fail before Alertmanager resolves it.
 */
export function firingValidityMs(evalIntervalMs: number, resendDelayMs: number): number {
  return 4 * Math.max(evalIntervalMs, resendDelayMs);
}

function withoutEmptyValues(labels: Readonly<Record<string, string>>): Record<string, string> {
  // Sorted so that two renderings of one alert are byte-equal.
  return Object.fromEntries(
    Object.entries(labels)
      .filter(([, value]) => value !== "")
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** The request body for a batch of notifications sent at `nowMs` (pure). */
export function alertmanagerPayload(
  notifications: readonly AlertNotification[],
  nowMs: number,
  evalIntervalMs: number,
  resendDelayMs: number,
): PostableAlert[] {
  return notifications.map((n) => ({
    // An empty label value is no label (Prometheus), and Alertmanager would keep it as a distinct alert.
    labels: withoutEmptyValues(n.labels),
    annotations: { ...n.annotations },
    startsAt: new Date(n.startsAtMs).toISOString(),
    endsAt: new Date(
      n.status === "resolved" ? n.resolvedAtMs : nowMs + firingValidityMs(evalIntervalMs, resendDelayMs),
    ).toISOString(),
    generatorURL: n.generatorURL,
  }));
}

/** Whether an alert last sent at `lastSentMs` is due again (Prometheus: strictly after the delay). */
export function resendDue(lastSentMs: number, nowMs: number, resendDelayMs: number): boolean {
  return lastSentMs + resendDelayMs < nowMs;
}

/** Whether a resolved alert is still re-sent (within 15 min of its resolution). */
export function withinResolvedResendWindow(resolvedAtMs: number, nowMs: number): boolean {
  return nowMs - resolvedAtMs <= resolvedResendWindowMs;
}

/**
 * Whether Alertmanager should be sent this series now (Prometheus' `needsSending`): never sent, or
 * resolved since the last send: yes; resolved more than 15 min ago: no more; otherwise once every
 * resend delay.
 */
export function alertmanagerSendDue(
  notification: AlertNotification,
  lastSentMs: number | undefined,
  nowMs: number,
  resendDelayMs: number,
): boolean {
  if (lastSentMs === undefined) return true;
  if (notification.status === "resolved") {
    if (notification.resolvedAtMs > lastSentMs) return true;
    if (!withinResolvedResendWindow(notification.resolvedAtMs, nowMs)) return false;
  }
  return resendDue(lastSentMs, nowMs, resendDelayMs);
}

export class AlertmanagerSendError extends Error {
  override readonly name = "AlertmanagerSendError";
  constructor(
    readonly key: ChannelKey,
    readonly url: string,
    readonly status: number | undefined,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** `<base>/api/v2/alerts`, keeping a path prefix the base URL may have (Alertmanager behind a proxy). */
export function alertsEndpoint(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/v2/alerts`;
  return url.toString();
}

export interface AlertmanagerSenderOptions {
  readonly outcomes: ChannelOutcomes;
  readonly logger: Logger;
  readonly timeoutMs?: number;
}

/**
 * One POST per call: no retry of its own, since the next resend (every resend delay) is the retry,
 * as in Prometheus. Throws an AlertmanagerSendError naming the rule, channel, URL and status; the
 * outcome is recorded for the status either way.
 */
export class AlertmanagerSender {
  private readonly timeoutMs: number;

  constructor(private readonly options: AlertmanagerSenderOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async send(
    ruleNamespace: string,
    ruleName: string,
    channel: AlertmanagerChannel,
    payload: readonly PostableAlert[],
  ): Promise<void> {
    const key: ChannelKey = { ruleNamespace, ruleName, channel: channel.name };
    const url = alertsEndpoint(channel.url);
    const where = `AlertRule ${ruleNamespace}/${ruleName} channel ${channel.name} (Alertmanager ${url})`;
    let failure: AlertmanagerSendError | undefined;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) {
        const text = (await response.text()).slice(0, 300).trim();
        failure = new AlertmanagerSendError(
          key,
          url,
          response.status,
          `${where}: HTTP ${response.status}, expected 200${text === "" ? "" : `: ${text}`}`,
        );
      }
    } catch (error) {
      failure = new AlertmanagerSendError(key, url, undefined, `${where}: no answer: ${failureText(error)}`, {
        cause: error,
      });
    }
    const outcome = this.options.outcomes.record(
      key,
      Date.now(),
      failure === undefined,
      failure?.message ?? `sent ${payload.length} alert(s)`,
    );
    if (failure !== undefined) {
      this.options.logger.warn(
        {
          namespace: ruleNamespace,
          name: ruleName,
          channel: channel.name,
          status: failure.status,
          consecutiveFailures: outcome.consecutiveFailures,
        },
        failure.message,
      );
      throw failure;
    }
  }
}
