/**
 * The runtime's whole path (the example pipeline, Kafka to ClickHouse, offsets committed) in two
 * checkouts, alternately on the same topic, so a change's effect is measured against its base under
 * the same machine load:
 *
 *   node --import tsx test/bench/compare-checkouts.ts <before-checkout> <after-checkout> [runs=3]
 *
 * Both checkouts run against this checkout's local stack. Each run is a fresh consumer group and fresh
 * tables over the same 1,000,000 messages (runtime.bench.ts's input); the order alternates every run.
 * Prints each run, then `BENCH perf.whole_path_{before,after}_events_per_s_per_core` (medians) and
 * `BENCH perf.whole_path_after_vs_before` (the ratio of the medians).
 */
import { resolve } from "node:path";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import {
  clickhouseClient,
  kafkaClient,
  pipelineManifest,
  planOf,
  runtimeTestNames,
} from "../support/runtime-harness.js";
import { type BenchFigure, formatFigure } from "./bench-figure.js";
import { produceBenchTopic } from "./bench-topic.js";
import { startMeasuredWorker } from "./measured-worker.js";

const [beforeArg, afterArg, runsArg] = process.argv.slice(2);
if (beforeArg === undefined || afterArg === undefined) {
  console.error("usage: compare-checkouts.ts <before-checkout> <after-checkout> [runs=3]");
  process.exit(2);
}
const checkouts = { before: resolve(beforeArg), after: resolve(afterArg) } as const;
const runs = Math.max(1, Number(runsArg ?? 3));

const source = runtimeTestNames("ab");
const produced = await produceBenchTopic(source, 4, 250_000);
const counts = produced.map((p) => p.length);
console.error(`[compare] produced ${counts.reduce((a, b) => a + b, 0)} messages to ${source.topic}`);

const clickhouse = clickhouseClient();
const admin = kafkaClient().admin();
await admin.connect();
const results = { before: [] as number[], after: [] as number[] };
try {
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? (["before", "after"] as const) : (["after", "before"] as const);
    for (const which of order) {
      const names = { ...runtimeTestNames(`ab-${which}`), topic: source.topic };
      await admin.createTopics({
        topics: [{ topic: names.deadLetterTopic, numPartitions: 1 }],
        waitForLeaders: true,
      });
      // The same pipeline as runtime.bench.ts's whole path.
      const manifest = pipelineManifest(names, (spec) => {
        spec.sink.clickhouse.batch = { maxRows: 10_000, maxDelay: "1s" };
        spec.windows = spec.windows?.map((w) => (w.type === "session" ? { ...w, gap: "30m" } : w));
      });
      const database = planOf(manifest).spec.sink.clickhouse.database;
      const measured = await startMeasuredWorker(names, manifest, `ab-${which}`, checkouts[which]);
      try {
        const { perCore } = await measured.measure(counts);
        results[which].push(perCore);
        console.error(`[compare] run ${run + 1} ${which}: ${Math.round(perCore)} events/s per core`);
      } finally {
        await measured.worker.stop();
        await admin.deleteTopics({ topics: [names.deadLetterTopic] }).catch(() => undefined);
        const tables = await (
          await clickhouse.query({
            query:
              "SELECT name FROM system.tables WHERE database = {database:String} AND startsWith(name, {prefix:String})",
            query_params: { database, prefix: names.table },
            format: "JSONEachRow",
          })
        ).json<{ name: string }>();
        for (const { name } of tables)
          await clickhouse.command({
            query: `DROP TABLE IF EXISTS ${qualifiedName(database, name, "bench")}`,
          });
      }
    }
  }
} finally {
  await admin.deleteTopics({ topics: [source.topic, source.deadLetterTopic] }).catch(() => undefined);
  await admin.disconnect();
  await clickhouse.close();
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const figures: BenchFigure[] = [
  {
    name: "perf.whole_path_before_events_per_s_per_core",
    value: median(results.before),
    unit: "events/s/core",
  },
  {
    name: "perf.whole_path_after_events_per_s_per_core",
    value: median(results.after),
    unit: "events/s/core",
  },
  {
    name: "perf.whole_path_after_vs_before",
    value: median(results.after) / median(results.before),
    unit: "ratio",
  },
];
for (const figure of figures) console.log(formatFigure(figure));
