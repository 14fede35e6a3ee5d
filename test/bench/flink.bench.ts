/**
 * The runtime against Apache Flink doing the same job on the same machine (issue 16).
 *
 * One topic is produced once (the runtime bench's clickstream: 4 partitions, seed 7, with out-of-order events,
 * producer duplicates, bots and invalid records, but no late events: Flink's Kafka source takes the minimum
 * watermark over partitions and the runtime each partition's own, so late events would be judged differently
 * and the results could not be compared exactly). Then, interleaved, at least three runs each of:
 *  - the Flink reference job (test/bench/flink/, a local MiniCluster with parallelism 1, built with Maven and
 *    cached under ~/.cache/tally/flink-bench/<hash of pom and sources>), and
 *  - the runtime worker in its bench-only mode TALLY_BENCH_DISCARD_RESULTS (windows computed, results
 *    discarded; runtime/sinks/bench-discarding-sink.ts), with the same pipeline,
 * for the example's three windows together and for each window type alone. Both measure their own process:
 * CPU of every thread from the first record decoded to the end of the input (Flink: end of input at the sink;
 * runtime: its last batch), so start-up and connecting are excluded. Both keep each window's last result;
 * before any ratio is printed, both are checked against the answers computed here from the generated events
 * (counts and sums exactly, uniq within the HLL bound, quantiles within DDSketch's 1% of the neighbouring ranks).
 *
 * Figures (medians; min/median/max on stderr): perf.flink_events_per_s_per_core,
 * perf.windows_events_per_s_per_core, perf.windows_ratio_vs_flink, and perf.{flink,windows}_<type>_… and
 * perf.windows_<type>_ratio_vs_flink for tumbling, sliding and session alone.
 *   TALLY_FLINK_BENCH_PER_PARTITION (default 250000), TALLY_FLINK_BENCH_RUNS (default 3) and
 *   TALLY_FLINK_BENCH_VARIANTS (default all,tumbling,sliding,session) shorten it while developing.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { type CombinedWindow, combinePartials } from "../../contracts/windows/window-results.js";
import type { WindowSpec } from "../../contracts/windows/window-spec.js";
import type { BenchDiscardSummary } from "../../runtime/sinks/bench-discarding-sink.js";
import { kafkaBrokers } from "../env/config.js";
import type { ClickEvent, ProducedMessage } from "../support/clickstream-generator.js";
import {
  pipelineManifest,
  planOf,
  type RuntimeTestNames,
  runtimeTestNames,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";
import type { BenchFigure } from "./bench-figure.js";
import { produceBenchTopic } from "./bench-topic.js";
import { clockTicks } from "./process-cpu.js";

const execFileAsync = promisify(execFile);
const partitions = 4;
const perPartition = Number(process.env.TALLY_FLINK_BENCH_PER_PARTITION ?? 250_000);
const runs = Math.max(1, Number(process.env.TALLY_FLINK_BENCH_RUNS ?? 3));
/** The runtime commits a partition's batch at least every maxDelay (1 s): Flink checkpoints as often. */
const checkpointMs = 1_000;
const projectDir = join(import.meta.dirname, "flink");

type Variant = "all" | "tumbling" | "sliding" | "session";
const allVariants: readonly Variant[] = ["all", "tumbling", "sliding", "session"];
const variants = allVariants.filter((v) =>
  (process.env.TALLY_FLINK_BENCH_VARIANTS ?? "all,tumbling,sliding,session").split(",").includes(v),
);

function progress(message: string): void {
  console.error(`[bench] flink: ${message}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Building the Flink job (cached by the hash of what goes into it)
// ---------------------------------------------------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The job's classpath, building it with Maven into the cache when its pom or sources changed. */
function flinkClasspath(): string {
  const inputs = [join(projectDir, "pom.xml"), ...filesUnder(join(projectDir, "src")).sort()];
  const hash = createHash("sha256");
  for (const file of inputs) hash.update(relative(projectDir, file)).update("\0").update(readFileSync(file));
  const dir = join(homedir(), ".cache", "tally", "flink-bench", hash.digest("hex").slice(0, 16));
  const classpathFile = join(dir, "target", "classpath.txt");
  if (!existsSync(classpathFile)) {
    progress(`building the reference job into ${dir}`);
    mkdirSync(dir, { recursive: true });
    cpSync(join(projectDir, "pom.xml"), join(dir, "pom.xml"));
    cpSync(join(projectDir, "src"), join(dir, "src"), { recursive: true });
    execFileSync("mvn", ["-q", "-B", "package", "-DskipTests"], { cwd: dir, stdio: "inherit" });
  }
  return `${join(dir, "target", "classes")}:${readFileSync(classpathFile, "utf8").trim()}`;
}

// ---------------------------------------------------------------------------------------------------------------
// One run of each engine
// ---------------------------------------------------------------------------------------------------------------

/** A fired window, as both engines' summaries are normalised to. */
interface Fired {
  readonly end: number;
  readonly events?: number;
  readonly revenue?: number;
  readonly users?: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
}

interface RunResult {
  readonly perCore: number;
  readonly windows: Map<string, Fired>;
}

interface FlinkSummary {
  readonly records: number;
  readonly cpuTicks: number;
  readonly windows: readonly ({ window: string; start: number; key: string } & Fired)[];
}

async function runFlink(classpath: string, topic: string, variant: Variant): Promise<RunResult> {
  const out = join(mkdtempSync(join(tmpdir(), "tally-flink-bench-")), "summary.json");
  await execFileAsync(
    "java",
    [
      "-cp",
      classpath,
      "dev.tally.bench.ReferenceJob",
      kafkaBrokers.join(","),
      topic,
      variant,
      out,
      `${checkpointMs}`,
    ],
    { timeout: 900_000, maxBuffer: 64 * 1024 * 1024 },
  );
  const summary = JSON.parse(readFileSync(out, "utf8")) as FlinkSummary;
  const windows = new Map<string, Fired>();
  for (const { window, start, key, ...fired } of summary.windows)
    windows.set(`${window}|${start}|${key}`, fired);
  return { perCore: summary.records / (summary.cpuTicks / clockTicks), windows };
}

function manifestFor(names: RuntimeTestNames, variant: Variant): string {
  return pipelineManifest(names, (spec) => {
    spec.sink.clickhouse.batch = { maxRows: 10_000, maxDelay: "1s" };
    spec.eventTime.idleTimeout = "30s"; // the example's default, as the Flink job's withIdleness
    spec.windows = (spec.windows ?? [])
      .map((w) => (w.type === "session" ? { ...w, gap: "30m" } : w))
      .filter((w) => variant === "all" || w.type === variant);
  });
}

async function runRuntime(topic: string, variant: Variant, counts: readonly number[]): Promise<RunResult> {
  const names = { ...runtimeTestNames(`flink-${variant}`), topic };
  const manifest = manifestFor(names, variant);
  const out = join(mkdtempSync(join(tmpdir(), "tally-windows-bench-")), "summary.json");
  const worker = WorkerProcess.start(
    writeManifest(manifest),
    names.pipeline,
    { TALLY_BENCH_DISCARD_RESULTS: out },
    [],
  );
  try {
    await waitForCommitted(names, counts, 900_000);
  } finally {
    await worker.stop();
  }
  const summary = JSON.parse(readFileSync(out, "utf8")) as BenchDiscardSummary;
  const windows = new Map<string, Fired>();
  for (const spec of planOf(manifest).windows) {
    const partials = summary.partials.filter((p) => p.windowName === spec.name);
    for (const combined of combinePartials(spec, partials))
      windows.set(combinedKey(combined), firedOf(spec, combined));
  }
  return { perCore: summary.messages / summary.cpuSeconds, windows };
}

function combinedKey(w: CombinedWindow): string {
  const key = w.groupKey[0];
  return `${w.windowName}|${w.windowStart}|${key === null || key === undefined ? "" : String(key)}`;
}

function firedOf(spec: WindowSpec, w: CombinedWindow): Fired {
  const number = (name: string) => {
    const value = w.results[name];
    return typeof value === "number" ? value : undefined;
  };
  return spec.type === "sliding"
    ? { end: w.windowEnd, p50: number("latency_p50"), p95: number("latency_p95"), p99: number("latency_p99") }
    : { end: w.windowEnd, events: number("events"), revenue: number("revenue"), users: number("users") };
}

// ---------------------------------------------------------------------------------------------------------------
// The answers, computed here from the generated events
// ---------------------------------------------------------------------------------------------------------------

interface Expected {
  readonly events?: number;
  readonly revenue?: number;
  readonly users?: number;
  /** Sorted latencies, for the quantile bounds. */
  readonly latencies?: readonly number[];
  readonly end: number;
}

const minuteMs = 60_000;

/** Every window the example fires on these events, below `cutoffMs` (the sentinels' windows stay open in the runtime). */
function expectedWindows(
  produced: readonly ProducedMessage[][],
  variant: Variant,
  cutoffMs: number,
): Map<string, Expected> {
  const accepted: ClickEvent[] = produced
    .flat()
    .filter(
      (m) =>
        (m.kind === "valid" || m.kind === "out-of-order" || m.kind === "sentinel") && m.event !== undefined,
    )
    .flatMap((m) => (m.event === undefined ? [] : [m.event]));
  const out = new Map<string, Expected>();
  const want = (type: Variant) => variant === "all" || variant === type;
  if (want("tumbling")) {
    const cells = new Map<
      string,
      { start: number; type: string; events: number; revenue: number; users: Set<string> }
    >();
    for (const e of accepted) {
      const start = Math.floor(e.ts / minuteMs) * minuteMs;
      const id = `events_per_minute|${start}|${e.type}`;
      const cell = cells.get(id) ?? { start, type: e.type, events: 0, revenue: 0, users: new Set<string>() };
      cell.events++;
      if (e.value !== null) cell.revenue = Math.round((cell.revenue + e.value) * 100) / 100;
      cell.users.add(e.user_id);
      cells.set(id, cell);
    }
    for (const [id, c] of cells)
      if (c.start + minuteMs <= cutoffMs)
        out.set(id, { events: c.events, revenue: c.revenue, users: c.users.size, end: c.start + minuteMs });
  }
  if (want("sliding")) {
    const cells = new Map<string, { start: number; latencies: number[] }>();
    for (const e of accepted) {
      const last = Math.floor(e.ts / minuteMs) * minuteMs;
      for (let start = last - 4 * minuteMs; start <= last; start += minuteMs) {
        const id = `page_latency|${start}|${e.url}`;
        const cell = cells.get(id) ?? { start, latencies: [] };
        cell.latencies.push(e.latency_ms);
        cells.set(id, cell);
      }
    }
    for (const [id, c] of cells)
      if (c.start + 5 * minuteMs <= cutoffMs)
        out.set(id, { latencies: c.latencies.sort((a, b) => a - b), end: c.start + 5 * minuteMs });
  }
  if (want("session")) {
    const gap = 30 * minuteMs;
    const byUser = new Map<string, number[]>();
    for (const e of accepted) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e.ts]);
    for (const [user, times] of byUser) {
      times.sort((a, b) => a - b);
      let start = times[0] ?? 0;
      let count = 0;
      let last = start;
      const close = () => {
        if (last + gap <= cutoffMs) out.set(`sessions|${start}|${user}`, { events: count, end: last + gap });
      };
      for (const t of times) {
        if (t >= last + gap) {
          close();
          start = t;
          count = 0;
        }
        count++;
        last = t;
      }
      close();
    }
  }
  return out;
}

/** Quantile q's interval under DDSketch's relative accuracy: between ranks ⌊q(n−1)⌋ and ⌈q(n−1)⌉, ±1%. */
function quantileBounds(sorted: readonly number[], q: number): [number, number] {
  const position = q * (sorted.length - 1);
  const low = sorted[Math.floor(position)] ?? Number.NaN;
  const high = sorted[Math.ceil(position)] ?? Number.NaN;
  return [low * 0.99 - 1e-9, high * 1.01 + 1e-9];
}

/** Problems with an engine's windows against the expected ones (empty: it computed the same results). */
function checkWindows(
  engine: string,
  got: Map<string, Fired>,
  expected: Map<string, Expected>,
  cutoffMs: number,
): string[] {
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < 10) problems.push(`${engine}: ${text}`);
  };
  for (const [id, fired] of got)
    if (fired.end <= cutoffMs && !expected.has(id)) problem(`fired an unexpected window ${id}`);
  for (const [id, want] of expected) {
    const fired = got.get(id);
    if (fired === undefined) {
      problem(`did not fire ${id}`);
      continue;
    }
    if (fired.end !== want.end) problem(`${id} ends at ${fired.end}, expected ${want.end}`);
    if (want.events !== undefined && fired.events !== want.events)
      problem(`${id} counted ${fired.events} events, expected ${want.events}`);
    if (want.revenue !== undefined && Math.abs((fired.revenue ?? 0) - want.revenue) > 1e-6)
      problem(`${id} revenue ${fired.revenue}, expected ${want.revenue}`);
    // HLL with 2^14 registers: standard error 0.81 %; 3 % is beyond 3.5 sigma.
    if (
      want.users !== undefined &&
      Math.abs((fired.users ?? 0) - want.users) > Math.max(0.5, 0.03 * want.users)
    )
      problem(`${id} uniq users ${fired.users}, expected ${want.users} ± 3 %`);
    if (want.latencies !== undefined)
      for (const [q, value] of [
        [0.5, fired.p50],
        [0.95, fired.p95],
        [0.99, fired.p99],
      ] as const) {
        const [low, high] = quantileBounds(want.latencies, q);
        if (value === undefined || value < low || value > high)
          problem(`${id} p${q * 100} ${value}, expected within [${low}, ${high}]`);
      }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------------------------------------------

function spread(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? 0,
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
}

export async function runBench(): Promise<readonly BenchFigure[]> {
  const classpath = flinkClasspath();
  const names = runtimeTestNames("flink-bench");
  const produced = await produceBenchTopic(names, partitions, perPartition, { late: 0, veryLate: 0 });
  const counts = produced.map((p) => p.length);
  progress(`produced ${counts.reduce((a, b) => a + b, 0)} events to ${names.topic}`);
  // Each partition's last message is a sentinel an hour ahead: the windows it opens never close in the runtime.
  const sentinels = produced.map((p) => p.at(-1)?.event?.ts ?? 0);
  const cutoffMs = Math.min(...sentinels) - 5_000;

  const figures: BenchFigure[] = [];
  for (const variant of variants) {
    const expected = expectedWindows(produced, variant, cutoffMs);
    const flink: number[] = [];
    const runtime: number[] = [];
    for (let run = 0; run < runs; run++) {
      const f = await runFlink(classpath, names.topic, variant);
      const r = await runRuntime(names.topic, variant, counts);
      const problems = [
        ...checkWindows("flink", f.windows, expected, cutoffMs),
        ...checkWindows("runtime", r.windows, expected, cutoffMs),
      ];
      if (problems.length > 0)
        throw new Error(
          `${variant}: the engines did not compute the expected results:\n${problems.join("\n")}`,
        );
      flink.push(f.perCore);
      runtime.push(r.perCore);
      progress(
        `${variant} run ${run + 1}: flink ${Math.round(f.perCore)}, runtime ${Math.round(r.perCore)} events/s per core; ${expected.size} windows checked on both`,
      );
    }
    const f = spread(flink);
    const r = spread(runtime);
    progress(
      `${variant}: flink min/median/max ${[f.min, f.median, f.max].map(Math.round).join("/")} events/s per core`,
    );
    progress(
      `${variant}: runtime min/median/max ${[r.min, r.median, r.max].map(Math.round).join("/")} events/s per core`,
    );
    const infix = variant === "all" ? "" : `_${variant}`;
    figures.push(
      { name: `perf.flink${infix}_events_per_s_per_core`, value: f.median, unit: "events/s/core" },
      { name: `perf.windows${infix}_events_per_s_per_core`, value: r.median, unit: "events/s/core" },
      { name: `perf.windows${infix}_ratio_vs_flink`, value: r.median / f.median, unit: "ratio" },
    );
  }
  return figures;
}
