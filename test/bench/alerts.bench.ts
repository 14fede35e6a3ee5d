/**
 * The alert evaluator (issue 15) on the local stack, run in this process as the gateway runs it (the
 * real AlertEvaluator, query service, Redis state, per-rule Leases on the apiserver), over the gateway
 * dataset's minute rollup (gateway-dataset.ts: the example pipeline and rollups, filled by a real
 * runtime worker).
 *
 *  - gateway.alert_latency_ms{kind=rollup}: a rollup rule (interval 1s, for 0, `events > 0` over rows of
 *    a type of its own) from its breaching row being inserted into the pipeline's raw table (straight into
 *    ClickHouse, not through Kafka and a worker: the runtime's latency is its own bench) to the
 *    notification arriving at the stack's webhook sink through the stack's real Alertmanager (its
 *    group_wait of 1 s included: each repetition is a new rule, so a new alert group). p50 over the
 *    repetitions; the part up to the evaluator's decision (the series' firedAt) is logged beside it.
 *  - gateway.alert_latency_ms{kind=live_window}: the same for a rule on the pipeline's live window
 *    events_per_minute (interval 1m, so only the window's change can make it fire in time), from the
 *    breaching window result being written as the runtime writes it (its window-table row into
 *    ClickHouse, then its share into Redis by the runtime's own RedisSink; the runtime's window firing is
 *    its own bench) to the notification at the sink.
 *  - gateway.alert_eval_1000_rules_cpu_ms_per_s: 1,000 threshold rules (interval 10s) held and
 *    evaluated by one evaluator, this process's CPU time per second of wall time over ~30 s (this
 *    process is the evaluator plus an idle bench loop), gateway.alert_lease_requests_per_s: the
 *    Lease API requests (list, get, create, replace) it made per second meanwhile, counted by a wrapper
 *    around its Kubernetes client, and gateway.alert_eval_lag_p99_ms: how late evaluations started
 *    after their slot (queueing for the evaluator's concurrency included), p99 over the same ~30 s,
 *    from the evaluator's observer.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { pino } from "pino";
import type { AlertRuleObject } from "../../api/v1alpha1/objects.js";
import { AlertEvaluator } from "../../gateway/alerts/alert-evaluator.js";
import { type AlertObserver, ignoreAlertObservations } from "../../gateway/alerts/alert-observer.js";
import { recordKey } from "../../gateway/alerts/rule-record.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import type { QueryService } from "../../gateway/query/query-service.js";
import { kubeEventRecorder } from "../../lib/kube/events.js";
import { KubeClient, type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import { RedisSink } from "../../runtime/sinks/redis-sink.js";
import { alertmanagerUrl, kubeconfigPath, redisUrl, webhookSinkUrl } from "../env/config.js";
import { dropGatewayDataset, type GatewayDataset, loadGatewayDataset } from "../support/gateway-dataset.js";
import { deleteNamespace } from "../support/kube.js";
import { liveWindowTopic, writeLiveWindowResult } from "../support/live-window-writer.js";
import { clickhouseClient, pipelineManifest, planOf } from "../support/runtime-harness.js";
import type { BenchFigure } from "./bench-figure.js";

const latencyRepetitions = 5;
const manyRules = 1_000;
const measureMs = 30_000;
const rollupName = "clicks-per-minute";
const liveWindow = "events_per_minute";

const logger = pino({ level: process.env.TALLY_BENCH_LOG_LEVEL ?? "silent" });

/** The client with its Lease requests counted (every method whose resource type is the Lease). */
function countingLeaseRequests(client: KubeClient): { client: KubeClient; count: () => number } {
  let count = 0;
  const counted = new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        if (args[0] === resourceTypes.lease) count += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client: counted, count: () => count };
}

/** The query service with its queries counted, to tell how many evaluations ran. */
function countingQueries(query: QueryService): { query: QueryService; count: () => number } {
  let count = 0;
  return {
    query: {
      ...query,
      query: (...args: Parameters<QueryService["query"]>) => {
        count += 1;
        return query.query(...args);
      },
    },
    count: () => count,
  };
}

/** The `p`-quantile (0..1) by nearest rank. */
function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

/** The evaluator's observer, keeping the start lag and duration of interval evaluations while `recording`. */
function lagRecorder(): {
  observer: AlertObserver;
  lags: number[];
  durations: number[];
  recording: { on: boolean };
} {
  const lags: number[] = [];
  const durations: number[] = [];
  const recording = { on: false };
  return {
    observer: {
      ...ignoreAlertObservations,
      evaluated: (_outcome, trigger, seconds, lagMs) => {
        if (!recording.on || trigger !== "interval") return;
        lags.push(lagMs);
        durations.push(seconds * 1000);
      },
    },
    lags,
    durations,
    recording,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(20);
  }
  throw new Error(`alerts bench: ${what} not within ${timeoutMs / 1000} s`);
}

interface SinkRecord {
  receivedAt: string;
  body: { status?: string; alerts?: { labels: Record<string, string> }[] };
}

async function firstFiringAt(alertname: string): Promise<number | undefined> {
  const records = (await (
    await fetch(`${webhookSinkUrl}/received?path=${encodeURIComponent("/alertmanager")}`)
  ).json()) as SinkRecord[];
  const hit = records.find(
    (r) => r.body.status === "firing" && r.body.alerts?.some((a) => a.labels.alertname === alertname),
  );
  return hit === undefined ? undefined : Date.parse(hit.receivedAt);
}

function ruleObject(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): KubeObject & { spec: Record<string, unknown> } {
  return { apiVersion: "tally.dev/v1alpha1", kind: "AlertRule", metadata: { name, namespace }, spec };
}

export async function runBench(): Promise<readonly BenchFigure[]> {
  const clickhouse = clickhouseClient();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const leases = countingLeaseRequests(KubeClient.fromEnvironment(kubeconfigPath));
  const client = leases.client;
  const id = randomUUID().slice(0, 8);
  let dataset: GatewayDataset | undefined;
  let namespace: string | undefined;
  const evaluators: AlertEvaluator[] = [];
  try {
    dataset = await loadGatewayDataset(clickhouse, "alerts", { perPartition: 200 });
    const ns = dataset.names.namespace;
    namespace = ns;
    // The rules live in the dataset's namespace, where its Pipeline and Rollups are.
    await client.create(resourceTypes.namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    const { pipeline, rollups, rawTable } = dataset;
    const snapshot = (n: string) =>
      n === ns ? { pipelines: [pipeline], rollups } : { pipelines: [], rollups: [] };
    const queries = countingQueries(
      createQueryService({ snapshot, clickhouse, redis, cache: undefined, logger, now: () => Date.now() }),
    );
    /** Removes a rule's Redis record (the evaluator removes it only while it holds the rule) and the rule. */
    const forget = async (name: string, deleteRule = true) => {
      const uid = (await client.find<AlertRuleObject>(resourceTypes.alertRule, ns, name))?.metadata?.uid;
      if (uid === undefined) return;
      await redis.del(recordKey(ns, name, uid));
      if (deleteRule) await client.delete(resourceTypes.alertRule, ns, name);
    };
    const lag = lagRecorder();
    const evaluator = (identity: string) =>
      new AlertEvaluator({
        observer: lag.observer,
        client,
        query: queries.query,
        snapshot,
        redis,
        recorder: kubeEventRecorder(client, "gateway", identity),
        logger,
        identity,
        leaseNamespace: ns,
        watchNamespace: ns,
        publicUrl: "http://127.0.0.1:8090",
      });

    // Latency: one new rule per repetition, each watching a type of its own, Ok before its row.
    const latency = evaluator(`bench-latency-${id}`);
    evaluators.push(latency);
    latency.start();
    const toSink: number[] = [];
    const toDecision: number[] = [];
    for (let rep = 0; rep < latencyRepetitions; rep++) {
      const name = `latency-${id}-${rep}`;
      const type = `bench-${id}-${rep}`;
      await client.create(
        resourceTypes.alertRule,
        ruleObject(ns, name, {
          query: {
            source: { kind: "Rollup", name: rollupName },
            metric: "events",
            filters: [{ field: "type", operator: "eq", values: [type] }],
            range: "1m",
          },
          condition: { type: "threshold", operator: "gt", value: 0 },
          interval: "1s",
          for: "0s",
          noDataState: "Ok",
          notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
        }),
      );
      await poll(`rule ${name} evaluated`, 30_000, async () => {
        const status = (await client.get<AlertRuleObject>(resourceTypes.alertRule, ns, name)).status;
        return status?.state === "Ok" ? true : undefined;
      });
      const insertedAt = Date.now();
      await clickhouse.insert({
        table: rawTable,
        values: [
          {
            event_id: `${type}-e`,
            user_id: "u1",
            session_id: null,
            type,
            url: "/bench",
            ts: new Date(insertedAt).toISOString().replace("T", " ").replace("Z", ""),
            latency_ms: 10,
            value: 1,
            _topic: "bench",
            _partition: 0,
            _offset: rep,
          },
        ],
        format: "JSONEachRow",
      });
      const receivedAt = await poll(`the firing of ${name} at the sink`, 30_000, () => firstFiringAt(name));
      const firedAt = (await client.get<AlertRuleObject>(resourceTypes.alertRule, ns, name)).status
        ?.series?.[0]?.firedAt;
      toSink.push(receivedAt - insertedAt);
      if (firedAt !== undefined) toDecision.push(Date.parse(firedAt) - insertedAt);
    }
    // Live window: the same, on a rule whose source is the pipeline's live window.
    const plan = planOf(
      pipelineManifest(dataset.names, (s) => {
        s.windows = s.windows?.filter((w) => w.type !== "session");
      }),
    );
    const sink = new RedisSink(
      redis,
      clickhouse,
      plan,
      600_000,
      () => [{ topic: liveWindowTopic, partition: 0 }],
      {
        onError: (error) => logger.warn({ err: String(error) }, "bench redis sink"),
        onRecovered: () => undefined,
      },
    );
    const windowToSink: number[] = [];
    const windowToDecision: number[] = [];
    for (let rep = 0; rep < latencyRepetitions; rep++) {
      const name = `window-${id}-${rep}`;
      const type = `bench-w-${id}-${rep}`;
      await client.create(
        resourceTypes.alertRule,
        ruleObject(ns, name, {
          query: {
            source: { kind: "Window", name: pipeline.metadata?.name, window: liveWindow },
            metric: "events",
            filters: [{ field: "type", operator: "eq", values: [type] }],
            range: "2m",
          },
          condition: { type: "threshold", operator: "gt", value: 0 },
          // Far longer than the latency measured: only the window's change can make it fire in time.
          interval: "1m",
          for: "0s",
          noDataState: "Ok",
          notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
        }),
      );
      await poll(`rule ${name} evaluated`, 90_000, async () => {
        const status = (await client.get<AlertRuleObject>(resourceTypes.alertRule, ns, name)).status;
        return status?.state === "Ok" ? true : undefined;
      });
      // The watcher's baseline is taken within a poll (250 ms) of the rule being held.
      await sleep(500);
      const writtenAt = Date.now();
      await writeLiveWindowResult({
        spec: dataset.spec,
        clickhouse,
        sink,
        window: liveWindow,
        event: { type, user_id: "u1", value: 1 },
        atMs: writtenAt,
        version: writtenAt,
      });
      const receivedAt = await poll(`the firing of ${name} at the sink`, 30_000, () => firstFiringAt(name));
      const firedAt = (await client.get<AlertRuleObject>(resourceTypes.alertRule, ns, name)).status
        ?.series?.[0]?.firedAt;
      windowToSink.push(receivedAt - writtenAt);
      if (firedAt !== undefined) windowToDecision.push(Date.parse(firedAt) - writtenAt);
    }
    console.log(
      `[bench] live window alert latency: to the sink ${windowToSink.join(", ")} ms; to the evaluator's decision (firedAt) ${windowToDecision.join(", ")} ms (p50 ${median(windowToDecision)} ms); rule interval 1 m`,
    );

    await latency.stop();
    // Gone before the cost phase, which is about the 1,000 rules alone.
    for (let rep = 0; rep < latencyRepetitions; rep++) {
      await forget(`latency-${id}-${rep}`);
      await forget(`window-${id}-${rep}`);
    }
    console.log(
      `[bench] alert latency: to the sink ${toSink.join(", ")} ms; to the evaluator's decision (firedAt) ${toDecision.join(", ")} ms (p50 ${median(toDecision)} ms); Alertmanager group_wait 1 s`,
    );

    // Cost of 1,000 rules: created 20 at a time, then held and evaluated by one evaluator.
    const names = Array.from({ length: manyRules }, (_, i) => `rule-${id}-${i}`);
    for (let i = 0; i < names.length; i += 20)
      await Promise.all(
        names.slice(i, i + 20).map((name, j) =>
          client.create(
            resourceTypes.alertRule,
            ruleObject(ns, name, {
              query: {
                source: { kind: "Rollup", name: rollupName },
                metric: "events",
                groupBy: ["type"],
                range: "96h",
              },
              condition: { type: "threshold", operator: "gt", value: 1_000 + i + j },
              interval: "10s",
              noDataState: "Ok",
              notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
            }),
          ),
        ),
      );
    const many = evaluator(`bench-many-${id}`);
    evaluators.push(many);
    const startedAt = performance.now();
    many.start();
    await poll(`the evaluator holding ${manyRules} rules`, 120_000, async () =>
      many.owned().filter((key) => key.startsWith(`${ns}/rule-`)).length === manyRules ? true : undefined,
    );
    console.log(`[bench] ${manyRules} rules held after ${Math.round(performance.now() - startedAt)} ms`);
    const cpuBefore = process.cpuUsage();
    const leasesBefore = leases.count();
    const queriesBefore = queries.count();
    const wallBefore = performance.now();
    lag.recording.on = true;
    await sleep(measureMs);
    lag.recording.on = false;
    const wallMs = performance.now() - wallBefore;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMsPerS = ((cpu.user + cpu.system) / 1000 / wallMs) * 1000;
    const leasesPerS = ((leases.count() - leasesBefore) * 1000) / wallMs;
    const queriesPerS = ((queries.count() - queriesBefore) * 1000) / wallMs;
    const evaluationsPerS = (lag.lags.length * 1000) / wallMs;
    // Lease renewals that lag past the renew deadline step down: how many rules are still held.
    const heldAtEnd = many.owned().length;
    const lagP99 = quantile(lag.lags, 0.99);
    console.log(
      `[bench] ${manyRules} rules every 10 s: ${evaluationsPerS.toFixed(1)} evaluations/s (${manyRules / 10} due) sharing ${queriesPerS.toFixed(1)} queries/s (rules asking the same question at once share one), evaluation p50 ${quantile(lag.durations, 0.5).toFixed(0)} ms, ${cpuMsPerS.toFixed(0)} CPU ms/s, ${leasesPerS.toFixed(1)} Lease requests/s, ${heldAtEnd} rules held at the end; start lag p50 ${quantile(lag.lags, 0.5)} ms, p99 ${lagP99} ms, max ${quantile(lag.lags, 1)} ms over ${lag.lags.length} evaluations`,
    );
    await many.stop();
    // 1,000 deletions are the namespace's to do; the records are Redis's, so removed here.
    for (const name of names) await forget(name, false);
    return [
      { name: "gateway.alert_latency_ms{kind=rollup}", value: median(toSink), unit: "ms" },
      { name: "gateway.alert_latency_ms{kind=live_window}", value: median(windowToSink), unit: "ms" },
      { name: "gateway.alert_eval_1000_rules_cpu_ms_per_s", value: cpuMsPerS, unit: "ms/s" },
      { name: "gateway.alert_lease_requests_per_s", value: leasesPerS, unit: "req/s" },
      { name: "gateway.alert_eval_lag_p99_ms", value: lagP99, unit: "ms" },
    ];
  } finally {
    await Promise.all(evaluators.map((e) => e.stop().catch(() => undefined)));
    if (namespace !== undefined) await deleteNamespace(namespace).catch(() => undefined);
    if (dataset !== undefined) await dropGatewayDataset(clickhouse, dataset);
    await clickhouse.close();
    redis.disconnect();
  }
}
