/**
 * Shared by the runtime's integration tests (test/integration/runtime-*.int.test.ts) and benchmark: unique
 * topics and tables per test, producing a generated clickstream, running the pipeline worker as a child
 * process (exactly as a pod or a developer runs it), waiting until it has committed everything, and the
 * ground-truth check that every fault test ends with: nothing lost, nothing counted twice.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import kafkajs from "kafkajs";
import { parse, stringify } from "yaml";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import type { RollupSpec } from "../../api/v1alpha1/rollup.js";
import { formatProblems, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { renderMetricColumn, renderRollupDdl } from "../../contracts/clickhouse/rollup-ddl.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import {
  decodeWindowPartialRow,
  renderWindowPartialsQuery,
  renderWindowTableDdl,
  type WindowPartialRow,
} from "../../contracts/clickhouse/window-table-ddl.js";
import { parseCommitMetadata } from "../../contracts/kafka/commit-metadata.js";
import { readLiveWindows, redisPrefix } from "../../contracts/redis/live-windows.js";
import {
  type CombinedWindow,
  combinePartials,
  foldResults,
  liveWindows,
  type WindowResult,
  type WindowUpsert,
} from "../../contracts/windows/window-results.js";
import { WindowOperator } from "../../runtime/core/window-operator.js";
import { compilePipelinePlan, type PipelinePlan } from "../../runtime/pipeline/pipeline-plan.js";
import { deadLetterHeaders } from "../../runtime/sinks/dead-letter-sink.js";
import { runtimeConfigFromManifest } from "../../runtime/worker/settings.js";
import { e2eTarget } from "../e2e/target.js";
import { clickhouseUrl, kafkaBrokers, redisUrl, stackConfig, stackPaths } from "../env/config.js";
import {
  type ClickEvent,
  type ExpectedOutcome,
  expectedOutcome,
  generateClickstream,
  type ProducedMessage,
} from "./clickstream-generator.js";
import { eventually } from "./eventually.js";

const repoRoot = stackConfig.repoRoot;
const execFileAsync = promisify(execFile);

export interface RuntimeTestNames {
  readonly id: string;
  readonly namespace: string;
  readonly pipeline: string;
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly table: string;
  readonly consumerGroup: string;
}

export function runtimeTestNames(label: string, namespace = "rt"): RuntimeTestNames {
  const id = randomUUID().replace(/-/g, "").slice(0, 8);
  return {
    id,
    namespace,
    pipeline: `${label}-${id}`,
    topic: `rt-${label}-${id}`,
    deadLetterTopic: `rt-${label}-${id}-dlq`,
    table: `rt_${label.replace(/-/g, "_")}_${id}`,
    consumerGroup: `rt-${label}-${id}`,
  };
}

export function kafkaClient(clientId = "tally-runtime-test"): kafkajs.Kafka {
  return new kafkajs.Kafka({
    brokers: [...e2eTarget.host.kafkaBrokers],
    clientId,
    logLevel: kafkajs.logLevel.NOTHING,
  });
}

export function clickhouseClient(): ClickHouseClient {
  return createClient({
    url: e2eTarget.host.clickhouseUrl,
    username: stackConfig.clickhouseUser,
    password: stackConfig.clickhousePassword,
    request_timeout: 60_000,
  });
}

/** The example pipeline, pointed at this test's topic, table and group; sessions shortened to fit a test. */
export function pipelineManifest(
  names: RuntimeTestNames,
  edit: (spec: PipelineSpec) => void = () => {},
): string {
  const doc = parse(readFileSync(resolve(repoRoot, "examples", "clickstream-pipeline.yaml"), "utf8")) as {
    metadata: { name: string; namespace: string };
    spec: PipelineSpec;
  };
  doc.metadata = { name: names.pipeline, namespace: names.namespace };
  const spec = doc.spec;
  // The example names the stack's default address; point it at the stack actually running.
  spec.source.kafka.brokers = [...kafkaBrokers];
  spec.source.kafka.topics = [names.topic];
  spec.source.kafka.consumerGroup = names.consumerGroup;
  spec.sink.clickhouse.table = names.table;
  spec.sink.clickhouse.batch = { maxRows: 500, maxDelay: "300ms" };
  spec.deadLetter = { topic: names.deadLetterTopic };
  spec.windows = spec.windows?.map((w) => (w.type === "session" ? { ...w, gap: "2m" } : w));
  // The ground truth here fires windows by event time (each partition's sentinel); an idle partition
  // would also close its last windows after idleTimeout, at a moment that depends on how long the test
  // runs. Idle closing has tests of its own (runtime-idle-windows, replay-ground-truth).
  spec.eventTime.idleTimeout = "1h";
  edit(spec);
  return stringify(doc);
}

export function writeManifest(manifest: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tally-runtime-test-"));
  const path = join(dir, "pipeline.yaml");
  writeFileSync(path, manifest);
  return path;
}

export function planOf(manifest: string): PipelinePlan {
  return compilePipelinePlan(runtimeConfigFromManifest(manifest, "test manifest"), () => {
    throw new Error("no schema references in tests");
  });
}

export async function createTopics(names: RuntimeTestNames, partitions: number): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        { topic: names.topic, numPartitions: partitions },
        { topic: names.deadLetterTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

export { produce } from "./kafka-produce.js";

/**
 * Produces the messages as a live stream: each partition's messages in `chunks` slices, one slice of
 * every partition at a time with `pauseMs` between, so a running worker cuts batches by time mid-stream.
 */
export async function produceGradually(
  topic: string,
  partitions: readonly (readonly ProducedMessage[])[],
  chunks: number,
  pauseMs: number,
): Promise<void> {
  const producer = kafkaClient().producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (let k = 0; k < chunks; k++) {
      for (const messages of partitions) {
        const size = Math.ceil(messages.length / chunks);
        const slice = messages.slice(k * size, (k + 1) * size);
        if (slice.length === 0) continue;
        await producer.send({
          topic,
          acks: -1,
          messages: slice.map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
        });
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
}

/** Creates the raw and window tables and a minute rollup on the raw table (before the worker inserts). */
export async function createTables(
  clickhouse: ClickHouseClient,
  plan: PipelinePlan,
  names: RuntimeTestNames,
): Promise<RollupCheck> {
  for (const statement of [
    ...renderRawTableDdl(plan.spec).statements,
    ...renderWindowTableDdl(plan.spec).statements,
  ]) {
    await clickhouse.command({ query: statement });
  }
  const rollup = parseRollup(plan, names);
  for (const statement of [rollup.ddl.createTable, rollup.ddl.createView])
    await clickhouse.command({ query: statement });
  return rollup;
}

interface RollupCheck {
  readonly ddl: ReturnType<typeof renderRollupDdl>;
  readonly spec: RollupSpec;
}

function parseRollup(plan: PipelinePlan, names: RuntimeTestNames): RollupCheck {
  const docs = readFileSync(resolve(repoRoot, "examples", "clickstream-rollups.yaml"), "utf8").split(
    /^---$/m,
  );
  const first = parse(docs[0] ?? "") as { spec: unknown };
  const validated = validateRollupSpec(first.spec);
  if (!validated.ok) throw new Error(formatProblems(validated.problems));
  const spec = validated.value;
  const ddl = renderRollupDdl({
    namespace: names.namespace,
    name: `minute-${names.id}`,
    spec,
    version: 1,
    raw: {
      database: plan.spec.sink.clickhouse.database,
      table: plan.spec.sink.clickhouse.table,
      eventTimeField: plan.eventTime.field,
      fields: new Map(plan.spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }])),
    },
    cutoff: new Date(0),
  });
  return { ddl, spec };
}

// ---------------------------------------------------------------------------------------------------------------
// The worker as a child process
// ---------------------------------------------------------------------------------------------------------------

interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class WorkerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<WorkerExit>;
  private exitValue: WorkerExit | undefined;

  private constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") this.lines.push(line);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.exited = new Promise((resolveExit) =>
      child.on("exit", (code, signal) => {
        this.exitValue = { code, signal };
        resolveExit(this.exitValue);
      }),
    );
  }

  static start(
    configPath: string,
    label: string,
    env: Record<string, string> = {},
    args: string[] = ["--create-tables"],
    /** Another checkout's runtime (benchmarks comparing two builds); this one by default. */
    checkout = repoRoot,
  ): WorkerProcess {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "runtime/worker/main.ts", "--config", configPath, ...args],
      {
        cwd: checkout,
        env: {
          ...process.env,
          TALLY_CLICKHOUSE_URL: clickhouseUrl,
          TALLY_CLICKHOUSE_USERNAME: stackConfig.clickhouseUser,
          TALLY_CLICKHOUSE_PASSWORD: stackConfig.clickhousePassword,
          TALLY_REDIS_URL: redisUrl,
          TALLY_KAFKA_BROKERS: kafkaBrokers.join(","),
          TALLY_METRICS_PORT: "0",
          TALLY_METRICS_HOST: "127.0.0.1",
          TALLY_POD_NAME: label,
          TALLY_LOG_LEVEL: "info",
          // A killed worker leaves the group after this; short, so fault tests do not wait 30 s for it.
          TALLY_KAFKA_SESSION_TIMEOUT_MS: "8000",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    return new WorkerProcess(child, label);
  }

  get exit(): WorkerExit | undefined {
    return this.exitValue;
  }

  async waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return eventually(
      async () => {
        const line = this.lines.find((l) => pattern.test(l));
        if (line === undefined) {
          if (this.exitValue !== undefined)
            throw new Error(
              `${this.label} exited (${JSON.stringify(this.exitValue)}) before logging ${pattern}:\n${this.tail()}`,
            );
          throw new Error(`${this.label} has not logged ${pattern} yet`);
        }
        return line;
      },
      timeoutMs,
      100,
    );
  }

  async metricsPort(): Promise<number> {
    const line = await this.waitForLog(/"msg":"pipeline worker started"/);
    const port = (JSON.parse(line) as { metricsPort?: unknown }).metricsPort;
    if (typeof port !== "number") throw new Error(`${this.label}: no metrics port in ${line}`);
    return port;
  }

  /** The value of a metric (summed over label sets), from /metrics. */
  async metric(name: string): Promise<number> {
    const port = await this.metricsPort();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(" ").at(-1));
    }
    return sum;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(timeoutMs = 30_000): Promise<WorkerExit> {
    if (this.exitValue !== undefined) return this.exitValue;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  tail(lines = 30): string {
    return this.lines.slice(-lines).join("\n");
  }
}

/** Runs test/env/stack.ts to stop or start one service of the local stack. */
export function stackCommand(action: "up" | "down", service: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "test/env/stack.ts", action, service],
      { cwd: repoRoot, timeout: 90_000 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`stack ${action} ${service}: ${stderr || stdout || error.message}`))
          : resolvePromise(),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting and reading back
// ---------------------------------------------------------------------------------------------------------------

/** Waits until the group has committed every partition's end offset with no batch in flight. */
export async function waitForCommitted(
  names: RuntimeTestNames,
  ends: readonly number[],
  timeoutMs = 90_000,
): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    await eventually(
      async () => {
        const [offsets] = await admin.fetchOffsets({ groupId: names.consumerGroup, topics: [names.topic] });
        const got = ends.map((_, p) => offsets?.partitions.find((x) => x.partition === p));
        const state = got.map(
          (g) => `${g?.offset ?? "-"}${parseCommitMetadata(g?.metadata, "test")?.inflight ? "*" : ""}`,
        );
        if (
          !got.every(
            (g, p) =>
              g !== undefined &&
              Number(g.offset) === ends[p] &&
              parseCommitMetadata(g.metadata, "test")?.inflight === undefined,
          )
        ) {
          throw new Error(`committed ${state.join(",")} (* in flight), want ${ends.join(",")}`);
        }
      },
      timeoutMs,
      250,
    );
  } finally {
    await admin.disconnect();
  }
}

interface RawRow {
  readonly event_id: string;
  readonly user_id: string;
  readonly session_id: string | null;
  readonly type: string;
  readonly url: string | null;
  readonly ts: number;
  readonly latency_ms: number | null;
  readonly value: number | null;
  readonly _partition: number;
  readonly _offset: number;
}

export async function readRawRows(clickhouse: ClickHouseClient, plan: PipelinePlan): Promise<RawRow[]> {
  const table = qualifiedName(plan.spec.sink.clickhouse.database, plan.spec.sink.clickhouse.table, "test");
  const result = await clickhouse.query({
    query: `SELECT event_id, user_id, session_id, toString(type) AS type, url, toUnixTimestamp64Milli(ts) AS ts, latency_ms, value, _partition, _offset FROM ${table} ORDER BY _partition, _offset`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return result.json<RawRow>();
}

/** Every window's partition shares from the window table (FINAL: the latest version of each). */
export async function readWindowPartials(
  clickhouse: ClickHouseClient,
  plan: PipelinePlan,
  window: string,
): Promise<WindowUpsert[]> {
  const result = await clickhouse.query({
    query: renderWindowPartialsQuery(plan.spec),
    query_params: { window, from: -8.64e15, to: 8.64e15 },
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await result.json<WindowPartialRow>()).map(decodeWindowPartialRow);
}

interface DeadLetterRecord {
  readonly partition: number;
  readonly offset: number;
  readonly kind: string;
  readonly error: string;
  readonly window: string | undefined;
  readonly topic: string;
}

/**
 * Every committed record in the dead-letter topic, read as its consumers should (read_committed) by the
 * reference Kafka client (java/DeadLetterReader.java, run from source with the stack's Kafka jars):
 * kafkajs' read_committed lets aborted records through when transactions end in another order than they
 * began, which a crash produces.
 */
export async function readDeadLetters(topic: string): Promise<DeadLetterRecord[]> {
  const reader = resolve(import.meta.dirname, "java/DeadLetterReader.java");
  const { stdout } = await execFileAsync(
    "java",
    ["-cp", `${stackPaths.kafkaLibs}/*`, reader, e2eTarget.host.kafkaBrokers.join(","), topic],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return stdout
    .split("\n")
    .filter((line) => line.startsWith('{"tally.'))
    .map((line) => {
      const h = JSON.parse(line) as Record<string, string | undefined>;
      return {
        topic: h[deadLetterHeaders.topic] ?? "",
        partition: Number(h[deadLetterHeaders.partition]),
        offset: Number(h[deadLetterHeaders.offset]),
        kind: h[deadLetterHeaders.kind] ?? "",
        error: h[deadLetterHeaders.error] ?? "",
        window: h[deadLetterHeaders.window],
      };
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Ground truth
// ---------------------------------------------------------------------------------------------------------------

function toRow(e: ClickEvent): Record<string, string | number | null> {
  return {
    event_id: e.event_id,
    user_id: e.user_id,
    session_id: e.session_id,
    type: e.type,
    url: e.url,
    ts: e.ts,
    latency_ms: e.latency_ms,
    value: e.value,
  };
}

interface ReferenceWindows {
  /** Per window name, the windows merged over partitions. */
  readonly combined: ReadonlyMap<string, CombinedWindow[]>;
  /** `partition:offset:window` of every event too late for a window. */
  readonly lateDrops: ReadonlySet<string>;
}

/**
 * What the windows must hold, from the expected raw rows: each partition's events in offset order
 * through the core window operators on that partition's watermark, fired up to its final watermark,
 * merged over partitions. (The core is unit-tested on its own; this checks that the runtime feeds it
 * every event exactly once, in the right order, whatever crashed in between.)
 */
function referenceWindows(plan: PipelinePlan, expected: ExpectedOutcome): ReferenceWindows {
  const lateDrops = new Set<string>();
  const perWindow = new Map<string, WindowUpsert[]>();
  expected.rows.forEach((rows, partition) => {
    const operators = plan.windows.map((spec) => new WindowOperator(spec));
    const results: WindowResult[] = [];
    let newest = Number.NEGATIVE_INFINITY;
    for (const { offset, event } of rows) {
      newest = Math.max(newest, event.ts);
      const watermark = newest - plan.eventTime.maxOutOfOrdernessMs;
      for (const op of operators) {
        const outcome = op.ingest({ timestampMs: event.ts, fields: toRow(event) }, watermark);
        if (outcome.kind === "late") lateDrops.add(`${partition}:${offset}:${op.spec.name}`);
      }
    }
    for (const op of operators) results.push(...op.advance(newest - plan.eventTime.maxOutOfOrdernessMs));
    for (const upsert of liveWindows(foldResults(results))) {
      const list = perWindow.get(upsert.windowName) ?? [];
      list.push(upsert);
      perWindow.set(upsert.windowName, list);
    }
  });
  const combined = new Map<string, CombinedWindow[]>();
  for (const spec of plan.windows)
    combined.set(spec.name, combinePartials(spec, perWindow.get(spec.name) ?? []));
  return { combined, lateDrops };
}

/** Tumbling counts per (window start, type), computed by hand: a second, independent reference. */
function bruteForceMinuteCounts(plan: PipelinePlan, expected: ExpectedOutcome): Map<string, number> {
  const spec = plan.windows.find((w) => w.type === "tumbling");
  if (spec === undefined || spec.type !== "tumbling") throw new Error("no tumbling window");
  const counts = new Map<string, number>();
  for (const rows of expected.rows) {
    let newest = Number.NEGATIVE_INFINITY;
    const finals =
      rows.reduce((m, r) => Math.max(m, r.event.ts), Number.NEGATIVE_INFINITY) -
      plan.eventTime.maxOutOfOrdernessMs;
    for (const { event } of rows) {
      newest = Math.max(newest, event.ts);
      const watermark = newest - plan.eventTime.maxOutOfOrdernessMs;
      const start = Math.floor(event.ts / spec.sizeMs) * spec.sizeMs;
      const end = start + spec.sizeMs;
      if (end + spec.allowedLatenessMs <= watermark) continue; // too late
      if (end > finals) continue; // not fired by the end of the input
      const key = `${start}|${event.type}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

function comparable(windows: readonly CombinedWindow[]) {
  return windows.map((w) => ({
    start: w.windowStart,
    end: w.windowEnd,
    key: w.groupKey,
    results: w.results,
  }));
}

interface GroundTruthContext {
  readonly names: RuntimeTestNames;
  readonly plan: PipelinePlan;
  readonly clickhouse: ClickHouseClient;
  /** The minute rollup (the example's first) over the raw table: where its table is. */
  readonly rollup: { readonly ddl: Pick<RollupCheck["ddl"], "database" | "table"> };
  readonly produced: readonly (readonly ProducedMessage[])[];
  readonly expected: ExpectedOutcome;
  /** Check the live windows in Redis too (off while a test keeps Redis away). */
  readonly checkRedis: boolean;
}

/** Nothing lost, nothing counted twice: raw rows, windows (merged over partitions), rollup, dead letters, Redis. */
export async function checkGroundTruth(ctx: GroundTruthContext): Promise<void> {
  // Imported here so the benchmark can use this module outside vitest.
  const { expect } = await import("vitest");
  const { plan, clickhouse, expected } = ctx;

  // Raw rows: exactly the expected events, each once, with their values and provenance.
  const raw = await readRawRows(clickhouse, plan);
  const want = expected.rows.flatMap((rows, partition) =>
    rows.map(({ offset, event }) => ({ ...toRow(event), _partition: partition, _offset: offset })),
  );
  expect(raw.length, "raw rows").toBe(want.length);
  expect(new Set(raw.map((r) => r.event_id)).size, "distinct event ids").toBe(want.length);
  expect(raw).toEqual(want);

  // Windows, merged over partitions, against the reference and (for counts) a brute-force count.
  const reference = referenceWindows(plan, expected);
  for (const spec of plan.windows) {
    expect(
      reference.combined.get(spec.name)?.length ?? 0,
      `reference windows of ${spec.name}`,
    ).toBeGreaterThan(0);
    const partials = await readWindowPartials(clickhouse, plan, spec.name);
    const merged = combinePartials(spec, partials);
    expect(comparable(merged), `window ${spec.name}`).toEqual(
      comparable(reference.combined.get(spec.name) ?? []),
    );
  }
  const minute = plan.windows.find((w) => w.type === "tumbling");
  if (minute !== undefined) {
    const merged = combinePartials(minute, await readWindowPartials(clickhouse, plan, minute.name));
    const counts = new Map(
      merged.map((w) => [`${w.windowStart}|${String(w.groupKey[0])}`, w.results.events ?? 0]),
    );
    expect(counts, "minute counts by hand").toEqual(bruteForceMinuteCounts(plan, expected));
  }

  // The rollup (a materialized view on the raw table): counts and revenue per minute, type and url.
  await checkRollup(ctx, expect);

  // Dead letters: every invalid record with its reason; every late drop in the late side output.
  // Each exactly once, also after crashes and replays (read_committed).
  const letters = await readDeadLetters(ctx.names.deadLetterTopic);
  const invalid = new Map<string, DeadLetterRecord>();
  const late = new Set<string>();
  const duplicates: string[] = [];
  for (const l of letters) {
    expect(l.topic).toBe(ctx.names.topic);
    const key = l.kind === "late" ? `${l.partition}:${l.offset}:${l.window}` : `${l.partition}:${l.offset}`;
    if (late.has(key) || invalid.has(key)) duplicates.push(`${key}:${l.kind}`);
    if (l.kind === "late") late.add(key);
    else invalid.set(key, l);
  }
  expect(duplicates, "dead letters written more than once").toEqual([]);
  expect([...invalid.keys()].sort(), "invalid records in the dead-letter topic").toEqual(
    expected.invalid.map((i) => `${i.partition}:${i.offset}`).sort(),
  );
  for (const i of expected.invalid) {
    const letter = invalid.get(`${i.partition}:${i.offset}`);
    expect(letter?.kind, `dead letter ${i.partition}:${i.offset}`).toBe(i.kind);
    expect(letter?.error.length ?? 0).toBeGreaterThan(0);
  }
  expect([...late].sort(), "late side output").toEqual([...reference.lateDrops].sort());

  if (ctx.checkRedis) await checkRedis(ctx, reference, expect);
}

type Expect = typeof import("vitest").expect;

async function checkRollup(ctx: GroundTruthContext, expect: Expect): Promise<void> {
  const { rollup, plan, expected, clickhouse } = ctx;
  const fields = new Map(plan.spec.fields.map((f) => [f.name, { type: f.type, nullable: f.nullable }]));
  const count = renderMetricColumn({ fn: "count", name: "events" }, fields, "test");
  const revenue = renderMetricColumn({ fn: "sum", name: "revenue", field: "value" }, fields, "test");
  const result = await clickhouse.query({
    query: `SELECT toUnixTimestamp(bucket) * 1000 AS bucket, toString(type) AS type, url, ${count.mergeFunction}(events) AS events, ${revenue.mergeFunction}(revenue) AS revenue FROM ${qualifiedName(rollup.ddl.database, rollup.ddl.table, "rollup")} GROUP BY bucket, type, url`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const got = new Map(
    (await result.json<{ bucket: number; type: string; url: string; events: number; revenue: number }>()).map(
      (r) => [`${r.bucket}|${r.type}|${r.url}`, r],
    ),
  );
  const want = new Map<string, { events: number; revenue: number }>();
  for (const rows of expected.rows) {
    for (const { event } of rows) {
      const key = `${Math.floor(event.ts / 60_000) * 60_000}|${event.type}|${event.url}`;
      const entry = want.get(key) ?? { events: 0, revenue: 0 };
      entry.events++;
      entry.revenue += event.value ?? 0;
      want.set(key, entry);
    }
  }
  expect([...got.keys()].sort(), "rollup buckets").toEqual([...want.keys()].sort());
  for (const [key, w] of want) {
    const g = got.get(key);
    expect(g?.events, `rollup events ${key}`).toBe(w.events);
    expect(g?.revenue ?? 0, `rollup revenue ${key}`).toBeCloseTo(w.revenue, 6);
  }
}

async function checkRedis(
  ctx: GroundTruthContext,
  reference: ReferenceWindows,
  expect: Expect,
): Promise<void> {
  const redis = new Redis(e2eTarget.host.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const prefix = redisPrefix(ctx.names.namespace, ctx.names.pipeline);
    await eventually(
      async () => {
        for (const spec of ctx.plan.windows) {
          const live = combinePartials(
            spec,
            await readLiveWindows(redis, prefix, spec.name, -8.64e15, 8.64e15),
          );
          expect(comparable(live), `live window ${spec.name} in Redis`).toEqual(
            comparable(reference.combined.get(spec.name) ?? []),
          );
        }
      },
      30_000,
      500,
    );
  } finally {
    redis.disconnect();
  }
}

interface RuntimeScenario {
  readonly names: RuntimeTestNames;
  readonly manifest: string;
  readonly plan: PipelinePlan;
  readonly produced: ProducedMessage[][];
  readonly expected: ExpectedOutcome;
}

/**
 * One test's pipeline (the example, renamed and optionally edited) and its generated clickstream,
 * with the ground truth computed using the pipeline's own deduplication horizon.
 */
export function runtimeScenario(
  label: string,
  traffic: {
    readonly seed: number;
    readonly partitions: number;
    readonly perPartition: number;
    readonly spacingMs?: number;
  },
  edit?: (spec: PipelineSpec) => void,
  namespace?: string,
): RuntimeScenario {
  const names = runtimeTestNames(label, namespace);
  const manifest = pipelineManifest(names, edit);
  const plan = planOf(manifest);
  const produced = generateClickstream({ ...traffic, startMs: Date.now() - 3 * 3_600_000 });
  const expected = expectedOutcome(produced, plan.dedup?.horizonMs ?? 0);
  return { names, manifest, plan, produced, expected };
}
