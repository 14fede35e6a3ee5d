/**
 * A live window result written as the runtime writes it, without a worker: the result of one event in a
 * tumbling window (its aggregations' states and results by the runtime's own aggregation code), its row
 * into the window table, then its share into Redis by the runtime's own RedisSink (after ClickHouse, as
 * the worker orders them). For the alert evaluator's live-window test and bench, where the runtime's
 * window firing is not what is measured.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import { addValue, createState, resultsFor, serializeState } from "../../contracts/windows/aggregation.js";
import { windowSpecsOf } from "../../contracts/windows/pipeline-window-specs.js";
import type { GroupValue, WindowUpsert } from "../../contracts/windows/window-results.js";
import { aggregationName } from "../../contracts/windows/window-spec.js";
import { ChunkedWriter } from "../../runtime/sinks/chunked-writer.js";
import type { RedisSink } from "../../runtime/sinks/redis-sink.js";
import { encodeWindowRow } from "../../runtime/sinks/window-rows.js";

/** The source partition the results are written as. */
export const liveWindowTopic = "live-window-writer";

export async function writeLiveWindowResult(options: {
  readonly spec: PipelineSpec;
  readonly clickhouse: ClickHouseClient;
  readonly sink: RedisSink;
  readonly window: string;
  /** The event (its group-by fields and aggregated fields). */
  readonly event: Readonly<Record<string, unknown>>;
  readonly atMs: number;
  /** Higher than any earlier write of the same window instance (the sink's compare-and-set). */
  readonly version: number;
}): Promise<WindowUpsert> {
  const { spec: pipelineSpec, clickhouse, sink, window, event, atMs, version } = options;
  const spec = windowSpecsOf(pipelineSpec).find((w) => w.name === window);
  if (spec === undefined || spec.type !== "tumbling")
    throw new Error(`writeLiveWindowResult: window: the pipeline has no tumbling window ${window}`);
  const states: Record<string, string> = {};
  const results: Record<string, number | null> = {};
  for (const aggregation of spec.aggregations) {
    const state = createState(aggregation);
    addValue(state, "field" in aggregation ? event[aggregation.field] : 1);
    states[aggregationName(aggregation)] = serializeState(state);
    Object.assign(results, resultsFor(aggregation, state));
  }
  const windowStart = Math.floor(atMs / spec.sizeMs) * spec.sizeMs;
  const result: WindowUpsert = {
    kind: "upsert",
    windowName: window,
    windowStart,
    windowEnd: windowStart + spec.sizeMs,
    groupKey: spec.groupBy.map((field) => (event[field] ?? null) as GroupValue),
    revision: 1,
    states,
    results,
  };
  const writer = new ChunkedWriter();
  encodeWindowRow(writer, result, liveWindowTopic, 0, version);
  const { database, table } = pipelineSpec.sink.clickhouse;
  await clickhouse.insert({
    table: `${database}.${windowTableName(table)}`,
    values: writer
      .toBuffer()
      .toString("utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>),
    format: "JSONEachRow",
  });
  sink.publish([result], liveWindowTopic, 0, version, atMs);
  return result;
}
