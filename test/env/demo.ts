/**
 * `make demo`: the main job on the local stack. Installs the CRDs, runs the operator, applies the
 * clickstream examples (pipeline, minute/hour/day rollups, alert rules) in namespace `tally-demo`,
 * produces a generated clickstream (out-of-order, late, duplicate, bot and invalid records included),
 * and waits until the runtime pods — real processes started by the pod-runner — have loaded ClickHouse.
 * Then it checks the raw table and the minute rollup against the ground truth computed from what was
 * produced, asks the gateway (started as a local process with a token from a Secret) the same question
 * over HTTP, and prints what landed, how the gateway routed the question, and where to look.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@clickhouse/client";
import kafkajs from "kafkajs";
import type { QueryResponse } from "../../api/v1alpha1/query.js";
import { expectedOutcome, generateClickstream } from "../support/clickstream-generator.js";
import { eventually } from "../support/eventually.js";
import { asList, exampleManifests } from "../support/examples.js";
import { startGateway } from "../support/gateway-process.js";
import { produce } from "../support/kafka-produce.js";
import { deleteTallyObjects, kubectl, kubectlOk, startOperator, waitForCondition } from "../support/kube.js";
import { readDeadLetters } from "../support/runtime-harness.js";
import { clickhouseUrl, kafkaBrokers, stackConfig } from "./config.js";

const namespace = "tally-demo";
const database = "tally_demo";
const partitions = 4;

function say(message: string): void {
  console.log(`[demo] ${message}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  await kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", `${stackConfig.repoRoot}/crds`]);
  await kubectlOk([
    "wait",
    "--for=condition=Established",
    "crd/pipelines.tally.dev",
    "crd/rollups.tally.dev",
  ]);
  const created = await kubectl(["create", "namespace", namespace]);
  if (created.code !== 0 && !created.stderr.includes("AlreadyExists")) throw new Error(created.stderr);

  say("starting the operator (logs in .tally-stack/logs/operator-tests/)");
  const operator = await startOperator({ namespace });
  const clickhouse = createClient({
    url: clickhouseUrl,
    username: stackConfig.clickhouseUser,
    password: stackConfig.clickhousePassword,
  });
  try {
    // A fresh run: the previous run's objects and tables go; a new topic keeps offsets simple.
    await deleteTallyObjects(namespace);
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    const topic = `tally-demo-clickstream-${Date.now()}`;
    const deadLetterTopic = `${topic}-dlq`;
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: partitions },
        { topic: deadLetterTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });

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
    say(`applying examples/ in namespace ${namespace} (topic ${topic}, database ${database})`);
    await kubectlOk(["apply", "-f", "-"], asList(manifests));
    await waitForCondition("pipeline", namespace, "clickstream", "Ready", "True", { timeoutMs: 120_000 });
    for (const rollup of ["clicks-per-minute", "clicks-per-hour", "clicks-per-day"]) {
      await waitForCondition("rollup", namespace, rollup, "Ready", "True", { timeoutMs: 120_000 });
    }
    await waitForCondition("dashboard", namespace, "clickstream", "Ready", "True", { timeoutMs: 60_000 });
    say(
      "pipeline, rollups and the dashboard are Ready (every panel checked against what the sources offer); the pod-runner runs the runtime pod as a local process",
    );

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
      `produced ${produced.reduce((n, p) => n + p.length, 0)} messages: ${expectedRows} valid events, ` +
        `${expected.duplicates} duplicates, ${expected.bots} bot events, ${expected.invalid.length} invalid records`,
    );

    const count = async (sql: string) => {
      const [row] = await (await clickhouse.query({ query: sql, format: "JSONEachRow" })).json<{
        n: string;
      }>();
      return Number(row?.n ?? 0);
    };
    let last = -1;
    await eventually(
      async () => {
        const rows = await count(`SELECT count() AS n FROM ${database}.clickstream_events`);
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
    const raw = await count(`SELECT count() AS n FROM ${database}.clickstream_events`);
    const distinct = await count(`SELECT uniqExact(event_id) AS n FROM ${database}.clickstream_events`);
    const rolled = await count(`SELECT countMerge(events) AS n FROM ${database}.${minute}`);
    const byType = await (
      await clickhouse.query({
        query: `SELECT type, countMerge(events) AS events, uniqMerge(users) AS users, round(sumIfMerge(revenue), 2) AS revenue FROM ${database}.${minute} GROUP BY type ORDER BY events DESC`,
        format: "JSONEachRow",
      })
    ).json<{ type: string; events: string; users: string; revenue: number }>();
    const deadLetters = await readDeadLetters(deadLetterTopic);
    const late = deadLetters.filter((l) => l.kind === "late").length;
    await admin.disconnect();

    say(
      `raw rows ${raw} (expected ${expectedRows}, distinct event ids ${distinct}); minute rollup counts ${rolled}`,
    );
    say(
      `dead-letter topic holds ${deadLetters.length - late} invalid records (expected ${expected.invalid.length}) and ${late} late ones`,
    );
    say("minute rollup by event type:");
    for (const r of byType) {
      say(
        `  ${r.type.padEnd(12)} events ${String(r.events).padStart(6)}  users ${String(r.users).padStart(5)}  revenue ${r.revenue}`,
      );
    }
    const gatewayAgrees = await askTheGateway(byType);
    say("the pipeline as kubectl shows it (LAG and DESIRED come from the autoscaler):");
    for (const line of (await kubectlOk(["get", "pipeline", "clickstream", "-n", namespace]))
      .trim()
      .split("\n"))
      say(`  ${line}`);
    const scaleReason = await kubectlOk([
      "get",
      "pipeline",
      "clickstream",
      "-n",
      namespace,
      "-o",
      "jsonpath={.status.scaleReason}",
    ]);
    say(`autoscaler: ${scaleReason}`);
    const ok = raw === expectedRows && distinct === expectedRows && rolled === expectedRows && gatewayAgrees;
    say(ok ? "ground truth holds: nothing lost, nothing counted twice" : "MISMATCH against the ground truth");
    say(`done in ${Math.round((Date.now() - started) / 1000)} s. Explore:`);
    say(`  export KUBECONFIG=${stackConfig.stateDir}/kubeconfig; kubectl get tally -n ${namespace}`);
    say(`  kubectl describe pipeline clickstream -n ${namespace}`);
    say("  runtime logs: .tally-stack/logs/pods/; `make stack-down` stops everything");
    process.exitCode = ok ? 0 : 1;
  } finally {
    await clickhouse.close();
    await operator.stop();
  }
}

/**
 * The same question through the gateway's query API: a token Secret for the namespace, the gateway as a
 * local process, one POST. True when its answer equals the minute rollup read directly above.
 */
async function askTheGateway(
  byType: readonly { type: string; events: string; users: string; revenue: number }[],
): Promise<boolean> {
  const token = randomBytes(24).toString("hex");
  await kubectl(["delete", "secret", "demo-reader", "-n", namespace, "--ignore-not-found"]);
  await kubectlOk([
    "create",
    "secret",
    "generic",
    "demo-reader",
    "-n",
    namespace,
    `--from-literal=token=${token}`,
    `--from-literal=namespaces=${namespace}`,
  ]);
  const gateway = await startGateway({ namespace, tokenSecrets: [`${namespace}/demo-reader`] });
  try {
    // Every event produced, the sentinels an hour ahead included: the day before to two hours ahead.
    const hour = 3_600_000;
    const from = new Date(Math.floor((Date.now() - 24 * hour) / hour) * hour).toISOString();
    const to = new Date(Math.ceil((Date.now() + 2 * hour) / hour) * hour).toISOString();
    const question = {
      metrics: ["events", "users", "revenue"],
      dimensions: ["type"],
      timeRange: { from, to },
    };
    say(`asking the gateway (${gateway.url}, log ${gateway.logFile}): ${JSON.stringify(question)}`);
    const response = await fetch(`${gateway.url}/api/v1/namespaces/${namespace}/query`, {
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
      `answered by ${answer.explain.source.kind} ${answer.explain.source.name} (${answer.explain.source.table}), ${answer.explain.rowsRead ?? 0} rows read, cache ${answer.explain.cache.status}; the other candidates:`,
    );
    for (const c of answer.explain.candidates.filter((c) => !c.chosen))
      say(`  ${c.kind} ${c.name}: ${c.reason}`);
    const got = new Map(answer.rows.map((r) => [String(r.type), Number(r.events)]));
    const agrees = byType.every((r) => got.get(r.type) === Number(r.events)) && got.size === byType.length;
    say(
      agrees
        ? "the gateway's events by type equal the minute rollup's"
        : `MISMATCH: the gateway says ${JSON.stringify([...got])}`,
    );
    say(
      `to ask it yourself, run the gateway as README.md ("Query through the gateway") shows, with TOKEN=$(kubectl get secret demo-reader -n ${namespace} -o jsonpath='{.data.token}' | base64 -d)`,
    );
    return agrees;
  } finally {
    await gateway.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`[demo] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
