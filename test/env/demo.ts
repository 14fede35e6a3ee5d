/**
 * `make demo`: the platform team's path on the local stack. `helm install` charts/tally (release `tally`
 * in `tally-system`, watching `tally-demo`; the pod-runner runs the operator and gateway pods as local
 * processes with the chart's RBAC), `kubectl apply -n tally-demo` the examples (stack addresses rewritten
 * as exampleManifests does), then traffic:
 * - on a terminal: the UI's URL and a token, then a live summary refreshed in place every 2 s while a
 *   steady clickstream flows, until Ctrl-C; then the examples are deleted, the release uninstalled, and
 *   what was torn down is printed;
 * - without one (CI): a bounded clickstream (out-of-order, late, duplicate, bot and invalid records), the
 *   raw table and the minute rollup checked against the ground truth computed from what was produced, the
 *   same question asked of the release's gateway over HTTP; then the same teardown; exit 0 or 1.
 * TALLY_DEMO_NAMESPACE, TALLY_DEMO_RELEASE and TALLY_DEMO_RELEASE_NAMESPACE rename what it creates, so two
 * runs on one stack cannot collide; TALLY_DEMO_EVENTS_PER_SECOND sets the live traffic (default 200).
 */
import { createClient } from "@clickhouse/client";
import kafkajs from "kafkajs";
import type { QueryResponse } from "../../api/v1alpha1/query.js";
import { qualifiedName, quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { expectedOutcome, generateClickstream } from "../support/clickstream-generator.js";
import { eventually } from "../support/eventually.js";
import { asList, databaseFor, exampleManifests, type Manifest } from "../support/examples.js";
import { produce } from "../support/kafka-produce.js";
import { kubectl, kubectlOk, waitForCondition } from "../support/kube.js";
import { runThisCheckoutIn } from "../support/pod-runner-state.js";
import { readDeadLetters } from "../support/runtime-harness.js";
import {
  componentReady,
  gatewayUrl,
  helm,
  installTallyRelease,
  readGatewayToken,
} from "../support/tally-release.js";
import { clickhouseUrl, kafkaBrokers, stackConfig } from "./config.js";
import { readSnapshot, redrawInPlace, type SummarySnapshot, summaryLines } from "./demo/live-summary.js";
import { startSteadyTraffic } from "./demo/steady-clickstream.js";

const namespace = process.env.TALLY_DEMO_NAMESPACE ?? "tally-demo";
const release = process.env.TALLY_DEMO_RELEASE ?? "tally";
const releaseNamespace = process.env.TALLY_DEMO_RELEASE_NAMESPACE ?? "tally-system";
const eventsPerSecond = Number(process.env.TALLY_DEMO_EVENTS_PER_SECOND ?? "200");
const database = databaseFor(namespace);
const partitions = 4;
const gatewayReplicas = 2;
const runId = `${Date.now()}`;
const topic = `${namespace}-clickstream-${runId}`;
const deadLetterTopic = `${topic}-dlq`;
const started = Date.now();

const clickhouse = createClient({
  url: clickhouseUrl,
  username: stackConfig.clickhouseUser,
  password: stackConfig.clickhousePassword,
});
const kafkaAdmin = () =>
  new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();

function say(message: string): void {
  console.log(`[demo] ${message}`);
}

function seconds(): number {
  return Math.round((Date.now() - started) / 1000);
}

/** examples/ as a platform team applies them, on this run's topics and database. */
function demoManifests(): Manifest[] {
  const manifests = [
    ...exampleManifests("local-connections.yaml", namespace),
    ...exampleManifests("clickstream-pipeline.yaml", namespace, database),
    ...exampleManifests("clickstream-rollups.yaml", namespace),
    ...exampleManifests("clickstream-alerts.yaml", namespace),
    ...exampleManifests("clickstream-dashboard.yaml", namespace),
  ];
  for (const m of manifests) {
    const spec = m.spec as
      | { source?: { kafka: { topics: string[] } }; deadLetter?: { topic: string } }
      | undefined;
    if (m.kind === "Pipeline" && spec?.source !== undefined) {
      spec.source.kafka.topics = [topic];
      spec.deadLetter = { topic: deadLetterTopic };
    }
  }
  return manifests;
}

async function ensureNamespace(name: string): Promise<void> {
  const created = await kubectl(["create", "namespace", name]);
  if (created.code !== 0 && !created.stderr.includes("AlreadyExists")) throw new Error(created.stderr);
}

/** The release, the examples and the traffic's topics, up and Ready; returns the undo of the entry points. */
async function bringUp(): Promise<() => void> {
  if ((await helm(["status", release, "-n", releaseNamespace])).code === 0) {
    say(
      `release ${release} is still installed in ${releaseNamespace} (an interrupted run): removing it first`,
    );
    await tearDown(() => undefined);
    // A namespace still terminating refuses new objects: the fresh run waits until both are gone.
    await kubectl([
      "wait",
      "--for=delete",
      `namespace/${namespace}`,
      `namespace/${releaseNamespace}`,
      "--timeout=120s",
    ]);
  }
  await ensureNamespace(releaseNamespace);
  await ensureNamespace(namespace);
  // The pods run this checkout's programs, whichever checkout started the stack.
  const undoEntrypoints = runThisCheckoutIn([releaseNamespace, namespace]);
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database, "database")}` });
  const admin = kafkaAdmin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: partitions },
      { topic: deadLetterTopic, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();

  say(`helm install ${release} charts/tally -n ${releaseNamespace} (watching ${namespace})`);
  const install = await installTallyRelease({
    release,
    namespace: releaseNamespace,
    watchNamespace: namespace,
  });
  if (install.code !== 0) throw new Error(`helm install failed: ${install.stderr}`);
  const operators = await componentReady(releaseNamespace, "operator", 2);
  await componentReady(releaseNamespace, "gateway", gatewayReplicas);
  say(
    `${seconds()} s: ${operators.length} operator and ${gatewayReplicas} gateway pods ready (processes run by the pod-runner)`,
  );

  say(`kubectl apply -n ${namespace} -f examples/ (topic ${topic}, database ${database})`);
  await kubectlOk(["apply", "-n", namespace, "-f", "-"], asList(demoManifests()));
  await waitForCondition("pipeline", namespace, "clickstream", "Ready", "True", { timeoutMs: 120_000 });
  for (const rollup of ["clicks-per-minute", "clicks-per-hour", "clicks-per-day"])
    await waitForCondition("rollup", namespace, rollup, "Ready", "True", { timeoutMs: 120_000 });
  await waitForCondition("dashboard", namespace, "clickstream", "Ready", "True", { timeoutMs: 60_000 });
  await componentReady(namespace, "pipeline-worker", 1);
  say(`${seconds()} s: pipeline, 3 rollups and the dashboard Ready; the runtime pod runs`);
  return undoEntrypoints;
}

/**
 * Deletes the examples while the release's operator can still finalize them, uninstalls the release,
 * then removes the namespaces, topics and database; prints each step. Best effort: every step runs.
 */
async function tearDown(undoEntrypoints: () => void): Promise<void> {
  const step = async (what: string, action: () => Promise<string>) => {
    try {
      say(`torn down: ${what}${await action()}`);
    } catch (error) {
      say(`teardown of ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await step("the examples", async () => {
    // The Tally objects first, while the connection Secrets they clean up with still exist (deleting
    // everything in one pass leaves the Rollups without credentials: they would drop nothing).
    const manifests = demoManifests();
    const isTally = (m: { apiVersion?: unknown }) => String(m.apiVersion).startsWith("tally.dev/");
    const deleteAll = (subset: typeof manifests) =>
      kubectl(
        ["delete", "-n", namespace, "-f", "-", "--ignore-not-found", "--wait=true", "--timeout=100s"],
        asList(subset),
      );
    const first = await deleteAll(manifests.filter(isTally));
    if (first.code !== 0) throw new Error(first.stderr);
    const rest = await deleteAll(manifests.filter((m) => !isTally(m)));
    if (rest.code !== 0) throw new Error(rest.stderr);
    const deleted = `${first.stdout}\n${rest.stdout}`.trim().split("\n").filter(Boolean);
    return ` (${deleted.length}: ${deleted.map((l) => l.split(" ")[0]).join(", ")})`;
  });
  await step(`helm release ${release}`, async () => {
    const out = await helm(["uninstall", release, "-n", releaseNamespace, "--wait", "--timeout", "100s"]);
    if (out.code !== 0 && !out.stderr.includes("not found")) throw new Error(out.stderr);
    return ` (${out.stdout.trim() || out.stderr.trim()})`;
  });
  undoEntrypoints();
  await step(`namespaces ${namespace} and ${releaseNamespace}`, async () => {
    await kubectl(["delete", "namespace", namespace, releaseNamespace, "--wait=false", "--ignore-not-found"]);
    return "";
  });
  // Every topic of this namespace's demos: an interrupted run's too.
  await step(`Kafka topics ${namespace}-clickstream-*`, async () => {
    const admin = kafkaAdmin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}-clickstream-`));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      return ` (${topics.join(", ") || "none"})`;
    } finally {
      await admin.disconnect();
    }
  });
  await step(`ClickHouse database ${database}`, async () => {
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database, "database")}` });
    return "";
  });
}

/** The live demo: a steady stream and a summary redrawn every 2 s until SIGINT (or SIGTERM). */
async function runLive(): Promise<void> {
  const url = await gatewayUrl(releaseNamespace, gatewayReplicas);
  const token = await readGatewayToken(release, releaseNamespace);
  const traffic = await startSteadyTraffic(topic, { perSecond: eventsPerSecond, partitions, runId });
  say(`${seconds()} s: producing ${eventsPerSecond} events/s to ${topic}`);
  say(`web UI: ${url}/ui/  (token: ${token})`);
  say(`kubectl: export KUBECONFIG=${stackConfig.stateDir}/kubeconfig; kubectl get tally -n ${namespace}`);
  console.log("");
  const stop = new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  let drawn = 0;
  let previous: SummarySnapshot | undefined;
  let stopping = false;
  const refresh = async () => {
    while (!stopping) {
      const now = await readSnapshot({
        namespace,
        pipeline: "clickstream",
        rollup: "clicks-per-minute",
        clickhouse,
        produced: traffic.sent(),
      });
      if (stopping) break;
      const lines = summaryLines(now, previous);
      process.stdout.write(redrawInPlace(drawn, lines));
      drawn = lines.length;
      previous = now;
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 2_000)), stop]);
    }
  };
  const refreshing = refresh();
  const signal = await stop;
  stopping = true;
  // A further Ctrl-C during the teardown would leave half of it behind: it is ignored, and said so.
  process.on("SIGINT", () => say("tearing down, one moment"));
  await refreshing;
  const sent = await traffic.stop();
  say(`${signal}: traffic stopped after ${sent} messages; tearing down`);
}

/** The bounded demo: a fixed clickstream checked against its ground truth, raw table to gateway. */
async function runBounded(): Promise<boolean> {
  const produced = generateClickstream({
    seed: 7,
    perPartition: 2_500,
    partitions,
    startMs: Date.now() - 30 * 60_000,
  });
  const expected = expectedOutcome(produced, 10 * 60_000);
  const expectedRows = expected.rows.reduce((n, p) => n + p.length, 0);
  await produce(topic, produced);
  say(
    `${seconds()} s: produced ${produced.reduce((n, p) => n + p.length, 0)} messages: ${expectedRows} valid events, ` +
      `${expected.duplicates} duplicates, ${expected.bots} bot events, ${expected.invalid.length} invalid records`,
  );
  const table = (name: string) => qualifiedName(database, name, "demo table");
  const count = async (sql: string) => {
    const [row] = await (await clickhouse.query({ query: sql, format: "JSONEachRow" })).json<{ n: string }>();
    return Number(row?.n ?? 0);
  };
  let last = -1;
  await eventually(
    async () => {
      const rows = await count(`SELECT count() AS n FROM ${table("clickstream_events")}`);
      if (rows !== last) say(`raw table: ${rows}/${expectedRows} rows`);
      last = rows;
      if (rows < expectedRows) throw new Error(`${rows} of ${expectedRows} rows loaded`);
    },
    180_000,
    2_000,
  );
  const minute = await kubectlOk([
    "get",
    "rollup",
    "clicks-per-minute",
    "-n",
    namespace,
    "-o",
    "jsonpath={.status.table}",
  ]);
  const raw = await count(`SELECT count() AS n FROM ${table("clickstream_events")}`);
  const distinct = await count(`SELECT uniqExact(event_id) AS n FROM ${table("clickstream_events")}`);
  const rolled = await count(`SELECT countMerge(events) AS n FROM ${table(minute)}`);
  const deadLetters = await readDeadLetters(deadLetterTopic);
  const late = deadLetters.filter((l) => l.kind === "late").length;
  say(
    `raw rows ${raw} (expected ${expectedRows}, distinct event ids ${distinct}); minute rollup counts ${rolled}`,
  );
  say(
    `dead-letter topic holds ${deadLetters.length - late} invalid records (expected ${expected.invalid.length}) and ${late} late ones`,
  );

  // The ground truth by event type, from the produced events (not from the tables).
  const byType = new Map<string, number>();
  for (const rows of expected.rows)
    for (const { event } of rows) byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
  const gatewayAgrees = await askTheGateway(byType);
  say("the pipeline as kubectl shows it (LAG and DESIRED come from the autoscaler):");
  for (const line of (await kubectlOk(["get", "pipeline", "clickstream", "-n", namespace]))
    .trim()
    .split("\n"))
    say(`  ${line}`);
  const ok = raw === expectedRows && distinct === expectedRows && rolled === expectedRows && gatewayAgrees;
  say(ok ? "ground truth holds: nothing lost, nothing counted twice" : "MISMATCH against the ground truth");
  return ok;
}

/** The events-by-type question through the release's gateway with the chart's token; true when it equals the ground truth. */
async function askTheGateway(byType: ReadonlyMap<string, number>): Promise<boolean> {
  const url = await gatewayUrl(releaseNamespace, gatewayReplicas);
  const token = await readGatewayToken(release, releaseNamespace);
  // Every event produced, the sentinels an hour ahead included: the day before to two hours ahead.
  const hour = 3_600_000;
  const question = {
    metrics: ["events", "users", "revenue"],
    dimensions: ["type"],
    timeRange: {
      from: new Date(Math.floor((Date.now() - 24 * hour) / hour) * hour).toISOString(),
      to: new Date(Math.ceil((Date.now() + 2 * hour) / hour) * hour).toISOString(),
    },
  };
  say(
    `asking the gateway pod (${url}, token from Secret ${release}-gateway-token): ${JSON.stringify(question)}`,
  );
  const response = await fetch(`${url}/api/v1/namespaces/${namespace}/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(question),
  });
  if (!response.ok) {
    say(`the gateway answered ${response.status}: ${await response.text()}`);
    return false;
  }
  const answer = (await response.json()) as QueryResponse;
  say(
    `answered by ${answer.explain.source.kind} ${answer.explain.source.name} (${answer.explain.source.table}), ${answer.explain.rowsRead ?? 0} rows read, cache ${answer.explain.cache.status}`,
  );
  const got = new Map(answer.rows.map((r) => [String(r.type), Number(r.events)]));
  for (const [type, events] of byType)
    say(
      `  ${type.padEnd(12)} gateway ${String(got.get(type) ?? "-").padStart(6)}  expected ${String(events).padStart(6)}`,
    );
  const agrees = got.size === byType.size && [...byType].every(([type, events]) => got.get(type) === events);
  say(
    agrees ? "the gateway's events by type equal the ground truth" : "MISMATCH: the gateway's events by type",
  );
  return agrees;
}

async function main(): Promise<void> {
  const live = process.stdout.isTTY === true;
  say(
    live
      ? "a terminal: the live demo (Ctrl-C to stop)"
      : "no terminal: the bounded demo with its ground-truth check",
  );
  let undoEntrypoints: () => void = () => undefined;
  let ok = false;
  try {
    undoEntrypoints = await bringUp();
    if (live) {
      await runLive();
      ok = true;
    } else ok = await runBounded();
  } catch (error) {
    say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await tearDown(undoEntrypoints);
    await clickhouse.close();
  }
  say(`${ok ? "done" : "FAILED"} in ${seconds()} s`);
  process.exit(ok ? 0 : 1);
}

void main();
