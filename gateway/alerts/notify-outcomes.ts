/**
 * The last delivery outcome of each rule's channels, for the AlertRule status ("last notification
 * per channel") and for deciding when a channel that keeps failing earns an Event.
 */
import type { ChannelKey } from "./notification.js";

export interface ChannelOutcome {
  readonly channel: string;
  /** When the last attempt ended (ISO 8601). */
  readonly lastAttempt: string;
  readonly ok: boolean;
  /** What happened, e.g. "delivered (HTTP 200) after 3 attempts" or "HTTP 503 from …". */
  readonly message: string;
  /** Failed deliveries since the last one that succeeded. */
  readonly consecutiveFailures: number;
}

export class ChannelOutcomes {
  private readonly byRule = new Map<string, Map<string, ChannelOutcome>>();

  record(key: ChannelKey, atMs: number, ok: boolean, message: string): ChannelOutcome {
    const ruleKey = `${key.ruleNamespace}/${key.ruleName}`;
    const channels = this.byRule.get(ruleKey) ?? new Map<string, ChannelOutcome>();
    this.byRule.set(ruleKey, channels);
    const failures = ok ? 0 : (channels.get(key.channel)?.consecutiveFailures ?? 0) + 1;
    const outcome: ChannelOutcome = {
      channel: key.channel,
      lastAttempt: new Date(atMs).toISOString(),
      ok,
      message,
      consecutiveFailures: failures,
    };
    channels.set(key.channel, outcome);
    return outcome;
  }

  /** The rule's channels by name. */
  forRule(ruleNamespace: string, ruleName: string): ChannelOutcome[] {
    const channels = this.byRule.get(`${ruleNamespace}/${ruleName}`);
    return channels === undefined
      ? []
      : [...channels.values()].sort((a, b) => a.channel.localeCompare(b.channel));
  }

  /** A deleted rule's outcomes go with it. */
  forget(ruleNamespace: string, ruleName: string): void {
    this.byRule.delete(`${ruleNamespace}/${ruleName}`);
  }
}

/** A failed request's reason for a status message: fetch hides it (refused, DNS, timeout) in `cause`. */
export function failureText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
