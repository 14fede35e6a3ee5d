import { type ClickHouseClient, createClient } from "@clickhouse/client";
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { combinePartials } from "../../contracts/windows/window-results.js";
import { clickhouseUrl, kafkaBrokers, stackConfig } from "../env/config.js";
import { eventually } from "../support/eventually.js";
import { exactQuantile } from "../support/exact-quantile.js";
import { asList, databaseFor, type Manifest } from "../support/examples.js";
import { produce } from "../support/kafka-produce.js";
import { kubectlOk, type OperatorNamespace, operatorNamespace, waitForCondition } from "../support/kube.js";
import { type BucketTruth, bucketTruth, generateReplay, replayTruth } from "../support/replay-dataset.js";
import { planOf, readDeadLetters, readWindowPartials } from "../support/runtime-harness.js";

// A replay of ten weeks of history through the real path a user takes: a Pipeline, an hourly Rollup on
// it and a daily Rollup cascading from the hourly one, applied with kubectl and reconciled by the
// operator into runtime pods (pod-runner processes) and ClickHouse views. Every figure of both rollups
// and of the live window table is compared with values computed here from the produced records. The
// stream ends without a sentinel: its last windows close only because the idle partitions' watermarks
// advance (eventTime.idleTimeout).

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const partitions = 6;
// Long enough that no partition goes a whole idleTimeout without a fetch while its backlog is consumed:
// the runtime counts idleness in wall time since the last record delivered, even with records still
// waiting in Kafka, and a loaded CI machine starved one partition for over 5 s (its windows then missed
// the rest of its backlog as late). That runtime defect is reported, not fixed, here.
const idleTimeoutMs = 20_000;
let ctx: OperatorNamespace;
let clickhouse: ClickHouseClient;

beforeAll(async () => {
  ctx = await operatorNamespace("tally-replay");
  clickhouse = createClient({
    url: clickhouseUrl,
    username: stackConfig.clickhouseUser,
    password: stackConfig.clickhousePassword,
    request_timeout: 60_000,
  });
});

afterAll(async () => {
  await ctx?.close();
  await clickhouse?.close();
});

function manifests(namespace: string, database: string, topic: string): Manifest[] {
  const pipeline: Manifest = {
    apiVersion: "tally.dev/v1alpha1",
    kind: "Pipeline",
    metadata: { name: "replay", namespace },
    spec: {
      source: { kafka: { brokers: [...kafkaBrokers], topics: [topic], startOffset: "earliest" } },
      format: {
        type: "json",
        jsonSchema: {
          type: "object",
          required: ["event_id", "user_id", "type", "ts", "value"],
          properties: {
            event_id: { type: "string", minLength: 1 },
            user_id: { type: "string" },
            type: { type: "string", enum: ["view", "click", "buy"] },
            ts: { type: "string", format: "date-time" },
            value: { type: "number" },
          },
        },
      },
      fields: [
        { name: "event_id", type: "String" },
        { name: "user_id", type: "String" },
        { name: "type", type: "LowCardinality(String)" },
        { name: "ts", type: "DateTime64(3)" },
        { name: "value", type: "Float64" },
      ],
      // Only what a user must set: the dedup horizon, out-of-orderness and lateness keep their defaults.
      eventTime: { field: "ts", idleTimeout: `${idleTimeoutMs / 1000}s` },
      dedup: { field: "event_id" },
      windows: [
        {
          name: "hourly",
          type: "tumbling",
          size: "1h",
          groupBy: ["type"],
          aggregations: [
            { fn: "count", name: "events" },
            { fn: "sum", name: "amount", field: "value" },
            { fn: "max", name: "largest", field: "value" },
            { fn: "uniq", name: "users", field: "user_id" },
          ],
        },
      ],
      sink: {
        clickhouse: {
          connectionSecretRef: { name: "tally-clickhouse" },
          database,
          table: "replay_events",
          retentionDays: 120,
          batch: { maxRows: 2_000, maxDelay: "500ms" },
        },
      },
      deadLetter: { topic: `${topic}-dlq` },
      scaling: { minReplicas: 1, maxReplicas: 1 },
    },
  };
  const rollup = (name: string, spec: Record<string, unknown>): Manifest => ({
    apiVersion: "tally.dev/v1alpha1",
    kind: "Rollup",
    metadata: { name, namespace },
    spec: { dimensions: ["type"], retentionDays: 365, deletionPolicy: "Delete", ...spec },
  });
  return [
    pipeline,
    rollup("replay-hourly", {
      source: { kind: "Pipeline", name: "replay" },
      granularity: "1h",
      metrics: [
        { fn: "count", name: "events" },
        { fn: "sum", name: "amount", field: "value" },
        { fn: "avg", name: "mean", field: "value" },
        { fn: "max", name: "largest", field: "value" },
        { fn: "uniq", name: "users", field: "user_id" },
        { fn: "quantiles", name: "spread", field: "value", quantiles: [0.5, 0.9] },
      ],
    }),
    rollup("replay-daily", {
      source: { kind: "Rollup", name: "replay-hourly" },
      granularity: "1d",
      metrics: [
        { fn: "count", name: "events" },
        { fn: "sum", name: "amount", field: "value" },
        { fn: "max", name: "largest", field: "value" },
        { fn: "uniq", name: "users", field: "user_id" },
      ],
    }),
  ];
}

interface RollupRow {
  bucket: number;
  type: string;
  events: number;
  amount: number;
  mean?: number;
  largest: number;
  users: number;
  spread?: number[];
}

async function readRollup(
  database: string,
  rollup: string,
  withAll: boolean,
): Promise<Map<string, RollupRow>> {
  const table = await kubectlOk([
    "get",
    "rollup",
    rollup,
    "-n",
    ctx.namespace,
    "-o",
    "jsonpath={.status.table}",
  ]);
  const extra = withAll ? ", avgMerge(mean) AS mean, quantilesMerge(0.5, 0.9)(spread) AS spread" : "";
  const result = await clickhouse.query({
    query: `SELECT toUnixTimestamp(bucket) * 1000 AS bucket, toString(type) AS type, countMerge(events) AS events, sumMerge(amount) AS amount, maxMerge(largest) AS largest, uniqMerge(users) AS users${extra} FROM {db:Identifier}.{table:Identifier} GROUP BY bucket, type`,
    query_params: { db: database, table },
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return new Map((await result.json<RollupRow>()).map((r) => [`${r.bucket}|${r.type}`, r]));
}

function compareExact(label: string, got: Map<string, RollupRow>, want: Map<string, BucketTruth>): void {
  expect([...got.keys()].sort(), `${label}: buckets`).toEqual([...want.keys()].sort());
  for (const [key, w] of want) {
    const g = got.get(key);
    expect(g?.events, `${label} ${key}: count`).toBe(w.count);
    expect(g?.amount ?? Number.NaN, `${label} ${key}: sum`).toBeCloseTo(w.sum, 6);
    expect(g?.largest, `${label} ${key}: max`).toBe(w.max);
    // ClickHouse's uniq is exact below 65,536 distinct values; a bucket here has at most 30 users.
    expect(g?.users, `${label} ${key}: uniq`).toBe(w.users.size);
  }
}

function allRowsCount(truth: { rows: readonly (readonly unknown[])[] }): number {
  return truth.rows.reduce((n, rows) => n + rows.length, 0);
}

describe("replaying history through a Pipeline, an hourly and a daily Rollup", () => {
  it("matches a ground truth computed from the records, windows closed by idleness included", async () => {
    const { namespace } = ctx;
    const database = databaseFor(namespace);
    const topic = `replay-${namespace}`;
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: partitions },
        { topic: `${topic}-dlq`, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();

    const objects = manifests(namespace, database, topic);
    await kubectlOk(["apply", "-f", "-"], asList(objects));
    await waitForCondition("pipeline", namespace, "replay", "Ready", "True", { timeoutMs: 120_000 });
    for (const name of ["replay-hourly", "replay-daily"])
      await waitForCondition("rollup", namespace, name, "Ready", "True", { timeoutMs: 120_000 });

    // The defaults the API server filled in are the semantics the ground truth must use.
    const applied = JSON.parse(
      await kubectlOk(["get", "pipeline", "replay", "-n", namespace, "-o", "json"]),
    ) as Manifest;
    const plan = planOf(JSON.stringify(applied));
    const horizonMs = plan.dedup?.horizonMs ?? 0;
    expect(horizonMs, "the default dedup horizon").toBeGreaterThan(0);

    // Ten weeks ending at least an hour ago, 20,000 records over six partitions. The start is a day
    // boundary, so every run puts the same events in the same buckets (and the sketches see the same sets).
    const startMs = Math.floor((Date.now() - 70 * DAY) / DAY) * DAY;
    const records = generateReplay({
      seed: 20_000,
      partitions,
      perPartition: 3_334,
      startMs,
      spanMs: 70 * DAY - HOUR,
      disorderMs: Math.min(3_000, plan.eventTime.maxOutOfOrdernessMs),
    });
    const truth = replayTruth(records, {
      horizonMs,
      maxOutOfOrdernessMs: plan.eventTime.maxOutOfOrdernessMs,
      allowedLatenessMs: plan.windows[0]?.allowedLatenessMs ?? 0,
      windowMs: HOUR,
    });
    expect(truth.keptDuplicates, "duplicates beyond the horizon").toBeGreaterThan(100);
    expect(truth.droppedDuplicates, "duplicates inside the horizon").toBeGreaterThan(100);
    expect(truth.invalid.length).toBeGreaterThan(100);
    await produce(topic, records);
    console.log(
      `[replay] produced ${records.flat().length} records: ${allRowsCount(truth)} raw rows expected, ` +
        `${truth.droppedDuplicates} duplicates dropped, ${truth.keptDuplicates} beyond the horizon, ` +
        `${truth.invalid.length} invalid, ${truth.lateForWindows.size} too late for the windows`,
    );

    // Raw rows: every event that passed deduplication, far duplicates twice.
    const allRows = truth.rows.flat();
    await eventually(
      async () => {
        const [row] = await (
          await clickhouse.query({
            query: "SELECT count() AS n FROM {db:Identifier}.replay_events",
            query_params: { db: database },
            format: "JSONEachRow",
          })
        ).json<{ n: string }>();
        expect(Number(row?.n), "raw rows").toBe(allRows.length);
      },
      240_000,
      2_000,
    );

    const hourly = await readRollup(database, "replay-hourly", true);
    compareExact("hourly rollup", hourly, bucketTruth(allRows, HOUR));
    for (const [key, w] of bucketTruth(allRows, HOUR)) {
      const g = hourly.get(key);
      expect(g?.mean ?? Number.NaN, `hourly ${key}: avg`).toBeCloseTo(w.sum / w.count, 6);
      const [p50, p90] = g?.spread ?? [];
      // ClickHouse's quantiles keep every value below 8,192 per state, so they are the interpolated ones.
      expect(p50 ?? Number.NaN, `hourly ${key}: p50`).toBeCloseTo(exactQuantile(w.values, 0.5).value, 4);
      expect(p90 ?? Number.NaN, `hourly ${key}: p90`).toBeCloseTo(exactQuantile(w.values, 0.9).value, 4);
    }
    compareExact(
      "daily rollup",
      await readRollup(database, "replay-daily", false),
      bucketTruth(allRows, DAY),
    );

    // Dead letters: every invalid record once, and every row too late for the windows in the late output.
    const letters = await eventually(async () => {
      const read = await readDeadLetters(`${topic}-dlq`);
      expect(read.filter((l) => l.kind !== "late").length).toBe(truth.invalid.length);
      return read;
    }, 60_000);
    expect(
      letters
        .filter((l) => l.kind !== "late")
        .map((l) => `${l.partition}:${l.offset}`)
        .sort(),
    ).toEqual(truth.invalid.map((i) => `${i.partition}:${i.offset}`).sort());

    // Windows: all of them, the last ones of each partition closed by idleness once the stream stopped.
    const spec = plan.windows[0];
    if (spec === undefined) throw new Error("the pipeline has no window");
    const wantWindows = bucketTruth(truth.windowEvents, HOUR);
    const windows = await eventually(
      async () => {
        const partials = await readWindowPartials(clickhouse, plan, "hourly");
        const merged = combinePartials(spec, partials);
        expect(merged.length, "closed windows").toBe(wantWindows.size);
        // Every partition writes its share of the last windows at its own idle advance: a window exists
        // once the first share is in, so wait for all of them (the counts add up) before comparing.
        const events = merged.reduce((n, w) => n + (w.results.events ?? 0), 0);
        const wanted = [...wantWindows.values()].reduce((n, w) => n + w.count, 0);
        expect(events, "events in the closed windows").toBe(wanted);
        return merged;
      },
      idleTimeoutMs + 90_000,
      1_000,
    );
    const late = letters.filter((l) => l.kind === "late").map((l) => `${l.partition}:${l.offset}`);
    expect(late.sort()).toEqual([...truth.lateForWindows].sort());
    let worstUniq = 0;
    for (const w of windows) {
      const key = `${w.windowStart}|${String(w.groupKey[0])}`;
      const want = wantWindows.get(key);
      expect(want, `window ${key} expected`).toBeDefined();
      if (want === undefined) continue;
      expect(w.windowEnd - w.windowStart).toBe(HOUR);
      expect(w.results.events, `window ${key}: count`).toBe(want.count);
      expect(w.results.amount ?? Number.NaN, `window ${key}: sum`).toBeCloseTo(want.sum, 6);
      expect(w.results.largest, `window ${key}: max`).toBe(want.max);
      // The windows' uniq is a HyperLogLog (precision 14: standard error 1.04/√16384 ≈ 0.81%); at a few
      // dozen users its error is register collisions, each one user fewer. Allowed: three standard errors,
      // at least two users. A sketch that double-counted or missed a partition would be far outside.
      const users = want.users.size;
      worstUniq = Math.max(worstUniq, Math.abs((w.results.users ?? 0) - users));
      expect(Math.abs((w.results.users ?? 0) - users), `window ${key}: uniq of ${users}`).toBeLessThanOrEqual(
        Math.max(2, Math.ceil(3 * (1.04 / Math.sqrt(16_384)) * users)),
      );
    }
    console.log(
      `[replay] ${hourly.size} hourly and ${bucketTruth(allRows, DAY).size} daily rollup rows, ${windows.length} closed windows ` +
        `matched; windows' uniq off by at most ${worstUniq}`,
    );
  }, 600_000);
});
