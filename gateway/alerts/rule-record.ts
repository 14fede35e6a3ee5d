/**
 * What the evaluator keeps per rule between evaluations and across replicas, as stored in Redis
 * (one key per rule, JSON): the series states, the evaluation instant, when each alert was last
 * sent to each Alertmanager channel, and the webhook deliveries decided but not yet finished. It is
 * written before anything is sent, so a replica that takes over knows what was decided and sends
 * the unfinished deliveries again under the same webhook-id.
 */
import type { Redis } from "ioredis";
import type { AlertRuleStatus } from "../../api/v1alpha1/alert-rule.js";
import {
  emptyRuleState,
  type RuleState,
  restoreRuleState,
  type SeriesState,
  stateFromStatus,
} from "./alert-state.js";
import type { AlertNotification } from "./notification.js";
import type { SentLog } from "./rule-notifications.js";

export interface PendingWebhook {
  readonly channel: string;
  readonly notification: AlertNotification;
}

export interface RuleRecord {
  readonly state: RuleState;
  /** Per Alertmanager channel. */
  readonly alertmanagerSent: Readonly<Record<string, SentLog>>;
  readonly webhookPending: readonly PendingWebhook[];
}

export const emptyRecord: RuleRecord = { state: emptyRuleState, alertmanagerSent: {}, webhookPending: [] };

const formatVersion = 1;

/** The key of a rule's record: the uid too, so a rule deleted and created again starts afresh. */
export function recordKey(namespace: string, name: string, uid: string): string {
  return `tally:alerts:v${formatVersion}:${namespace}:${name}:${uid}`;
}

export class RuleRecordError extends Error {
  override readonly name = "RuleRecordError";
}

/** A stored record as text (pure). NaN values (none are stored today) would become null: refused on read. */
export function encodeRecord(record: RuleRecord): string {
  return JSON.stringify({ version: formatVersion, ...record });
}

function isSeries(value: unknown): value is SeriesState {
  const s = value as Partial<SeriesState> | null;
  return (
    typeof s === "object" &&
    s !== null &&
    typeof s.labels === "object" &&
    typeof s.state === "string" &&
    typeof s.sinceMs === "number" &&
    typeof s.missing === "number" &&
    (s.value === undefined || typeof s.value === "number")
  );
}

/** Reads a stored record (pure); a record of another format or shape is refused, naming the key. */
export function decodeRecord(key: string, text: string): RuleRecord {
  let parsed: Partial<RuleRecord> & { version?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    throw new RuleRecordError(`Redis key ${key}: not JSON (${(error as Error).message})`);
  }
  if (parsed.version !== formatVersion)
    throw new RuleRecordError(
      `Redis key ${key}: version ${String(parsed.version)}, expected ${formatVersion}`,
    );
  const series = parsed.state?.series;
  if (!Array.isArray(series) || !series.every(isSeries))
    throw new RuleRecordError(`Redis key ${key}: state.series is not a list of series states`);
  return {
    state: parsed.state as RuleState,
    alertmanagerSent: parsed.alertmanagerSent ?? {},
    webhookPending: parsed.webhookPending ?? [],
  };
}

/**
 * The record to continue from on start or takeover (pure): the stored one with its `for` timers kept
 * within the outage tolerance, or, when Redis has none, the state the AlertRule's status recorded.
 */
export function resumeRecord(
  stored: RuleRecord | undefined,
  status: AlertRuleStatus | undefined,
  nowMs: number,
  outageToleranceMs: number,
): RuleRecord {
  if (stored !== undefined)
    return { ...stored, state: restoreRuleState(stored.state, nowMs, outageToleranceMs) };
  return { ...emptyRecord, state: restoreRuleState(stateFromStatus(status), nowMs, outageToleranceMs) };
}

/** The Redis side (thin). */
export class RuleRecordStore {
  constructor(private readonly redis: Redis) {}

  async load(key: string): Promise<RuleRecord | undefined> {
    const text = await this.redis.get(key);
    return text === null ? undefined : decodeRecord(key, text);
  }

  async save(key: string, record: RuleRecord): Promise<void> {
    await this.redis.set(key, encodeRecord(record));
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }
}
