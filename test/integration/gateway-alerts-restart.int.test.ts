/**
 * The alert evaluator restarted, and Redis losing the rule's record, on the real stack (the same
 * set-up as gateway-alerts.int.test.ts: a raw table and a minute Rollup in ClickHouse, an AlertRule on
 * the apiserver, the stack's Alertmanager delivering to the webhook sink). "Redis lost its data" is
 * the rule's own key deleted: the stack's Redis is shared with other tests, so no FLUSHALL. A restart
 * mid-`for` continues the timer from Redis; a restart mid-Firing with the record gone rebuilds the
 * state from the AlertRule status; neither sends a second firing, and the resolve is sent once.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { AlertRuleStatus } from "../../api/v1alpha1/alert-rule.js";
import type { AlertRuleObject, PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { formatProblems, validatePipelineSpec, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { renderDropRollupVersion, renderRollupDdl } from "../../contracts/clickhouse/rollup-ddl.js";
import { AlertEvaluator } from "../../gateway/alerts/alert-evaluator.js";
import { RuleRecordStore, recordKey } from "../../gateway/alerts/rule-record.js";
import { createQueryService } from "../../gateway/query/create-query-service.js";
import { kubeEventRecorder } from "../../lib/kube/events.js";
import { KubeClient, type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import { alertmanagerUrl, kubeconfigPath, redisUrl, stackConfig, webhookSinkUrl } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { createNamespace, deleteNamespace } from "../support/kube.js";
import { clickhouseClient } from "../support/runtime-harness.js";

const logger = pino({ level: process.env.TALLY_TEST_LOG_LEVEL ?? "silent" });
const clickhouse = clickhouseClient();
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const client = KubeClient.fromEnvironment(kubeconfigPath);
const id = randomUUID().replace(/-/g, "").slice(0, 8);
const leaseDurationMs = 6_000;
const threshold = 3;

let namespace: string;
let spec: PipelineSpec;
let pipeline: PipelineObject;
let rollup: RollupObject;
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
  namespace = await createNamespace("alert-restart");
  const doc = parse(
    readFileSync(resolve(stackConfig.repoRoot, "examples", "clickstream-pipeline.yaml"), "utf8"),
  ) as {
    spec: Record<string, unknown> & { sink: { clickhouse: { table: string } }; windows?: unknown };
  };
  doc.spec.sink.clickhouse.table = `alert_restart_${id}`;
  doc.spec.windows = undefined;
  const checked = validatePipelineSpec(doc.spec);
  if (!checked.ok) throw new Error(formatProblems(checked.problems));
  spec = checked.value;
  for (const statement of renderRawTableDdl(spec).statements) await clickhouse.command({ query: statement });
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
    await clickhouse.command({
      query: `DROP TABLE IF EXISTS \`${spec.sink.clickhouse.database}\`.\`${spec.sink.clickhouse.table}\``,
    });
  await deleteNamespace(namespace);
  await clickhouse.close();
  redis.disconnect();
});

function evaluator(identity: string): AlertEvaluator {
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

async function ruleStatus(name: string): Promise<AlertRuleStatus | undefined> {
  return (await client.get<AlertRuleObject>(resourceTypes.alertRule, namespace, name)).status;
}

interface SinkRecord {
  body: { status?: string; alerts?: { status: string; labels: Record<string, string> }[] };
}
async function deliveredStatuses(alertname: string): Promise<string[]> {
  const records = (await (
    await fetch(`${webhookSinkUrl}/received?path=${encodeURIComponent("/alertmanager")}`)
  ).json()) as SinkRecord[];
  return records
    .filter((r) => r.body.alerts?.some((a) => a.labels.alertname === alertname))
    .map((r) => r.body.status ?? "");
}

/** Fails as soon as `check` does within `durationMs`: "nothing more happens", polled. */
async function consistently(check: () => Promise<void>, durationMs: number): Promise<void> {
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    await check();
    await sleep(250);
  }
  await check();
}

describe("alert evaluation across restarts and a lost Redis record", () => {
  it("a restart mid-`for` keeps the timer; Firing survives the record's loss and a restart without it; one firing, one resolved", async () => {
    const name = `errors-restart-${id}`;
    const intervalMs = 2_000;
    const forMs = 8_000;
    await client.create(resourceTypes.alertRule, {
      apiVersion: "tally.dev/v1alpha1",
      kind: "AlertRule",
      metadata: { name, namespace },
      spec: {
        query: {
          source: { kind: "Rollup", name: "clicks-per-minute" },
          metric: "events",
          groupBy: ["type"],
          range: "6s",
        },
        condition: { type: "threshold", operator: "gt", value: threshold },
        interval: "2s",
        for: "8s",
        noDataState: "Ok",
        notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
      },
    } as KubeObject);
    const uid =
      (await client.get<AlertRuleObject>(resourceTypes.alertRule, namespace, name)).metadata?.uid ?? "";
    const key = recordKey(namespace, name, uid);
    const store = new RuleRecordStore(redis);
    const running: AlertEvaluator[] = [];
    /** Stops the running evaluator, does `meanwhile`, starts a new one (a gateway restarted). */
    const restart = async (meanwhile?: () => Promise<unknown>): Promise<AlertEvaluator> => {
      await running.at(-1)?.stop();
      await meanwhile?.();
      const next = evaluator(`gateway-${running.length}-${id}`);
      running.push(next);
      next.start();
      return next;
    };
    let errors: { stop: () => Promise<void> } | undefined;
    try {
      const first = await restart();
      await eventually(async () => expect(first.owned()).toEqual([`${namespace}/${name}`]), 30_000);
      errors = produceErrors();
      const pending = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Pending");
        return status;
      }, 30_000);
      const activeAt = pending?.series?.[0]?.activeAt;
      expect(activeAt).toBeDefined();

      // Restart mid-`for` (the record in Redis): the new instance continues the timer.
      await restart();
      const firing = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Firing");
        return status;
      }, 30_000);
      const series = firing?.series?.[0];
      expect(series?.activeAt).toBe(activeAt);
      const firedAfterMs = Date.parse(series?.firedAt ?? "") - Date.parse(activeAt ?? "");
      expect(firedAfterMs).toBeGreaterThanOrEqual(forMs);
      // A restarted timer would fire `for` after the restart, later than this.
      expect(firedAfterMs).toBeLessThan(forMs + 3 * intervalMs);
      await eventually(async () => expect(await deliveredStatuses(name)).toEqual(["firing"]), 30_000);

      // The record lost under a running evaluator: written again from its memory, nothing re-sent.
      await redis.del(key);
      await eventually(async () => expect(await redis.exists(key)).toBe(1), 10_000);
      expect((await store.load(key))?.state.series[0]).toMatchObject({ state: "Firing" });

      // Restart with the record lost: the state is rebuilt from the status; Firing stays Firing, the
      // same episode (activeAt, firedAt), and Alertmanager, sent the alert again, does not notify again.
      await restart(() => redis.del(key));
      const rebuilt = await eventually(async () => {
        const record = await store.load(key);
        expect(record).toBeDefined();
        return record;
      }, 30_000);
      expect(rebuilt?.state.series).toHaveLength(1);
      expect(rebuilt?.state.series[0]).toMatchObject({
        labels: { type: "error" },
        state: "Firing",
        activeAtMs: Date.parse(activeAt ?? ""),
        firedAtMs: Date.parse(series?.firedAt ?? ""),
      });
      // Several evaluations and Alertmanager group intervals (2 s) later: still Firing, one firing sent.
      await consistently(async () => {
        expect((await ruleStatus(name))?.state).toBe("Firing");
        expect(await deliveredStatuses(name)).toEqual(["firing"]);
      }, 8_000);

      await errors.stop();
      errors = undefined;
      await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Ok");
        expect(status?.series?.[0]?.resolvedAt).toBeDefined();
      }, 40_000);
      await eventually(
        async () => expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]),
        30_000,
      );
      await consistently(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]);
      }, 8_000);
    } finally {
      await errors?.stop();
      await running.at(-1)?.stop();
      await client.delete(resourceTypes.alertRule, namespace, name);
      await redis.del(key);
    }
  }, 240_000);
});
