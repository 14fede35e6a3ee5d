/**
 * A pipeline loaded by a real runtime worker: its topics created, the worker started on its manifest
 * (creating its tables), where the events landed (the raw and live-window tables), how far its topic's
 * partitions reach, and, after the tests, the worker stopped and its tables dropped.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { qualifiedName } from "../../contracts/clickhouse/sql.js";
import { windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import {
  createTopics,
  kafkaClient,
  planOf,
  type RuntimeTestNames,
  WorkerProcess,
  writeManifest,
} from "./runtime-harness.js";

export interface WorkerPipeline {
  readonly names: RuntimeTestNames;
  readonly worker: WorkerProcess;
  /** `db`.`table` of the raw events. */
  readonly rawTable: string;
  /** `db`.`table` of the live windows' closed partials. */
  readonly windowTable: string;
}

/** `manifest` (pipelineManifest(names, …)) on a fresh topic of `partitions`, its worker named `label`. */
export async function startWorkerPipeline(
  names: RuntimeTestNames,
  manifest: string,
  partitions: number,
  label = names.pipeline,
): Promise<WorkerPipeline> {
  const { database, table } = planOf(manifest).spec.sink.clickhouse;
  await createTopics(names, partitions);
  return {
    names,
    worker: WorkerProcess.start(writeManifest(manifest), label),
    rawTable: qualifiedName(database, table, "test"),
    windowTable: qualifiedName(database, windowTableName(table), "test"),
  };
}

/** Each partition's end offset (partition order): what waitForCommitted waits for. */
export async function topicEnds(names: RuntimeTestNames): Promise<number[]> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(names.topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  } finally {
    await admin.disconnect();
  }
}

export async function stopWorkerPipeline(
  pipeline: WorkerPipeline | undefined,
  clickhouse: ClickHouseClient,
): Promise<void> {
  if (pipeline === undefined) return;
  await pipeline.worker.stop();
  for (const table of [pipeline.rawTable, pipeline.windowTable])
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${table}` });
}
