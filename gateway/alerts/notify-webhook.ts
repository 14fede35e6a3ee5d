/**
 * Webhook notifications: a JSON body in the Standard Webhooks shape (`id`, `type`, `timestamp`,
 * `data`), signed per attempt, retried with capped backoff under the same webhook-id so the
 * receiver can drop repeats. A delivery never throws and never waits on another channel: each is
 * its own promise, and its outcome goes to the channel's status.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../logger.js";
import type { AlertNotification, ChannelKey } from "./notification.js";
import { type ChannelOutcomes, failureText } from "./notify-outcomes.js";
import {
  nextDelayMs,
  type RetryPolicy,
  retryAfterMs,
  retryable,
  webhookRetryPolicy,
} from "./notify-retry.js";
import { signWebhook } from "./notify-signature.js";

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The body (pure, byte-stable for one notification: the bytes signed are the bytes sent, and every
 * retry sends the same). `timestamp` is when the transition happened, not when it is delivered.
 */
export function webhookBody(n: AlertNotification): string {
  const at = n.status === "resolved" ? n.resolvedAtMs : n.startsAtMs;
  return JSON.stringify({
    id: n.idempotencyId,
    type: `alert.${n.status}`,
    timestamp: new Date(at).toISOString(),
    data: {
      rule: { namespace: n.ruleNamespace, name: n.ruleName, uid: n.ruleUid },
      status: n.status,
      severity: n.severity,
      labels: sortedRecord(n.labels),
      annotations: sortedRecord(n.annotations),
      startsAt: new Date(n.startsAtMs).toISOString(),
      ...(n.status === "resolved" ? { endsAt: new Date(n.resolvedAtMs).toISOString() } : {}),
      // JSON has no NaN or Infinity: such a value is sent as null.
      value: Number.isFinite(n.value) ? n.value : null,
      generatorURL: n.generatorURL,
    },
  });
}

export type WebhookDelivery =
  | { readonly ok: true; readonly attempts: number; readonly status: number }
  | { readonly ok: false; readonly attempts: number; readonly message: string };

export interface WebhookSenderOptions {
  readonly outcomes: ChannelOutcomes;
  readonly logger: Logger;
  readonly policy?: RetryPolicy;
  /** Per attempt; Standard Webhooks recommends 15 to 30 s. */
  readonly timeoutMs?: number;
  /** Jitter source, [0, 1). */
  readonly random?: () => number;
}

type Attempt =
  | { readonly kind: "delivered"; readonly status: number }
  | {
      readonly kind: "failed";
      readonly retry: boolean;
      readonly waitAskedMs?: number;
      readonly message: string;
    };

export class WebhookSender {
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly random: () => number;

  constructor(private readonly options: WebhookSenderOptions) {
    this.policy = options.policy ?? webhookRetryPolicy;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.random = options.random ?? Math.random;
  }

  /**
   * Delivers `notification` to `url` (from the channel's Secret: it may embed a token, so it is never
   * logged nor put in a message), signed with every key.
   */
  async send(
    channel: string,
    url: string,
    notification: AlertNotification,
    keys: readonly string[],
  ): Promise<WebhookDelivery> {
    const key: ChannelKey = {
      ruleNamespace: notification.ruleNamespace,
      ruleName: notification.ruleName,
      channel,
    };
    const body = webhookBody(notification);
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(url, notification.idempotencyId, body, keys);
      if (result.kind === "delivered") {
        const message = `delivered (HTTP ${result.status})${attempt > 1 ? ` after ${attempt} attempts` : ""}`;
        this.options.outcomes.record(key, Date.now(), true, message);
        return { ok: true, attempts: attempt, status: result.status };
      }
      if (!result.retry || attempt >= this.policy.attempts) {
        const message = `${result.message}; gave up after ${attempt} attempt(s)`;
        const outcome = this.options.outcomes.record(key, Date.now(), false, message);
        this.options.logger.warn(
          {
            namespace: key.ruleNamespace,
            name: key.ruleName,
            channel,
            webhookId: notification.idempotencyId,
            consecutiveFailures: outcome.consecutiveFailures,
          },
          `webhook not delivered: ${message}`,
        );
        return { ok: false, attempts: attempt, message };
      }
      await sleep(nextDelayMs(attempt, this.policy, this.random(), result.waitAskedMs));
    }
  }

  private async attempt(url: string, id: string, body: string, keys: readonly string[]): Promise<Attempt> {
    let headers: Record<string, string>;
    try {
      // A fresh timestamp (and so signature) per attempt: receivers refuse old timestamps as replays.
      headers = { ...signWebhook(id, Math.floor(Date.now() / 1000), body, keys) };
    } catch (error) {
      return { kind: "failed", retry: false, message: failureText(error) };
    }
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = (await response.text()).slice(0, 200).trim();
      if (response.status >= 200 && response.status < 300)
        return { kind: "delivered", status: response.status };
      // A redirect is a failure (Standard Webhooks): following it would send the alert somewhere unconfigured.
      return {
        kind: "failed",
        retry: retryable({ status: response.status }),
        waitAskedMs: retryAfterMs(response.headers.get("retry-after"), Date.now()),
        message: `HTTP ${response.status}${text === "" ? "" : `: ${text}`}`,
      };
    } catch (error) {
      return { kind: "failed", retry: retryable("NoResponse"), message: `no answer: ${failureText(error)}` };
    }
  }
}
