/**
 * The alert evaluator (the I/O around the pure parts): watches AlertRules; each rule belongs to one of a
 * fixed number of shards (rule-shards.ts) and the replicas share the shards through one Lease each
 * (shard-coordinator.ts), so exactly one gateway replica evaluates a rule and a replica's death moves its
 * rules within one lease duration; the owner evaluates the rule at its slots, every `interval` from an
 * offset hashed from its name (rule-schedule.ts: 1,000 rules spread over the interval; a rule never
 * evaluated, at once), at most
 * `concurrency` distinct queries at once (evaluation-limiter.ts), and a live-window rule also on each change
 * of its window in Redis (window-change-watcher.ts); rules asking the same question at once share one
 * query (shared-queries.ts); each evaluation persists the new state in Redis BEFORE
 * sending anything, then notifies each channel and writes the rule's status and an Event on each
 * change of the rule's state. Each rule runs on its own timer and each channel send is bounded by a
 * timeout, so a slow query or a failing channel holds up no other rule.
 */
import type { Redis } from "ioredis";
import type { AlertRuleSpec } from "../../api/v1alpha1/alert-rule.js";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { AlertRuleObject } from "../../api/v1alpha1/objects.js";
import { apiVersion } from "../../api/v1alpha1/resources.js";
import { validateAlertRuleSpec } from "../../api/v1alpha1/validation.js";
import { buildCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import { Informer } from "../../lib/kube/informer.js";
import { type KubeClient, type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import type { Logger } from "../logger.js";
import type { SourceSnapshot } from "../query/create-query-service.js";
import { QueryRefusal } from "../query/query-refusal.js";
import type { QueryService } from "../query/query-service.js";
import {
  type AlertObserver,
  type EvaluationOutcome,
  type EvaluationTrigger,
  ignoreAlertObservations,
} from "./alert-observer.js";
import {
  defaultOutageToleranceMs,
  type Evaluation,
  nextRuleState,
  resolvedRetentionMs,
} from "./alert-state.js";
import { defaultConcurrency, defaultEvaluationConcurrency, EvaluationLimiter } from "./evaluation-limiter.js";
import { AlertmanagerSender, alertmanagerPayload, defaultResendDelayMs } from "./notify-alertmanager.js";
import { ChannelOutcomes, failureText } from "./notify-outcomes.js";
import { webhookTarget } from "./notify-secret.js";
import { WebhookSender } from "./notify-webhook.js";
import {
  alertmanagerAlerts,
  alertmanagerDue,
  type RuleIdentity,
  type SentLog,
  transitionNotifications,
} from "./rule-notifications.js";
import { evaluationOf, ruleQueries } from "./rule-query.js";
import {
  type PendingWebhook,
  type RuleRecord,
  RuleRecordError,
  RuleRecordStore,
  recordKey,
  resumeRecord,
} from "./rule-record.js";
import { evaluationOffsetMs, firstEvaluationMs, slotAfter } from "./rule-schedule.js";
import { defaultShardCount, shardOfRule } from "./rule-shards.js";
import {
  channelFailureEvents,
  type GatewayStatus,
  gatewayStatus,
  type RuleEvent,
  statusWriteDue,
  transitionEvent,
} from "./rule-status.js";
import { ShardCoordinator } from "./shard-coordinator.js";
import { SharedQueries, sharedQueryKey, sharedRangeEndMs } from "./shared-queries.js";
import { defaultWindowPollMs, WindowChangeWatcher } from "./window-change-watcher.js";

/** The gateway's server-side-apply field manager for AlertRule status (the operator has its own). */
export const alertStatusFieldManager = "tally-gateway-alerts";

export interface AlertEvaluatorOptions {
  readonly client: KubeClient;
  readonly query: QueryService;
  readonly snapshot: (namespace: string) => SourceSnapshot;
  readonly redis: Redis;
  readonly recorder: EventRecorder;
  readonly logger: Logger;
  /** This replica's name on the Leases. */
  readonly identity: string;
  /** Where the shard Leases live (the gateway's namespace). */
  readonly leaseNamespace: string;
  /** undefined: every namespace's rules. */
  readonly watchNamespace: string | undefined;
  /** The base of the rule pages notifications link to (generatorURL). */
  readonly publicUrl: string;
  readonly leaseDurationMs?: number;
  /** How many shards the rules are spread over (every replica must use the same number). */
  readonly shards?: number;
  /** At most this many distinct queries at once (the others wait for a slot). */
  readonly concurrency?: number;
  /** At most this many evaluations at once (a bound for bursts). */
  readonly evaluationConcurrency?: number;
  readonly observer?: AlertObserver;
  /** How often the live windows that live-window rules watch are checked for a change. */
  readonly windowPollMs?: number;
  /** A query (both of a change condition's) not answered by then is an Error evaluation. */
  readonly queryTimeoutMs?: number;
  readonly resendDelayMs?: number;
  readonly outageToleranceMs?: number;
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

class QueryTimeout extends Error {
  override readonly name = "QueryTimeout";
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueryTimeout(`${what} timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const pendingId = (p: PendingWebhook) => `${p.channel}/${p.notification.idempotencyId}`;

/** When a pending webhook's transition happened: pending deliveries older than the resolved retention are dropped. */
const transitionAtMs = (p: PendingWebhook) =>
  p.notification.status === "resolved" ? p.notification.resolvedAtMs : p.notification.startsAtMs;

export class AlertEvaluator {
  private readonly informer: Informer<AlertRuleObject>;
  private readonly runners = new Map<string, RuleRunner>();
  private readonly coordinator: ShardCoordinator;
  private stopping = false;
  readonly outcomes = new ChannelOutcomes();
  readonly store: RuleRecordStore;
  readonly alertmanager: AlertmanagerSender;
  readonly webhooks: WebhookSender;
  readonly leaseDurationMs: number;
  readonly shards: number;
  readonly limiter: EvaluationLimiter;
  readonly queryLimiter: EvaluationLimiter;
  readonly observer: AlertObserver;
  readonly windows: WindowChangeWatcher;
  /** Rules asking the same question at once share its query. */
  readonly queries = new SharedQueries<Awaited<ReturnType<QueryService["query"]>>>();
  readonly queryTimeoutMs: number;
  readonly resendDelayMs: number;
  readonly outageToleranceMs: number;

  constructor(readonly options: AlertEvaluatorOptions) {
    this.store = new RuleRecordStore(options.redis);
    this.alertmanager = new AlertmanagerSender({ outcomes: this.outcomes, logger: options.logger });
    this.webhooks = new WebhookSender({ outcomes: this.outcomes, logger: options.logger });
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.shards = options.shards ?? defaultShardCount;
    this.limiter = new EvaluationLimiter(options.evaluationConcurrency ?? defaultEvaluationConcurrency);
    this.queryLimiter = new EvaluationLimiter(options.concurrency ?? defaultConcurrency);
    this.observer = options.observer ?? ignoreAlertObservations;
    this.windows = new WindowChangeWatcher(
      options.redis,
      (error, pipeline) =>
        options.logger.warn({ err: failureText(error), pipeline }, "live window change poll failed"),
      options.windowPollMs ?? defaultWindowPollMs,
    );
    this.coordinator = new ShardCoordinator({
      client: options.client,
      namespace: options.leaseNamespace,
      identity: options.identity,
      shards: this.shards,
      leaseDurationMs: this.leaseDurationMs,
      onShardsChanged: (held) => this.onShards(held),
      onError: (error, what) => options.logger.warn({ err: failureText(error), what }, "alert shard leases"),
    });
    this.queryTimeoutMs = options.queryTimeoutMs ?? 30_000;
    this.resendDelayMs = options.resendDelayMs ?? defaultResendDelayMs;
    this.outageToleranceMs = options.outageToleranceMs ?? defaultOutageToleranceMs;
    this.informer = new Informer(
      options.client,
      resourceTypes.alertRule,
      (key, object) => this.onRule(key, object),
      {
        namespace: options.watchNamespace,
        resyncMs: 10 * 60_000,
        onError: (error, phase) =>
          options.logger.warn(
            { kind: "AlertRule", phase, err: failureText(error) },
            "AlertRule watch failed; retrying",
          ),
      },
    );
  }

  start(): void {
    this.informer.start();
    this.coordinator.start();
  }

  /** Whether this replica holds `shard` now: checked again before anything is sent. */
  holds(shard: number): boolean {
    return !this.stopping && this.coordinator.holds(shard);
  }

  /** The shards this replica holds now. */
  heldShards(): number[] {
    return this.coordinator.heldShards();
  }

  synced(): boolean {
    return this.informer.hasSynced();
  }

  /** The rules (namespace/name) this replica evaluates now. */
  owned(): string[] {
    return [...this.runners]
      .filter(([, r]) => r.owning())
      .map(([key]) => key)
      .sort();
  }

  /**
   * Stops watching and evaluating; then the Leases are released (evaluations in flight have ended, so
   * nothing is sent twice) and another replica takes over at once.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.informer.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stop(false)));
    this.runners.clear();
    this.windows.stop();
    await this.coordinator.stop();
  }

  /** Resolves once the evaluations of rules whose shard is no longer held have ended. */
  private async onShards(held: ReadonlySet<number>): Promise<void> {
    if (this.stopping) return;
    const stopped = Promise.all(
      [...this.runners.values()].map((runner) => runner.own(held.has(runner.shard))),
    );
    this.reportOwned();
    await stopped;
  }

  private reportOwned(): void {
    this.observer.owned(this.coordinator.heldShards().length, this.owned().length);
  }

  private onRule(key: string, object: AlertRuleObject | undefined): void {
    const runner = this.runners.get(key);
    const uid = object?.metadata?.uid;
    if (object === undefined || uid === undefined || object.metadata?.deletionTimestamp !== undefined) {
      if (runner === undefined) return;
      this.runners.delete(key);
      void runner.stop(true);
      this.reportOwned();
      return;
    }
    if (runner?.uid === uid) {
      runner.update(object);
      return;
    }
    if (runner !== undefined) void runner.stop(true);
    const next = new RuleRunner(this, object, uid);
    this.runners.set(key, next);
    void next.own(this.holds(next.shard));
    this.reportOwned();
  }
}

/** One rule: while this replica holds the rule's shard, its evaluation timer. */
class RuleRunner {
  readonly shard: number;
  private readonly namespace: string;
  private readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  /** The rule's evaluations, one after the other (an interval's and a window change's never overlap). */
  private tickDone: Promise<void> = Promise.resolve();
  /** A window-change evaluation is queued (more changes meanwhile are the same evaluation). */
  private triggered = false;
  /** Stops watching the rule's live window; set while this replica evaluates a live-window rule. */
  private unwatch: (() => void) | undefined;
  private watchedWindow: string | undefined;
  /** Loaded from Redis (or the status) on takeover; dropped on losing the Lease. */
  private record: RuleRecord | undefined;
  /** What this replica last wrote to the status (the watch may not have brought it back yet). */
  private written: GatewayStatus | undefined;
  private readonly inFlight = new Set<string>();
  private readonly finished = new Set<string>();

  constructor(
    private readonly evaluator: AlertEvaluator,
    private rule: AlertRuleObject,
    readonly uid: string,
  ) {
    this.namespace = rule.metadata?.namespace ?? "";
    this.name = rule.metadata?.name ?? "";
    this.shard = shardOfRule(this.namespace, this.name, evaluator.shards);
  }

  owning(): boolean {
    return this.leading;
  }

  /** Starts or stops evaluating as this replica gains or loses the rule's shard; resolves once stopped. */
  async own(owning: boolean): Promise<void> {
    if (owning && !this.leading) this.takeOver();
    else if (!owning && this.leading) {
      this.handOver();
      await this.tickDone;
    }
  }

  update(rule: AlertRuleObject): void {
    this.rule = rule;
    if (this.leading) this.watchWindow();
  }

  /** Watches the live window the rule's spec names (none for a Rollup rule), following spec changes. */
  private watchWindow(): void {
    const checked = validateAlertRuleSpec(this.rule.spec);
    const source = checked.ok ? checked.value.query.source : undefined;
    const window =
      this.leading && source?.kind === "Window" && source.window !== undefined
        ? { pipeline: source.name, window: source.window }
        : undefined;
    const key = window === undefined ? undefined : `${window.pipeline}/${window.window}`;
    if (key === this.watchedWindow) return;
    this.unwatch?.();
    this.unwatch = undefined;
    this.watchedWindow = key;
    if (window !== undefined)
      this.unwatch = this.evaluator.windows.watch(this.namespace, window.pipeline, window.window, () =>
        this.onWindowChange(),
      );
  }

  /** The watched window changed: an evaluation now (after one running), besides the interval's. */
  private onWindowChange(): void {
    if (!this.leading || this.triggered) return;
    this.triggered = true;
    const seenMs = Date.now();
    this.tickDone = this.tickDone.then(() => {
      this.triggered = false;
      return this.run("window", seenMs);
    });
  }

  /** Stops evaluating (an evaluation in flight ends first); `deleted`: the rule is gone, so is its record. */
  async stop(deleted: boolean): Promise<void> {
    const wasLeading = this.leading;
    this.handOver();
    await this.tickDone;
    if (deleted && wasLeading) {
      await this.evaluator.store
        .delete(recordKey(this.namespace, this.name, this.uid))
        .catch((error: unknown) =>
          this.log("warn", { err: failureText(error) }, "could not delete the rule's record"),
        );
      this.evaluator.outcomes.forget(this.namespace, this.name);
    }
  }

  private log(level: "info" | "warn" | "debug", fields: Record<string, unknown>, message: string): void {
    this.evaluator.options.logger[level]({ namespace: this.namespace, name: this.name, ...fields }, message);
  }

  private takeOver(): void {
    this.leading = true;
    this.record = undefined;
    this.written = undefined;
    this.log(
      "info",
      { identity: this.evaluator.options.identity, shard: this.shard },
      "evaluating the rule (took its shard)",
    );
    // A new rule at once; one evaluated before at its own slot (hashed from its name), so rules taken
    // over together do not run together.
    const everEvaluated = this.rule.status?.lastEvaluation !== undefined;
    this.schedule(firstEvaluationMs(Date.now(), this.intervalMs(), this.offsetMs(), everEvaluated));
    this.watchWindow();
  }

  private handOver(): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.record = undefined;
    this.watchWindow();
    this.log("info", {}, "stopped evaluating the rule (its shard lost or released)");
  }

  private intervalMs(): number {
    const checked = validateAlertRuleSpec(this.rule.spec);
    return checked.ok ? parseDuration(checked.value.interval, "spec.interval") : 30_000;
  }

  private offsetMs(): number {
    return evaluationOffsetMs(this.namespace, this.name, this.intervalMs());
  }

  private schedule(slotMs: number): void {
    if (!this.leading) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.tickDone = this.tickDone
          .then(() => this.run("interval", slotMs))
          .then(() => this.schedule(slotAfter(slotMs, Date.now(), this.intervalMs(), this.offsetMs())));
      },
      Math.max(0, slotMs - Date.now()),
    );
  }

  /**
   * One evaluation, through the evaluator's limiter and after any of this rule's still running (one at a
   * time per rule). `dueMs`: its slot, or when the window change was seen; the lag is measured from it.
   */
  private async run(trigger: EvaluationTrigger, dueMs: number): Promise<void> {
    await this.evaluator.limiter.run(async () => {
      if (!this.leading) return;
      const startedMs = Date.now();
      let outcome: EvaluationOutcome = "failed";
      try {
        outcome = await this.evaluate(startedMs);
      } catch (error) {
        this.log("warn", { err: failureText(error) }, "evaluation failed; trying again next interval");
      }
      const seconds = (Date.now() - startedMs) / 1000;
      this.evaluator.observer.evaluated(outcome, trigger, seconds, startedMs - dueMs);
    });
  }

  /** Evaluates; answers what the query answered (an invalid spec: `failed`, the operator reports it). */
  private async evaluate(nowMs: number): Promise<EvaluationOutcome> {
    const checked = validateAlertRuleSpec(this.rule.spec);
    // An invalid spec is the operator's to report (Ready=False, InvalidSpec).
    if (!checked.ok) return "failed";
    const spec = checked.value;
    const rule: RuleIdentity = { namespace: this.namespace, name: this.name, uid: this.uid, spec };
    const key = recordKey(this.namespace, this.name, this.uid);
    const { options } = this.evaluator;
    if (this.record === undefined) this.record = await this.resume(key, nowMs);

    const evaluation = await this.query(spec, nowMs);
    const step = nextRuleState({ uid: this.uid, spec }, this.record.state, evaluation, nowMs);
    const webhookChannels = spec.notify.filter((c) => c.type === "webhook");
    const decided = transitionNotifications(rule, step.transitions, options.publicUrl).flatMap((n) =>
      webhookChannels.map((c) => ({ channel: c.name, notification: n })),
    );
    const next: RuleRecord = {
      state: step.state,
      alertmanagerSent: this.record.alertmanagerSent,
      webhookPending: [...this.record.webhookPending, ...decided].filter(
        (p) => !this.finished.has(pendingId(p)) && nowMs - transitionAtMs(p) <= resolvedRetentionMs,
      ),
    };
    // Persisted before anything is sent: if this fails, nothing is sent and the state does not move.
    await this.evaluator.store.save(key, next);
    this.record = next;
    if (!this.evaluator.holds(this.shard)) return evaluation.kind;

    await this.notifyAlertmanagers(rule, key, nowMs);
    for (const pending of this.record.webhookPending) this.deliver(rule, key, pending);
    await this.writeStatus(rule, nowMs);
    return evaluation.kind;
  }

  private async resume(key: string, nowMs: number): Promise<RuleRecord> {
    let stored: RuleRecord | undefined;
    try {
      stored = await this.evaluator.store.load(key);
    } catch (error) {
      // An unreadable record is rebuilt from the status; Redis being away stops the evaluation.
      if (!(error instanceof RuleRecordError)) throw error;
      this.log("warn", { err: error.message }, "rule record unreadable; rebuilding it from the status");
    }
    if (stored === undefined) this.log("info", {}, "no rule record in Redis; continuing from the status");
    return resumeRecord(stored, this.rule.status, nowMs, this.evaluator.outageToleranceMs);
  }

  /** The rule's query through the query layer: a refusal, a failure, a timeout or a missing source is an Error. */
  private async query(spec: AlertRuleSpec, nowMs: number): Promise<Evaluation> {
    const { options, queryTimeoutMs } = this.evaluator;
    const snapshot = options.snapshot(this.namespace);
    const plan = ruleQueries(
      this.namespace,
      spec,
      buildCatalogue(this.namespace, snapshot.pipelines, snapshot.rollups),
      sharedRangeEndMs(nowMs),
    );
    if (!plan.ok) return { kind: "error", message: plan.message };
    const ask = (request: typeof plan.queries.current) =>
      this.evaluator.queries.run(sharedQueryKey(this.namespace, request), () =>
        this.evaluator.queryLimiter.run(() =>
          options.query.query(this.namespace, request, { explainOnly: false, bypassCache: true }),
        ),
      );
    try {
      const { current, previous } = plan.queries;
      const [now, before] = await withTimeout(
        Promise.all([ask(current), previous === undefined ? undefined : ask(previous)]),
        queryTimeoutMs,
        `the query of AlertRule ${this.namespace}/${this.name}`,
      );
      return evaluationOf(plan.queries, now.rows, before?.rows);
    } catch (error) {
      if (error instanceof QueryRefusal)
        return {
          kind: "error",
          message: `${error.body.error}${error.body.field === undefined ? "" : ` (${error.body.field})`}: ${error.message}`,
        };
      return { kind: "error", message: failureText(error) };
    }
  }

  private async notifyAlertmanagers(rule: RuleIdentity, key: string, nowMs: number): Promise<void> {
    const { options, resendDelayMs } = this.evaluator;
    const record = this.record;
    if (record === undefined) return;
    const alerts = alertmanagerAlerts(rule, record.state, options.publicUrl);
    const intervalMs = parseDuration(rule.spec.interval, "spec.interval");
    const sent: Record<string, SentLog> = {};
    await Promise.all(
      rule.spec.notify.map(async (channel) => {
        if (channel.type !== "alertmanager") return;
        const before = record.alertmanagerSent[channel.name] ?? {};
        const { due, sentAfter } = alertmanagerDue(alerts, before, nowMs, resendDelayMs);
        if (due.length === 0) {
          sent[channel.name] = sentAfter;
          return;
        }
        try {
          await this.evaluator.alertmanager.send(
            this.namespace,
            this.name,
            channel,
            alertmanagerPayload(due, Date.now(), intervalMs, resendDelayMs),
          );
          sent[channel.name] = sentAfter;
          this.evaluator.observer.notified("alertmanager", "sent");
        } catch {
          // Recorded in the outcomes (status, log); the next evaluation sends again.
          sent[channel.name] = before;
          this.evaluator.observer.notified("alertmanager", "failed");
        }
      }),
    );
    const current = this.record ?? record;
    this.record = { ...current, alertmanagerSent: sent };
    // A lost write only means one more resend, which Alertmanager deduplicates.
    await this.evaluator.store
      .save(key, this.record)
      .catch((error: unknown) =>
        this.log("warn", { err: failureText(error) }, "could not record the Alertmanager sends"),
      );
  }

  /** One webhook delivery, retried by the sender; not awaited, so the next evaluation is not held up. */
  private deliver(rule: RuleIdentity, key: string, pending: PendingWebhook): void {
    const id = pendingId(pending);
    if (this.inFlight.has(id) || this.finished.has(id)) return;
    this.inFlight.add(id);
    const { client } = this.evaluator.options;
    const work = async (): Promise<boolean> => {
      const channel = rule.spec.notify.find((c) => c.name === pending.channel);
      // A channel removed from the spec has nothing left to deliver.
      if (channel?.type !== "webhook") return true;
      let data: Record<string, string> | undefined;
      try {
        data = (
          await client.find<SecretObject>(resourceTypes.secret, this.namespace, channel.urlSecretRef.name)
        )?.data;
      } catch (error) {
        this.evaluator.outcomes.record(
          { ruleNamespace: this.namespace, ruleName: this.name, channel: channel.name },
          Date.now(),
          false,
          `channel ${channel.name}: cannot read Secret ${this.namespace}/${channel.urlSecretRef.name}: ${failureText(error)}`,
        );
        this.evaluator.observer.notified("webhook", "failed");
        return false;
      }
      const target = webhookTarget(this.namespace, channel, data);
      if (!target.ok) {
        this.evaluator.outcomes.record(
          { ruleNamespace: this.namespace, ruleName: this.name, channel: channel.name },
          Date.now(),
          false,
          target.message,
        );
        this.evaluator.observer.notified("webhook", "failed");
        return false; // tried again next evaluation, until the transition is older than 15 min
      }
      const delivery = await this.evaluator.webhooks.send(
        channel.name,
        target.url,
        pending.notification,
        target.keys,
      );
      this.evaluator.observer.notified("webhook", delivery.ok ? "sent" : "failed");
      return true;
    };
    void work()
      .then(async (done) => {
        if (!done || this.record === undefined) return;
        this.finished.add(id);
        this.record = {
          ...this.record,
          webhookPending: this.record.webhookPending.filter((p) => pendingId(p) !== id),
        };
        if (this.evaluator.holds(this.shard)) await this.evaluator.store.save(key, this.record);
      })
      .catch((error: unknown) =>
        this.log("warn", { err: failureText(error), webhookId: id }, "webhook delivery"),
      )
      .finally(() => this.inFlight.delete(id));
  }

  private async writeStatus(rule: RuleIdentity, nowMs: number): Promise<void> {
    const record = this.record;
    if (record === undefined) return;
    const { client, recorder } = this.evaluator.options;
    const stored = this.written ?? this.rule.status;
    const outcomesBefore = stored?.notifications ?? [];
    const status = gatewayStatus(
      record.state,
      stored,
      this.evaluator.outcomes.forRule(this.namespace, this.name),
    );
    if (!statusWriteDue(stored, status, nowMs)) return;
    await client.apply(
      resourceTypes.alertRule,
      { apiVersion, kind: "AlertRule", metadata: { namespace: this.namespace, name: this.name }, status },
      alertStatusFieldManager,
      "status",
    );
    this.written = status;
    const events: RuleEvent[] = [
      ...[transitionEvent(stored?.state, status)].filter((e): e is RuleEvent => e !== undefined),
      ...channelFailureEvents(status.notifications ?? [], outcomesBefore),
    ];
    const regarding = { ...this.rule, apiVersion, kind: "AlertRule" };
    for (const event of events) {
      this.log(event.type === "Warning" ? "warn" : "info", { reason: event.reason }, event.note);
      // An Event that cannot be written must not stop the evaluation that decided it.
      await recorder
        .record(
          regarding,
          event.type,
          event.reason,
          "Evaluate",
          `AlertRule ${rule.namespace}/${rule.name}: ${event.note}`,
        )
        .catch(() => undefined);
    }
  }
}
