/**
 * The runtime's throughput, latency and memory, measured in one run against baselines of the same run:
 *
 *  - runtime.events_per_s_per_core: events through the whole path (Kafka ▶ decode ▶ validate ▶ dedup ▶
 *    CEL ▶ windows ▶ ClickHouse, offsets committed) per CPU-second of the worker process, which runs as
 *    a pod would (a child process with the example pipeline: three windows, HyperLogLog, quantiles,
 *    sessions). ClickHouse runs in its own process and is not counted.
 *  - runtime.bare_consumer_events_per_s_per_core: a kafkajs consumer that only counts the same
 *    messages (bare-consumer.ts), in its own process and measured as the worker is, per CPU-second
 *    (the client's ceiling); runtime.json_parse_events_per_s: JSON.parse of the same bytes on one core.
 *    Both run over 1,000,000 messages, from the group assignment to the last message.
 *  - runtime.raw_only_*: the same messages through the least a pipeline does (decode, validate, the
 *    raw table, dead letters), to show what the example's dedup, CEL, windows and Redis cost.
 *  - runtime.throughput_ratio_vs_bare_consumer: whole path ÷ bare consumer, both per core (target ≥ 0.5);
 *    the wall-clock rates and their ratio are printed too.
 *  - runtime.e2e_latency_p50_ms / _p99_ms: from the producer's acknowledgement to the row being in
 *    ClickHouse (its `_inserted_at`, set by the server when the insert runs), at a steady 1,000 events/s
 *    with the example's 1 s batch delay.
 *  - runtime.bytes_per_open_window_key: heap per open window key with 1,000,000 keys open (the example's
 *    per-minute aggregations — count, uniq, sum — grouped by user).
 *  - runtime.inprocess_*_events_per_s: the pipeline alone, in this process, stage by stage (where the
 *    time goes), per CPU-second after a warm-up pass.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import kafkajs from "kafkajs";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import type { WindowSpec } from "../../contracts/windows/window-spec.js";
import { WindowOperator } from "../../runtime/core/window-operator.js";
import { Enricher } from "../../runtime/enrich/enricher.js";
import { PartitionProcessor } from "../../runtime/pipeline/partition-processor.js";
import { stackConfig } from "../env/config.js";
import { generateClickstream, type ProducedMessage } from "../support/clickstream-generator.js";
import {
  clickhouseClient,
  kafkaClient,
  pipelineManifest,
  planOf,
  runtimeTestNames,
} from "../support/runtime-harness.js";
import { type BenchFigure, perSecond } from "./bench-figure.js";
import { produceBenchTopic } from "./bench-topic.js";
import { startMeasuredWorker } from "./measured-worker.js";

const execFileAsync = promisify(execFile);

const partitions = 4;
/** 1,000,000 events: long enough that JIT warm-up is a small part of either process's CPU. */
const perPartition = 250_000;

function progress(message: string): void {
  console.error(`[bench] runtime: ${message}`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/** The bare consumer (bare-consumer.ts) in its own process, like the worker. */
async function bareConsumer(topic: string, total: number): Promise<{ perCore: number; wall: number }> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "bare-consumer.ts"), topic, String(total)],
    { cwd: stackConfig.repoRoot, timeout: 300_000 },
  );
  const { counted, cpuMs, wallMs } = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
    counted: number;
    cpuMs: number;
    wallMs: number;
  };
  return { perCore: perSecond(counted, cpuMs), wall: perSecond(counted, wallMs) };
}

function jsonParse(messages: readonly ProducedMessage[]): number {
  const bytes = messages.map((m) => Buffer.from(m.value));
  const start = performance.now();
  let n = 0;
  for (const b of bytes) {
    try {
      if (JSON.parse(b.toString("utf8")) !== null) n++;
    } catch {
      n++;
    }
  }
  return perSecond(n, performance.now() - start);
}

interface Measured {
  readonly perCore: number;
  readonly wall: number;
  readonly p50: number;
  readonly p99: number;
  readonly rawOnly: { readonly perCore: number; readonly wall: number };
  readonly bare: { readonly perCore: number; readonly wall: number };
  readonly parse: number;
}

async function wholePath(): Promise<Measured> {
  const names = runtimeTestNames("bench");
  const manifest = pipelineManifest(names, (spec) => {
    spec.sink.clickhouse.batch = { maxRows: 10_000, maxDelay: "1s" };
    spec.windows = spec.windows?.map((w) => (w.type === "session" ? { ...w, gap: "30m" } : w));
  });
  const plan = planOf(manifest);
  const produced = await produceBenchTopic(names, partitions, perPartition);
  const total = produced.flat().length;
  progress(`produced ${total} events`);

  const bare = await bareConsumer(names.topic, total);
  progress(`bare consumer: ${Math.round(bare.perCore)} events/s per core`);
  const parse = jsonParse(produced.flat());
  const counts = produced.map((p) => p.length);

  // First the least a pipeline does: decode, validate, the raw table and the dead-letter topic; no
  // dedup, transforms, windows or Redis. (Before the example, whose latency run adds messages.)
  const rawNames = {
    ...runtimeTestNames("bench-raw"),
    topic: names.topic,
    deadLetterTopic: names.deadLetterTopic,
  };
  const rawOnly = await startMeasuredWorker(
    rawNames,
    pipelineManifest(rawNames, (spec) => {
      spec.sink.clickhouse.batch = { maxRows: 10_000, maxDelay: "1s" };
      spec.windows = [];
      spec.transforms = [];
      spec.dedup = undefined;
      spec.sink.redis = undefined;
    }),
    "bench-raw",
  );
  let raw: { perCore: number; wall: number };
  try {
    raw = await rawOnly.measure(counts);
    progress(`raw-only path: ${Math.round(raw.perCore)} events/s per core`);
  } finally {
    await rawOnly.worker.stop();
  }

  const example = await startMeasuredWorker(names, manifest, "bench");
  try {
    const measured = await example.measure(counts);
    progress(`whole path: ${Math.round(measured.perCore)} events/s per core`);
    const latency = await e2eLatency(
      names.topic,
      plan.spec.sink.clickhouse.database,
      plan.spec.sink.clickhouse.table,
    );
    return { ...measured, ...latency, rawOnly: raw, bare, parse };
  } finally {
    await example.worker.stop();
  }
}

/** Produces 1,000 events/s for 10 s to a running worker and reads when each became queryable. */
async function e2eLatency(
  topic: string,
  database: string,
  table: string,
): Promise<{ p50: number; p99: number }> {
  const producer = kafkaClient("tally-bench-latency").producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const acked = new Map<string, number>();
  const base = Date.now() + 3 * 3_600_000; // far ahead of the backlog's event times: never late
  for (let tick = 0; tick < 200; tick++) {
    const started = performance.now();
    const batch = Array.from({ length: 50 }, (_, i) => {
      const n = tick * 50 + i;
      return {
        partition: n % partitions,
        key: `lat-${n % 97}`,
        value: JSON.stringify({
          event_id: `lat-${n}`,
          user_id: `lat-${n % 97}`,
          type: "page_view",
          url: "/latency",
          ts: new Date(base + tick * 50).toISOString(),
          latency_ms: 1,
        }),
      };
    });
    await producer.send({ topic, acks: -1, messages: batch });
    const at = Date.now();
    for (const m of batch) acked.set(JSON.parse(m.value).event_id as string, at);
    const spent = performance.now() - started;
    if (spent < 50) await new Promise((r) => setTimeout(r, 50 - spent));
  }
  await producer.disconnect();
  progress(`latency: produced ${acked.size} events`);
  const clickhouse = clickhouseClient();
  try {
    const name = qualifiedName(database, table, "bench");
    let rows: { event_id: string; at: number }[] = [];
    for (let attempt = 0; attempt < 100 && rows.length < acked.size; attempt++) {
      await new Promise((r) => setTimeout(r, 200));
      const result = await clickhouse.query({
        query: `SELECT event_id, toUnixTimestamp64Milli(_inserted_at) AS at FROM ${name} WHERE startsWith(event_id, 'lat-')`,
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      rows = await result.json();
    }
    const latencies = rows.map((r) => r.at - (acked.get(r.event_id) ?? r.at)).sort((a, b) => a - b);
    if (latencies.length < acked.size)
      throw new Error(`only ${latencies.length} of ${acked.size} latency events arrived`);
    return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
  } finally {
    await clickhouse.close();
  }
}

/**
 * Where the time goes: the same messages through the pipeline in-process (no Kafka, no ClickHouse),
 * with the example pipeline cut down stage by stage.
 */
function inProcessStages(messages: readonly ProducedMessage[]): BenchFigure[] {
  const variants: [string, (spec: PipelineSpec) => void][] = [
    [
      "decode_map_encode",
      (spec) => {
        spec.windows = [];
        spec.transforms = [];
        spec.dedup = undefined;
        if (spec.format.type === "json") spec.format.jsonSchema = undefined;
      },
    ],
    [
      "with_schema_cel_dedup",
      (spec) => {
        spec.windows = [];
      },
    ],
    ["full_example_pipeline", () => {}],
  ];
  const input = messages.map((m) => ({
    offset: m.offset,
    key: Buffer.from(m.key),
    value: Buffer.from(m.value),
  }));
  return variants.map(([label, edit]) => {
    const plan = planOf(
      pipelineManifest(runtimeTestNames("stages"), (spec) => {
        spec.sink.clickhouse.batch = { maxRows: 10_000, maxDelay: "1s" };
        spec.windows = spec.windows?.map((w) => (w.type === "session" ? { ...w, gap: "30m" } : w));
        edit(spec);
      }),
    );
    const enricher = new Enricher([], plan.mapper);
    // The first pass warms the JIT up; the second is measured, per CPU-second of this process, after a
    // full collection so no earlier benchmark's garbage is collected on its time.
    let cpuMs = 0;
    for (let pass = 0; pass < 2; pass++) {
      const processor = new PartitionProcessor(plan, "bench", 0);
      gc();
      const cpu = process.cpuUsage();
      for (let i = 0; i < input.length; i += 500) {
        for (const prepared of processor.prepare(input.slice(i, i + 500)))
          processor.apply(prepared, enricher, 0);
      }
      processor.cut();
      const used = process.cpuUsage(cpu);
      cpuMs = (used.user + used.system) / 1000;
    }
    return {
      name: `runtime.inprocess_${label}_events_per_s`,
      value: perSecond(input.length, cpuMs),
      unit: "events/s",
    };
  });
}

function gc(): void {
  setFlagsFromString("--expose_gc");
  const collect = runInNewContext("gc") as () => void;
  collect();
  collect();
}

function bytesPerOpenWindowKey(keys: number): number {
  const spec: WindowSpec = {
    type: "tumbling",
    name: "per_user_minute",
    sizeMs: 60_000,
    groupBy: ["user_id"],
    allowedLatenessMs: 60_000,
    aggregations: [
      { fn: "count", as: "events" },
      { fn: "uniq", field: "url", as: "pages" },
      { fn: "sum", field: "value", as: "revenue" },
    ],
  };
  gc();
  const before = process.memoryUsage().heapUsed;
  const op = new WindowOperator(spec);
  const t = Date.UTC(2026, 0, 1);
  for (let i = 0; i < keys; i++) {
    op.ingest(
      {
        timestampMs: t + (i % 60_000),
        fields: { user_id: `user-${i}`, url: `/p/${i % 50}`, value: i % 100 },
      },
      t,
    );
  }
  gc();
  const used = process.memoryUsage().heapUsed - before;
  if (op.openKeyCount() !== keys) throw new Error(`expected ${keys} open keys, have ${op.openKeyCount()}`);
  return used / keys;
}

/**
 * The in-process figures alone (no stack needed), for comparing Node versions or builds:
 * `node --import tsx -e 'const m = await import("./test/bench/runtime.bench.ts"); console.log(await m.runInProcessBench())'`.
 */
export function runInProcessBench(): readonly BenchFigure[] {
  return inProcessStages(
    generateClickstream({
      seed: 7,
      partitions: 1,
      perPartition: 100_000,
      startMs: Date.now() - 6 * 3_600_000,
      spacingMs: 100,
    })[0] ?? [],
  );
}

export async function runBench(): Promise<readonly BenchFigure[]> {
  // In-process stages first, in a process not yet holding the whole path's million messages.
  const stages = runInProcessBench();
  const whole = await wholePath();
  const bytesPerKey = bytesPerOpenWindowKey(1_000_000);
  return [
    { name: "runtime.events_per_s_per_core", value: whole.perCore, unit: "events/s/core" },
    { name: "runtime.bare_consumer_events_per_s_per_core", value: whole.bare.perCore, unit: "events/s/core" },
    { name: "runtime.json_parse_events_per_s", value: whole.parse, unit: "events/s" },
    {
      name: "runtime.throughput_ratio_vs_bare_consumer",
      value: whole.perCore / whole.bare.perCore,
      unit: "ratio",
    },
    { name: "runtime.raw_only_events_per_s_per_core", value: whole.rawOnly.perCore, unit: "events/s/core" },
    {
      name: "runtime.raw_only_throughput_ratio_vs_bare_consumer",
      value: whole.rawOnly.perCore / whole.bare.perCore,
      unit: "ratio",
    },
    { name: "runtime.events_per_s_wall", value: whole.wall, unit: "events/s" },
    { name: "runtime.bare_consumer_events_per_s_wall", value: whole.bare.wall, unit: "events/s" },
    {
      name: "runtime.throughput_ratio_vs_bare_consumer_wall",
      value: whole.wall / whole.bare.wall,
      unit: "ratio",
    },
    { name: "runtime.e2e_latency_p50_ms", value: whole.p50, unit: "ms" },
    { name: "runtime.e2e_latency_p99_ms", value: whole.p99, unit: "ms" },
    { name: "runtime.bytes_per_open_window_key", value: bytesPerKey, unit: "bytes" },
    ...stages,
  ];
}
