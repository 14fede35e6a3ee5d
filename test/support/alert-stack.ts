/**
 * The alert evaluator's set-up on the real stack, shared by the alert integration tests: a raw table and
 * a minute Rollup over it in ClickHouse (its materialized view), the pipeline's live window
 * events_per_minute (its window table, and a writer of its results as the runtime writes them), the
 * Pipeline and Rollup objects as the operator would have made them, Redis for the state, evaluators built as the gateway builds them, rows
 * that breach, and what the stack's Alertmanager delivered to the webhook sink.
 * `useAlertStack` registers its own beforeAll/afterAll; read `namespace` and `spec` inside tests.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";
import { parse, stringify } from "yaml";
import type { AlertRuleStatus } from "../../api/v1alpha1/alert-rule.js";
import type { AlertRuleObject, PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { formatProblems, validatePipelineSpec, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { renderDropRollupVersion, renderRollupDdl } from "../../contracts/clickhouse/rollup-ddl.js";
import { renderWindowTableDdl, windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import { AlertEvaluator } from "../../gateway/alerts/alert-evaluator.js";
import type { AlertObserver } from "../../gateway/alerts/alert-observer.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { kubeEventRecorder } from "../../lib/kube/events.js";
import { KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import { RedisSink } from "../../runtime/sinks/redis-sink.js";
import { e2eTarget } from "../e2e/target.js";
import { kubeconfigPath, redisUrl, stackConfig } from "../env/config.js";
import { createNamespace, deleteNamespace, kubectlOk } from "./kube.js";
import { writeLiveWindowResult } from "./live-window-writer.js";
import { clickhouseClient, planOf } from "./runtime-harness.js";

export const leaseDurationMs = 6_000;
/** The pipeline's live window kept (tumbling, 1 minute, by type, with a count `events`). */
export const liveWindow = "events_per_minute";
/** Rows of type "error" per second that produceErrors inserts. */
export const threshold = 3;

/** Fails as soon as `check` does within `durationMs`: "nothing more happens", polled. */
export async function consistently(check: () => Promise<void>, durationMs: number): Promise<void> {
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    await check();
    await sleep(250);
  }
  await check();
}

interface SinkRecord {
  body: { status?: string; alerts?: { status: string; labels: Record<string, string> }[] };
}

/**
 * The status ("firing", "resolved") of every notification about `alertname` that the stack's
 * Alertmanager delivered to the webhook sink, oldest first (Alertmanager groups by alertname).
 */
export async function deliveredStatuses(alertname: string): Promise<string[]> {
  const records = (await (
    await fetch(`${e2eTarget.host.webhookSinkUrl}/received?path=${encodeURIComponent("/alertmanager")}`)
  ).json()) as SinkRecord[];
  return records
    .filter((r) => r.body.alerts?.some((a) => a.labels.alertname === alertname))
    .map((r) => r.body.status ?? "");
}

/** `label` names the test namespace and the raw table (`<label>_<id>`). */
export function useAlertStack(label: string) {
  const logger = pino({ level: process.env.TALLY_TEST_LOG_LEVEL ?? "silent" });
  const clickhouse = clickhouseClient();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const client = KubeClient.fromEnvironment(kubeconfigPath);
  const id = randomUUID().replace(/-/g, "").slice(0, 8);

  let namespace: string;
  let spec: PipelineSpec;
  let pipeline: PipelineObject;
  let rollup: RollupObject;
  let windowSink: RedisSink;
  const ready = [
    {
      type: "Ready",
      status: "True" as const,
      reason: "Ready",
      message: "",
      lastTransitionTime: new Date().toISOString(),
    },
  ];

  beforeAll(async () => {
    // The CRDs, as the other apiserver tests install them: a fresh stack has none.
    await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
    await kubectlOk(["wait", "--for=condition=Established", "crd/alertrules.tally.dev"]);
    namespace = await createNamespace(label);
    const doc = parse(
      readFileSync(resolve(stackConfig.repoRoot, "examples", "clickstream-pipeline.yaml"), "utf8"),
    ) as {
      metadata: Record<string, unknown>;
      spec: Record<string, unknown> & {
        sink: { clickhouse: { table: string } };
        windows?: { name: string }[];
      };
    };
    doc.spec.sink.clickhouse.table = `${label.replace(/-/g, "_")}_${id}`;
    doc.spec.windows = doc.spec.windows?.filter((w) => w.name === liveWindow);
    const checked = validatePipelineSpec(doc.spec);
    if (!checked.ok) throw new Error(formatProblems(checked.problems));
    spec = checked.value;
    for (const statement of [...renderRawTableDdl(spec).statements, ...renderWindowTableDdl(spec).statements])
      await clickhouse.command({ query: statement });
    doc.metadata = { name: "clicks", namespace };
    windowSink = new RedisSink(redis, clickhouse, planOf(stringify(doc)), 600_000, () => [], {
      onError: (error) => logger.warn({ err: String(error) }, "live window writer"),
      onRecovered: () => undefined,
    });
    pipeline = {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Pipeline",
      metadata: { name: "clicks", namespace, resourceVersion: "1" },
      spec,
      status: { conditions: ready },
    };
    const rollupChecked = validateRollupSpec({
      source: { kind: "Pipeline", name: "clicks" },
      granularity: "1m",
      dimensions: ["type"],
      metrics: [{ fn: "count", name: "events" }],
    });
    if (!rollupChecked.ok) throw new Error(formatProblems(rollupChecked.problems));
    const ddl = renderRollupDdl({
      namespace,
      name: "clicks-per-minute",
      spec: rollupChecked.value,
      version: 1,
      raw: {
        database: spec.sink.clickhouse.database,
        table: spec.sink.clickhouse.table,
        eventTimeField: spec.eventTime.field,
        fields: new Map(spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }])),
      },
      cutoff: new Date(0),
    });
    await clickhouse.command({ query: ddl.createTable });
    await clickhouse.command({ query: ddl.createView });
    // As the operator would have made them (the operator is not what this test is about).
    rollup = {
      apiVersion: "tally.dev/v1alpha1",
      kind: "Rollup",
      metadata: { name: "clicks-per-minute", namespace, resourceVersion: "1" },
      spec: rollupChecked.value,
      status: {
        conditions: ready,
        database: ddl.database,
        table: ddl.table,
        view: ddl.view,
        servingVersion: 1,
      },
    };
  });

  afterAll(async () => {
    if (rollup?.status?.table !== undefined)
      for (const statement of renderDropRollupVersion(spec.sink.clickhouse.database, rollup.status.table))
        await clickhouse.command({ query: statement });
    if (spec !== undefined)
      for (const table of [spec.sink.clickhouse.table, windowTableName(spec.sink.clickhouse.table)])
        await clickhouse.command({
          query: `DROP TABLE IF EXISTS \`${spec.sink.clickhouse.database}\`.\`${table}\``,
        });
    await deleteNamespace(namespace);
    await clickhouse.close();
    redis.disconnect();
  });

  function evaluator(identity: string, observer?: AlertObserver): AlertEvaluator {
    const snapshot = (ns: string) =>
      ns === namespace ? { pipelines: [pipeline], rollups: [rollup] } : { pipelines: [], rollups: [] };
    return new AlertEvaluator({
      client,
      query: createQueryService({
        snapshot,
        clickhouse,
        redis,
        cache: undefined,
        logger,
        now: () => Date.now(),
      }),
      snapshot,
      redis,
      recorder: kubeEventRecorder(client, "gateway", identity),
      logger: logger.child({ identity }),
      identity,
      leaseNamespace: namespace,
      watchNamespace: namespace,
      publicUrl: "http://127.0.0.1:8090",
      leaseDurationMs,
      ...(observer === undefined ? {} : { observer }),
    });
  }

  /** Breaching rows of type "error", event time now, until stopped. */
  function produceErrors(): { stop: () => Promise<void> } {
    let running = true;
    let n = 0;
    const loop = (async () => {
      while (running) {
        const ts = new Date().toISOString().replace("T", " ").replace("Z", "");
        const rows = Array.from({ length: threshold }, () => ({
          event_id: `e${n++}`,
          user_id: "u1",
          session_id: null,
          type: "error",
          url: "/checkout",
          ts,
          latency_ms: 10,
          value: 1,
          _topic: "t",
          _partition: 0,
          _offset: n,
        }));
        await clickhouse.insert({
          table: `${spec.sink.clickhouse.database}.${spec.sink.clickhouse.table}`,
          values: rows,
          format: "JSONEachRow",
        });
        await sleep(1_000);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  /** One event of `type` now in the live window, written as the runtime writes it (ClickHouse, then Redis). */
  async function writeWindowEvent(type: string, version: number): Promise<void> {
    await writeLiveWindowResult({
      spec,
      clickhouse,
      sink: windowSink,
      window: liveWindow,
      event: { type, user_id: "u1", value: 1 },
      atMs: Date.now(),
      version,
    });
  }

  async function ruleStatus(name: string): Promise<AlertRuleStatus | undefined> {
    return (await client.get<AlertRuleObject>(resourceTypes.alertRule, namespace, name)).status;
  }

  return {
    id,
    redis,
    client,
    /** The test namespace (set once beforeAll has run). */
    get namespace() {
      return namespace;
    },
    evaluator,
    produceErrors,
    writeWindowEvent,
    ruleStatus,
    deliveredStatuses,
  };
}
