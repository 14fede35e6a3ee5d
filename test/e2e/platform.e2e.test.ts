import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { QueryResponse } from "../../api/v1alpha1/query.js";
import { renderMetricColumn } from "../../contracts/clickhouse/rollup-ddl.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { defaultConsumerGroup } from "../../contracts/runtime-config.js";
import { defaultShardCount, shardLeaseName, shardOfRule } from "../../gateway/alerts/rule-shards.js";
import { stackConfig } from "../env/config.js";
import { consistently, deliveredStatuses } from "../support/alert-stack.js";
import { launchBrowser } from "../support/browser.js";
import { expectedOutcome, generateClickstream } from "../support/clickstream-generator.js";
import { eventually } from "../support/eventually.js";
import { asList, databaseFor, exampleManifests, type Manifest } from "../support/examples.js";
import { produceOnSchedule } from "../support/kafka-produce.js";
import { createNamespace, deleteNamespace, kubectl, kubectlOk, waitForCondition } from "../support/kube.js";
import {
  checkGroundTruth,
  clickhouseClient,
  kafkaClient,
  planOf,
  type RuntimeTestNames,
  readRawRows,
  waitForCommitted,
} from "../support/runtime-harness.js";
import {
  helm,
  installTallyRelease,
  readGatewayToken,
  runningPodNames,
  tallyChart,
} from "../support/tally-release.js";
import { e2eTarget } from "./target.js";
import { type DataService, targetOps } from "./target-ops.js";

// The platform team's path on the local control plane: `helm install` the chart (the pod-runner runs the
// operator and gateway pods as processes with their own ServiceAccount tokens, so the chart's RBAC is
// what they have), `kubectl apply -n` the examples, a live clickstream (out-of-order, late, duplicate,
// bot and invalid records) with faults injected and the minute rollup's definition changed while it flows — a runtime process killed with SIGKILL,
// Redis, the ClickHouse endpoint and the Kafka broker each stopped and started again, the gateway pod
// holding the alert deleted, the operator leader's pod deleted, a `helm upgrade` that rolls the
// gateways — then the ground truth (raw table, windows, minute rollup, dead letters, Redis),
// the same numbers through the gateway's query API and its web UI, an alert that fired and resolved with each
// notification delivered exactly once, and nothing left behind after deleting the examples and
// `helm uninstall`.
// TALLY_E2E_TARGET=kind (test/e2e/kind/run.sh) runs the same path on a kind cluster: real pods, the data
// services in-cluster; target.ts and target-ops.ts say what differs (addresses, faults, identity checks).

const id = randomUUID().replace(/-/g, "").slice(0, 6);
const release = `e2e-${id}`;
const partitions = 4;
/** The live stream: this many seconds, one slice of every partition per second. */
const trafficSeconds = Number(process.env.TALLY_E2E_TRAFFIC_SECONDS ?? "90");
const perPartition = Number(process.env.TALLY_E2E_PER_PARTITION ?? "2000");
const upgradedRateLimit = 1234;
const alertName = `e2e-traffic-${id}`;
/** Events of the last 30 s of event time above which the test's alert fires (the stream has ~90/s). */
const alertThreshold = 300;

let releaseNamespace: string;
let workload: string;
let database: string;
let undoEntrypoints: (() => void) | undefined;
const clickhouse = clickhouseClient();
const redis = new Redis(e2eTarget.host.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
const started = Date.now();

const figures = {
  faults: new Map<string, number>(),
  /** Definition changes applied while the stream flows (not faults: a user's own edits). */
  changes: new Map<string, number>(),
  produced: 0,
  rawRowsChecked: 0,
  deadLettersChecked: 0,
  lost: Number.NaN,
  doubled: Number.NaN,
  notifications: [] as string[],
};

function log(message: string): void {
  console.log(`[e2e] ${Math.round((Date.now() - started) / 1000)} s: ${message}`);
}

function countFault(kind: string): void {
  figures.faults.set(kind, (figures.faults.get(kind) ?? 0) + 1);
}

/** The ground truth's events (url and event time), for the dashboard's "Busiest pages" panel. */
const acceptedEvents: { readonly url: string; readonly ts: number }[] = [];

beforeAll(async () => {
  releaseNamespace = await createNamespace("tally-e2e");
  workload = await createNamespace("tally-e2e-apps");
  database = databaseFor(workload);
  // The pods run this checkout's programs even when another checkout started the stack.
  undoEntrypoints = targetOps.runThisCheckout([releaseNamespace, workload]);
  await redis.connect();
  const admin = kafkaClient().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: names().topic, numPartitions: partitions },
      { topic: names().deadLetterTopic, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
});

afterAll(async () => {
  const faults = [...figures.faults].map(([k, n]) => `${k}=${n}`).join(" ");
  const changes = [...figures.changes].map(([k, n]) => `${k}=${n}`).join(" ");
  const total = [...figures.faults.values()].reduce((a, b) => a + b, 0);
  const duplicates = Math.max(0, figures.notifications.length - new Set(figures.notifications).size);
  console.log(
    `[e2e] faults=${total} (${faults}) changes=(${changes}) records=${figures.produced} raw_rows_checked=${figures.rawRowsChecked} ` +
      `dead_letters_checked=${figures.deadLettersChecked} lost=${figures.lost} doubled=${figures.doubled} ` +
      `duplicate_notifications=${duplicates} notifications=${figures.notifications.join(",") || "none"} ` +
      `run=${Math.round((Date.now() - started) / 1000)}s`,
  );
  // Whatever a failed step left: the Tally objects (while the release's operator can still finalize
  // them), the release, the namespaces, the topics, the database, the overrides.
  if (workload !== undefined)
    await kubectl([
      "delete",
      "pipelines,rollups,alertrules,dashboards",
      "--all",
      "-n",
      workload,
      "--wait=true",
      "--timeout=60s",
    ]);
  if (releaseNamespace !== undefined) await helm(["uninstall", release, "-n", releaseNamespace, "--wait"]);
  if (workload !== undefined) await deleteNamespace(workload);
  if (releaseNamespace !== undefined) await deleteNamespace(releaseNamespace);
  undoEntrypoints?.();
  targetOps.close();
  const admin = kafkaClient().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [names().topic, names().deadLetterTopic] }).catch(() => undefined);
  await admin.disconnect();
  if (database !== undefined) await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await clickhouse.close();
  redis.disconnect();
});

/** The example pipeline's names as the operator derives them in the workload namespace. */
function names(): RuntimeTestNames {
  return {
    id,
    namespace: workload,
    pipeline: "clickstream",
    topic: `e2e-clickstream-${id}`,
    deadLetterTopic: `e2e-clickstream-${id}-dlq`,
    table: "clickstream_events",
    consumerGroup: defaultConsumerGroup(workload, "clickstream"),
  };
}

interface PipelineEdits {
  source: { kafka: { topics: string[] } };
  deadLetter?: { topic: string };
  eventTime: { idleTimeout?: string };
  deletionPolicy?: string;
}

/**
 * examples/ as a platform team applies them, with this run's stack addresses (exampleManifests) and:
 * a topic of its own; idle partitions never close windows (the ground truth fires them by event time,
 * each partition's last event); every table dropped on deletion (the example Pipeline and day Rollup
 * keep theirs, Retain); and the test's alert, which fires while the stream flows and resolves after.
 */
function workloadManifests(): Manifest[] {
  const manifests = [
    ...exampleManifests("local-connections.yaml", workload),
    ...exampleManifests("clickstream-pipeline.yaml", workload, database),
    ...exampleManifests("clickstream-rollups.yaml", workload),
    ...exampleManifests("clickstream-alerts.yaml", workload),
    ...exampleManifests("clickstream-dashboard.yaml", workload),
  ];
  for (const m of manifests) {
    if (m.kind === "Pipeline") {
      const spec = m.spec as unknown as PipelineEdits;
      spec.source.kafka.topics = [names().topic];
      spec.deadLetter = { topic: names().deadLetterTopic };
      spec.eventTime.idleTimeout = "1h";
      spec.deletionPolicy = "Delete";
    }
    if (m.kind === "Rollup" && m.spec !== undefined) m.spec.deletionPolicy = "Delete";
  }
  manifests.push({
    apiVersion: "tally.dev/v1alpha1",
    kind: "AlertRule",
    metadata: { name: alertName, namespace: workload },
    spec: {
      query: { source: { kind: "Rollup", name: "clicks-per-minute" }, metric: "events", range: "30s" },
      condition: { type: "threshold", operator: "gt", value: alertThreshold },
      interval: "2s",
      for: "6s",
      // A runtime restart pauses loading for seconds: the alert rides it out instead of resolving.
      keepFiringFor: "20s",
      noDataState: "Ok",
      // Applied together with its rollup, the rule's first evaluations find the rollup not Ready yet:
      // that is not an alert (the default, Error, notifies it like a firing one).
      errorState: "KeepLast",
      notify: [{ type: "alertmanager", name: "alertmanager", url: e2eTarget.cluster.alertmanagerUrl }],
    },
  });
  return manifests;
}

// ---------------------------------------------------------------------------------------------------------
// The release's pods
// ---------------------------------------------------------------------------------------------------------

async function leaseHolderPod(namespace: string, lease: string): Promise<string | undefined> {
  const result = await kubectl([
    "get",
    "lease",
    lease,
    "-n",
    namespace,
    "-o",
    "jsonpath={.spec.holderIdentity}",
  ]);
  const holder = result.code === 0 ? result.stdout.trim() : "";
  // Identities are `<pod>_<random>` (the operator's and the gateway's alike).
  return holder === "" ? undefined : holder.slice(0, holder.lastIndexOf("_"));
}

// ---------------------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------------------

async function killRuntime(): Promise<void> {
  log(await targetOps.killRuntime(workload));
  countFault("kill9_runtime");
}

/**
 * One of the stack's services (Redis, the ClickHouse endpoint, the Kafka broker) stopped and started
 * again on its data while the traffic flows: every client of it — the runtime, the gateways, the
 * operator, the test's producer — has to ride out the outage.
 */
async function restartStackService(service: DataService): Promise<void> {
  log(`restarting ${service}`);
  const downtime = await targetOps.restartService(service);
  countFault(`${service}_restart`);
  log(`${service} is back after ${(downtime / 1000).toFixed(1)} s down`);
}

/**
 * A user edits the minute rollup while events arrive: a new metric changes its table, so the operator
 * builds version 2 beside version 1, fills it and switches over (the hour and day cascade follow).
 */
async function addMetricToMinuteRollup(): Promise<void> {
  await kubectlOk([
    "patch",
    "rollup",
    "clicks-per-minute",
    "-n",
    workload,
    "--type=json",
    "-p",
    JSON.stringify([
      { op: "add", path: "/spec/metrics/-", value: { fn: "max", name: "top_value", field: "value" } },
    ]),
  ]);
  figures.changes.set("rollup_migration", (figures.changes.get("rollup_migration") ?? 0) + 1);
  log("added a metric to clicks-per-minute: the operator migrates it to version 2");
}

/** Every rollup serves version `version` with no migration under way. */
async function rollupsSettledAt(version: number): Promise<void> {
  await eventually(
    async () => {
      for (const rollup of ["clicks-per-minute", "clicks-per-hour", "clicks-per-day"]) {
        const status = JSON.parse(
          await kubectlOk(["get", "rollup", rollup, "-n", workload, "-o", "jsonpath={.status}"]),
        ) as { servingVersion?: number; migration?: unknown };
        if (status.servingVersion !== version || status.migration !== undefined)
          throw new Error(
            `${rollup}: serving ${status.servingVersion ?? "none"}, migration ${JSON.stringify(status.migration)}`,
          );
      }
    },
    180_000,
    1_000,
  );
}

async function deleteAlertingGateway(): Promise<void> {
  // The chart leaves the shard count at its default: the rule's shard is known from its name alone.
  const lease = shardLeaseName(shardOfRule(workload, alertName, defaultShardCount));
  const holder =
    (await leaseHolderPod(releaseNamespace, lease)) ??
    (await runningPodNames(releaseNamespace, "gateway"))[0];
  if (holder === undefined) throw new Error("no gateway pod to delete");
  await kubectlOk(["delete", "pod", holder, "-n", releaseNamespace, "--wait=false"]);
  countFault("gateway_pod_deleted");
  log(`deleted gateway pod ${holder} (it held the alert's Lease)`);
  await targetOps.componentReady(releaseNamespace, "gateway", 2);
  log("the Deployment replaced it; both gateways ready");
}

async function deleteOperatorLeader(): Promise<void> {
  const leader = await eventually(async () => {
    const pod = await leaseHolderPod(releaseNamespace, "tally-operator-leader");
    if (pod === undefined) throw new Error("no operator leader");
    return pod;
  }, 60_000);
  await kubectlOk(["delete", "pod", leader, "-n", releaseNamespace, "--wait=false"]);
  countFault("operator_leader_deleted");
  log(`deleted the operator leader's pod ${leader}`);
  const next = await eventually(
    async () => {
      const pod = await leaseHolderPod(releaseNamespace, "tally-operator-leader");
      if (pod === undefined || pod === leader) throw new Error(`leader still ${pod ?? "none"}`);
      return pod;
    },
    60_000,
    250,
  );
  log(`${next} leads now`);
}

async function upgradeGatewayRateLimit(): Promise<void> {
  const before = await runningPodNames(releaseNamespace, "gateway");
  const upgrade = await helm([
    "upgrade",
    release,
    tallyChart,
    "-n",
    releaseNamespace,
    "--reuse-values",
    "--set",
    `gateway.rateLimitPerMinute=${upgradedRateLimit}`,
    "--wait",
    "--timeout",
    "100s",
  ]);
  expect(upgrade.code, upgrade.stderr).toBe(0);
  countFault("helm_upgrade_roll");
  await eventually(
    async () => {
      const pods = await runningPodNames(releaseNamespace, "gateway");
      if (pods.some((p) => before.includes(p))) throw new Error(`old gateway pods still running: ${pods}`);
    },
    120_000,
    500,
  );
  await targetOps.componentReady(releaseNamespace, "gateway", 2);
  log(`helm upgrade rolled the gateways (${before.join(", ")} replaced)`);
}

// ---------------------------------------------------------------------------------------------------------

describe("the platform team's path, end to end", () => {
  it("helm install: the operator and gateway pods run with the chart's RBAC", async () => {
    // The gateway reads ClickHouse as the stack's user (gateway.clickhouse.credentialsSecret).
    const install = await installTallyRelease(
      { release, namespace: releaseNamespace, watchNamespace: workload },
      ["operator.leaseDurationSeconds=5", ...targetOps.helmSets],
    );
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain(`${release}-gateway-token`);
    const operators = await targetOps.componentReady(releaseNamespace, "operator", 2);
    const gateways = await targetOps.componentReady(releaseNamespace, "gateway", 2);
    // Each runs as its pod's ServiceAccount, not as the admin.
    await targetOps.checkIdentities([...operators, ...gateways], release, releaseNamespace, workload);
    const leader = await eventually(async () => {
      const pod = await leaseHolderPod(releaseNamespace, "tally-operator-leader");
      if (pod === undefined) throw new Error("no operator leader yet");
      return pod;
    }, 60_000);
    expect(operators.map((p) => p.pod)).toContain(leader);
    log(`installed ${release}: operators ${operators.map((p) => p.pod)} (leader ${leader}), gateways ready`);
  });

  it("kubectl apply -n <namespace> -f examples/: pipeline, rollups, dashboard and alerts come up", async () => {
    const applied = await kubectlOk(["apply", "-n", workload, "-f", "-"], asList(workloadManifests()));
    expect(applied).toContain("pipeline.tally.dev/clickstream created");
    await waitForCondition("pipeline", workload, "clickstream", "Ready", "True", { timeoutMs: 120_000 });
    for (const rollup of ["clicks-per-minute", "clicks-per-hour", "clicks-per-day"])
      await waitForCondition("rollup", workload, rollup, "Ready", "True", { timeoutMs: 120_000 });
    await waitForCondition("dashboard", workload, "clickstream", "Ready", "True", { timeoutMs: 60_000 });
    // The gateway evaluates the rule (its RBAC lets it write the status): no data yet, so Ok.
    await eventually(async () => {
      const state = await kubectlOk([
        "get",
        "alertrule",
        alertName,
        "-n",
        workload,
        "-o",
        "jsonpath={.status.state}",
      ]);
      expect(state).toBe("Ok");
    }, 60_000);
    await targetOps.componentReady(workload, "pipeline-worker", 1);
    log("examples applied: pipeline, 3 rollups and the dashboard Ready; the runtime pod runs");
  });

  it("a live clickstream through faults lands exactly once: raw table, windows, rollup, dead letters, Redis, query API", async () => {
    const { topic } = names();
    const chunkMs = 1_000;
    const startMs = Date.now() + 2_000;
    const produced = generateClickstream({
      seed: 17,
      perPartition,
      partitions,
      startMs,
      // Event time advances with the wall clock: the alert sees "the last 30 s" fill and then empty.
      spacingMs: (trafficSeconds * chunkMs) / perPartition,
    });
    const plan = planOf(stringify(workloadManifests().find((m) => m.kind === "Pipeline") ?? {}));
    const expected = expectedOutcome(produced, plan.dedup?.horizonMs ?? 0);
    figures.produced = produced.reduce((n, p) => n + p.length, 0);
    const traffic = produceOnSchedule(topic, produced, { startMs, chunks: trafficSeconds, chunkMs });
    const at = async (fraction: number) => {
      const due = startMs + fraction * trafficSeconds * chunkMs;
      if (due > Date.now()) await sleep(due - Date.now());
    };
    log(`producing ${figures.produced} messages over ${trafficSeconds} s`);
    await at(0.1);
    await killRuntime();
    await at(0.2);
    await restartStackService("redis");
    await at(0.3);
    await restartStackService("clickhouse");
    await at(0.4);
    await deleteAlertingGateway();
    await at(0.5);
    await restartStackService("kafka");
    await at(0.6);
    await addMetricToMinuteRollup();
    await at(0.65);
    await deleteOperatorLeader();
    await at(0.75);
    await upgradeGatewayRateLimit();
    expect(await traffic).toBe(figures.produced);
    log("traffic done; waiting for every offset to be committed");

    await waitForCommitted(
      names(),
      produced.map((p) => p.length),
      240_000,
    );
    await rollupsSettledAt(2);
    const minute = JSON.parse(
      await kubectlOk(["get", "rollup", "clicks-per-minute", "-n", workload, "-o", "jsonpath={.status}"]),
    ) as { database: string; table: string };
    expect(minute.table, "the minute rollup serves its migrated table").toMatch(/_v2$/);

    // Lost and doubled, counted (the ground-truth check below says where, if any).
    const raw = await readRawRows(clickhouse, plan);
    const want = new Set(expected.rows.flatMap((rows) => rows.map((r) => r.event.event_id)));
    const got = new Set(raw.map((r) => r.event_id));
    figures.lost = [...want].filter((e) => !got.has(e)).length;
    figures.doubled = raw.length - got.size + [...got].filter((e) => !want.has(e)).length;
    figures.rawRowsChecked = raw.length;
    figures.deadLettersChecked = expected.invalid.length;
    log(
      `raw table: ${raw.length} rows, expected ${want.size}; lost ${figures.lost}, doubled ${figures.doubled}`,
    );
    expect(figures.lost).toBe(0);
    expect(figures.doubled).toBe(0);
    await checkGroundTruth({
      names: names(),
      plan,
      clickhouse,
      rollup: { ddl: minute },
      produced,
      expected,
      checkRedis: true,
    });
    log(
      `ground truth holds: raw rows, windows, minute rollup (migrated, ${minute.table}), dead letters, live windows in Redis`,
    );
    // The metric added mid-stream covers the rows from before the change too: the largest value per
    // minute, type and url, as the events say (0 where no event of the bucket had a value: maxIf's empty state).
    const fields = new Map(plan.spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }]));
    const max = renderMetricColumn({ fn: "max", name: "top_value", field: "value" }, fields, "test");
    const topValues = await (
      await clickhouse.query({
        query: `SELECT toUnixTimestamp(bucket) * 1000 AS bucket, toString(type) AS type, url, toFloat64(${max.mergeFunction}(top_value)) AS top FROM ${qualifiedName(minute.database, minute.table, "rollup")} GROUP BY bucket, type, url`,
        format: "JSONEachRow",
      })
    ).json<{ bucket: number; type: string; url: string; top: number }>();
    const wantTop = new Map<string, number>();
    for (const rows of expected.rows)
      for (const { event } of rows) {
        const key = `${Math.floor(event.ts / 60_000) * 60_000}|${event.type}|${event.url}`;
        wantTop.set(key, Math.max(wantTop.get(key) ?? 0, event.value ?? 0));
      }
    expect(
      new Map(topValues.map((r) => [`${r.bucket}|${r.type}|${r.url}`, r.top])),
      "top_value per minute, type and url after the migration",
    ).toEqual(wantTop);

    // The same numbers through the gateway's query API, with the chart's read token.
    const byType = new Map<string, { events: number; users: Set<string>; revenue: number }>();
    for (const rows of expected.rows) {
      for (const { event } of rows) {
        acceptedEvents.push({ url: event.url, ts: event.ts });
        const entry = byType.get(event.type) ?? { events: 0, users: new Set<string>(), revenue: 0 };
        entry.events++;
        entry.users.add(event.user_id);
        entry.revenue += event.value ?? 0;
        byType.set(event.type, entry);
      }
    }
    const hour = 3_600_000;
    const response = await fetch(
      `${await targetOps.gatewayUrl(releaseNamespace, 2)}/api/v1/namespaces/${workload}/query`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${await readGatewayToken(release, releaseNamespace)}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          pipeline: "clickstream",
          metrics: ["events", "users", "revenue"],
          dimensions: ["type"],
          timeRange: {
            from: new Date(startMs - 24 * hour).toISOString(),
            to: new Date(Date.now() + 2 * hour).toISOString(),
          },
        }),
      },
    );
    expect(response.status, await response.clone().text()).toBe(200);
    // The upgraded value is what the rolled gateways enforce.
    expect(response.headers.get("x-ratelimit-limit")).toBe(String(upgradedRateLimit));
    const answer = (await response.json()) as QueryResponse;
    const answered = new Map(answer.rows.map((r) => [String(r.type), r]));
    expect([...answered.keys()].sort()).toEqual([...byType.keys()].sort());
    for (const [type, want] of byType) {
      const row = answered.get(type);
      expect(Number(row?.events), `events of ${type}`).toBe(want.events);
      expect(Number(row?.users), `users of ${type}`).toBe(want.users.size);
      expect(Number(row?.revenue), `revenue of ${type}`).toBeCloseTo(want.revenue, 6);
    }
    log(
      `the gateway (${answer.explain.source.kind} ${answer.explain.source.name}) answers the ground truth for ${byType.size} event types`,
    );
  });

  it("the web UI, signed in with the chart's token, shows the dashboard with the ground truth's numbers", async () => {
    const url = await targetOps.gatewayUrl(releaseNamespace, 2);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
      await page.goto(`${url}/ui/`);
      await page.fill('[data-testid="token"]', await readGatewayToken(release, releaseNamespace));
      await page.fill('[data-testid="login-namespace"]', workload);
      await page.click('[data-testid="sign-in"]');
      await page.click('section.resource[data-kind="Dashboard"][data-name="clickstream"] h3 a');
      await page.waitForSelector('[data-testid="stream-state"][data-state="live"]');
      // "Busiest pages" (top 10 by events over the last hour): each url shown has its count from the
      // events, and no url left out has more than the least shown.
      const shown = await eventually(async () => {
        const values = await page.$$eval('[data-panel="top_urls"] [data-value]', (elements) =>
          elements.map(
            (e) =>
              [
                e.closest("[data-label]")?.getAttribute("data-label") ?? "?",
                Number(e.getAttribute("data-value")),
              ] as const,
          ),
        );
        // last_1h ends where the current minute does: each partition's closing sentinel event, an hour
        // ahead (it moves the watermark past the last windows), is outside it.
        const toMs = Math.ceil((Date.now() + 1) / 60_000) * 60_000;
        const eventsByUrl = new Map<string, number>();
        for (const { url: path, ts } of acceptedEvents)
          if (ts >= toMs - 3_600_000 && ts < toMs) eventsByUrl.set(path, (eventsByUrl.get(path) ?? 0) + 1);
        expect(values.length).toBe(Math.min(10, eventsByUrl.size));
        const panel = new Map(values);
        // Live, so a snapshot from before the last rows settled (the rollup's 10 s cache) may show first.
        for (const [path, events] of panel) expect(events, `events of ${path}`).toBe(eventsByUrl.get(path));
        const least = Math.min(...panel.values());
        for (const [path, events] of eventsByUrl)
          if (!panel.has(path)) expect(events, `${path} left out of the top 10`).toBeLessThanOrEqual(least);
        return panel;
      }, 60_000);
      const artifacts = join(stackConfig.stateDir, "artifacts");
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, "e2e-dashboard.png"), fullPage: true });
      log(`the web UI's dashboard shows the ground truth (${shown.size} busiest pages)`);
    } finally {
      await browser.close();
    }
  });

  it("the alert fired while the stream flowed and resolved after it, each notification delivered once", async () => {
    await eventually(
      async () => {
        figures.notifications = await deliveredStatuses(alertName);
        expect(figures.notifications).toEqual(["firing", "resolved"]);
      },
      180_000,
      1_000,
    );
    // Several evaluations and group intervals later: nothing delivered twice.
    await consistently(async () => {
      figures.notifications = await deliveredStatuses(alertName);
      expect(figures.notifications).toEqual(["firing", "resolved"]);
    }, 6_000);
    const status = JSON.parse(
      await kubectlOk(["get", "alertrule", alertName, "-n", workload, "-o", "jsonpath={.status}"]),
    ) as { state?: string; notifications?: { channel: string; ok: boolean }[] };
    expect(status.state).toBe("Ok");
    expect(status.notifications).toMatchObject([{ channel: "alertmanager", ok: true }]);
    log("alert delivered: firing once, resolved once");
  });

  it("deleting the examples and helm uninstall leave no objects, tables, Redis keys or processes", async () => {
    const deleted = await kubectl([
      "delete",
      "pipelines,rollups,alertrules,dashboards",
      "--all",
      "-n",
      workload,
      "--wait=true",
      "--timeout=100s",
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(
      (
        await kubectlOk(["get", "pipelines,rollups,alertrules,dashboards", "-n", workload, "-o", "name"])
      ).trim(),
    ).toBe("");
    const tables = await (
      await clickhouse.query({
        query: "SELECT name FROM system.tables WHERE database = {database:String} ORDER BY name",
        query_params: { database },
        format: "JSONEachRow",
      })
    ).json<{ name: string }>();
    expect(
      tables.map((t) => t.name),
      `tables left in ${database}`,
    ).toEqual([]);
    // The pipeline's live windows and the rules' alert state (result-cache entries expire on their TTL).
    await eventually(
      async () => {
        const keys = [
          ...(await redis.keys(`tally:{${workload}/*`)),
          ...(await redis.keys(`tally:alerts:*:${workload}:*`)),
        ];
        expect(keys, "Redis keys of the deleted pipeline and rules").toEqual([]);
      },
      30_000,
      500,
    );

    const uninstall = await helm([
      "uninstall",
      release,
      "-n",
      releaseNamespace,
      "--wait",
      "--timeout",
      "100s",
    ]);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    const selector = `app.kubernetes.io/instance=${release}`;
    const left = await kubectlOk([
      "get",
      "deployments,replicasets,pods,services,secrets,serviceaccounts,roles,rolebindings",
      "-n",
      releaseNamespace,
      "-l",
      selector,
      "-o",
      "name",
    ]);
    expect(left.trim(), "the release's objects").toBe("");
    const cluster = await kubectlOk([
      "get",
      "clusterroles,clusterrolebindings",
      "-l",
      selector,
      "-o",
      "name",
    ]);
    expect(cluster.trim(), "the release's cluster objects").toBe("");
    await eventually(
      async () => {
        const pods = await kubectlOk(["get", "deployments,pods", "-n", workload, "-o", "name"]);
        expect(pods.trim(), `runtime objects in ${workload}`).toBe("");
        expect(await targetOps.leftovers([releaseNamespace, workload])).toEqual([]);
      },
      90_000,
      500,
    );
    log("nothing left: no Tally objects, no tables, no Redis keys, no processes");
  });
});
