/**
 * The alert evaluator on the real stack: a raw table filled here and a minute Rollup over it in
 * ClickHouse (its materialized view), an AlertRule applied to the apiserver, Redis for the state, the
 * stack's Alertmanager delivering to the webhook sink. Two evaluators run in-process with their own
 * Lease identities, as two gateway replicas would: exactly one evaluates the rule; the owner is
 * stopped while the rule is Pending and the other continues its `for` timer; the rule fires once and
 * resolves once when the breaching rows stop.
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
import { recordKey } from "../../gateway/alerts/rule-record.js";
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
  namespace = await createNamespace("alert-eval");
  const doc = parse(
    readFileSync(resolve(stackConfig.repoRoot, "examples", "clickstream-pipeline.yaml"), "utf8"),
  ) as {
    spec: Record<string, unknown> & { sink: { clickhouse: { table: string } }; windows?: unknown };
  };
  doc.spec.sink.clickhouse.table = `alert_eval_${id}`;
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

describe("alert evaluation in the gateway", () => {
  it("one replica evaluates; the other continues the `for` timer when it stops; fires and resolves exactly once", async () => {
    const name = `errors-high-${id}`;
    const key = `${namespace}/${name}`;
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
        // No rows (before the errors and after them) is fine here, not an alert of its own.
        noDataState: "Ok",
        labels: { team: "checkout" },
        notify: [{ type: "alertmanager", name: "am", url: alertmanagerUrl }],
      },
    } as KubeObject);
    const rule = await client.get<AlertRuleObject>(resourceTypes.alertRule, namespace, name);
    const uid = rule.metadata?.uid ?? "";

    const a = evaluator(`replica-a-${id}`);
    const b = evaluator(`replica-b-${id}`);
    const replicas = [a, b];
    a.start();
    b.start();
    let errors: { stop: () => Promise<void> } | undefined;
    try {
      // Exactly one replica holds the rule, and keeps holding it alone.
      await eventually(async () => {
        expect(replicas.flatMap((r) => r.owned())).toEqual([key]);
      }, 30_000);
      await consistently(async () => {
        expect(replicas.flatMap((r) => r.owned())).toEqual([key]);
      }, 3_000);

      errors = produceErrors();
      const pending = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Pending");
        return status;
      }, 30_000);
      const activeAt = pending?.series?.[0]?.activeAt;
      expect(pending?.series?.[0]).toMatchObject({ labels: { type: "error" }, state: "Pending" });
      expect(pending?.series?.[0]?.value).toBeGreaterThan(threshold);

      // Stop the owner mid-`for` (it releases its Lease as a gateway does on SIGTERM).
      const owner = a.owned().length > 0 ? a : b;
      const other = owner === a ? b : a;
      const stoppedAt = Date.now();
      await owner.stop();
      await eventually(async () => {
        expect(other.owned()).toEqual([key]);
      }, 2 * leaseDurationMs);
      expect(Date.now() - stoppedAt).toBeLessThanOrEqual(leaseDurationMs);

      const firing = await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Firing");
        return status;
      }, 30_000);
      // The timer went on from where the first replica left it: the same activeAt, fired `for` after it.
      const series = firing?.series?.[0];
      expect(series?.activeAt).toBe(activeAt);
      const forMs = Date.parse(series?.firedAt ?? "") - Date.parse(activeAt ?? "");
      expect(forMs).toBeGreaterThanOrEqual(8_000);
      expect(forMs).toBeLessThan(8_000 + 2 * 2_000 + leaseDurationMs);
      await eventually(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing"]);
      }, 30_000);

      await errors.stop();
      errors = undefined;
      await eventually(async () => {
        const status = await ruleStatus(name);
        expect(status?.state).toBe("Ok");
        expect(status?.series?.[0]).toMatchObject({ labels: { type: "error" }, state: "Ok" });
        expect(status?.series?.[0]?.resolvedAt).toBeDefined();
        expect(status?.notifications).toMatchObject([{ channel: "am", ok: true, consecutiveFailures: 0 }]);
      }, 40_000);
      await eventually(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]);
      }, 30_000);
      // Several group intervals and evaluations more: nothing is delivered twice.
      await consistently(async () => {
        expect(await deliveredStatuses(name)).toEqual(["firing", "resolved"]);
      }, 8_000);

      // An Event for each change of the rule's state, from the replicas' recorder.
      const events = await client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(
        resourceTypes.event,
        namespace,
      );
      const reasons = events.items.filter((e) => e.regarding?.name === name).map((e) => e.reason);
      expect(reasons).toEqual(expect.arrayContaining(["AlertPending", "AlertFiring", "AlertOk"]));
      // The state lives in Redis under the rule's key.
      expect(await redis.exists(recordKey(namespace, name, uid))).toBe(1);
    } finally {
      await errors?.stop();
      await Promise.all(replicas.map((r) => r.stop()));
      await client.delete(resourceTypes.alertRule, namespace, name);
      await redis.del(recordKey(namespace, name, uid));
    }
  }, 180_000);
});
