/**
 * DDL of a pipeline's window table (pure): the live windows' results, written by the runtime as
 * *mergeable partial states per source partition*. Each runtime worker computes its partitions' windows
 * from its own partitions' events only, so a row is one partition's share of one window; a query merges
 * the shares of every partition (runtime/core `combinePartials`), which is exact for every aggregation
 * however partitions are spread over workers.
 *
 * A partition's share is rewritten when a late event updates the window: `version` is the Kafka offset of
 * the last event of the batch that produced the row, so a later update always has a higher version and
 * ReplacingMergeTree keeps it (an upsert, not a second row; query with FINAL). A session window absorbed
 * into another is retracted by a row with `is_deleted = 1`, which FINAL hides. Rows are inserted with the
 * same deduplication token scheme as the raw table (see runtime/sinks), hence the deduplication window.
 */
import { createHash } from "node:crypto";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import type { WindowUpsert } from "../windows/window-results.js";
import { deduplicationWindow, type RenderedColumn } from "./raw-table-ddl.js";
import { numberLiteral, qualifiedName, quoteIdentifier } from "./sql.js";

export const windowTableColumns: readonly RenderedColumn[] = [
  { name: "window_name", type: "LowCardinality(String)" },
  { name: "window_start", type: "DateTime64(3)" },
  { name: "window_end", type: "DateTime64(3)" },
  /** Canonical JSON array of the group-by values, in groupBy order. */
  { name: "group_key", type: "String" },
  { name: "source_topic", type: "LowCardinality(String)" },
  { name: "source_partition", type: "UInt32" },
  { name: "version", type: "UInt64" },
  { name: "is_deleted", type: "UInt8" },
  /** JSON object: aggregation name → serialized mergeable state (contracts/windows/aggregation.ts). */
  { name: "states", type: "String" },
  /** JSON object: result name → number or null, for this partition's share alone. */
  { name: "results", type: "String" },
];

interface WindowTableDdl {
  readonly database: string;
  readonly table: string;
  readonly columns: readonly RenderedColumn[];
  /** Statements in order; each is idempotent (IF NOT EXISTS). */
  readonly statements: readonly string[];
}

/** `<raw table>_windows`, shortened with a hash of the raw table name when that exceeds 63 characters. */
export function windowTableName(rawTable: string): string {
  const full = `${rawTable}_windows`;
  if (full.length <= 63) return full;
  const digest = createHash("sha256").update(rawTable).digest("hex").slice(0, 10);
  return `${rawTable.slice(0, 63 - "_windows".length - 11)}_${digest}_windows`;
}

export function renderWindowTableDdl(spec: PipelineSpec): WindowTableDdl {
  const { database, table: rawTable, retentionDays } = spec.sink.clickhouse;
  const table = windowTableName(rawTable);
  const name = qualifiedName(database, table, "window table");
  const columnLines = windowTableColumns.map(
    (c) => `  ${quoteIdentifier(c.name, "window column")} ${c.type}`,
  );
  columnLines.push("  `_inserted_at` DateTime64(3) DEFAULT now64(3)");
  const ttl =
    retentionDays === undefined
      ? []
      : [
          `TTL toDateTime(window_end) + INTERVAL ${numberLiteral(retentionDays, "spec.sink.clickhouse.retentionDays")} DAY`,
        ];
  const createTable = [
    `CREATE TABLE IF NOT EXISTS ${name}\n(\n${columnLines.join(",\n")}\n)`,
    "ENGINE = ReplacingMergeTree(version, is_deleted)",
    "PARTITION BY toYYYYMM(window_start)",
    "ORDER BY (window_name, window_start, group_key, source_topic, source_partition)",
    ...ttl,
    `SETTINGS non_replicated_deduplication_window = ${deduplicationWindow}`,
  ].join("\n");
  return {
    database,
    table,
    columns: windowTableColumns,
    statements: [
      `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database, "spec.sink.clickhouse.database")}`,
      createTable,
    ],
  };
}

/**
 * The latest share of every partition for one window name and a window_start range, as the runtime and
 * the gateway read them: bind `window` (String), `from` and `to` (Int64 epoch ms, half-open).
 */
export function renderWindowPartialsQuery(spec: PipelineSpec): string {
  const { database, table: rawTable } = spec.sink.clickhouse;
  const name = qualifiedName(database, windowTableName(rawTable), "window table");
  return [
    "SELECT window_name, toUnixTimestamp64Milli(window_start) AS window_start,",
    "  toUnixTimestamp64Milli(window_end) AS window_end, group_key, source_topic, source_partition,",
    "  version, states, results",
    // The range applies to the column inside: outside, `window_start` is the millisecond alias above.
    `FROM (SELECT * FROM ${name} FINAL`,
    "  WHERE window_name = {window:String}",
    "  AND window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64}))",
    "ORDER BY window_start, group_key, source_topic, source_partition",
  ].join("\n");
}

/** One row of renderWindowPartialsQuery in JSONEachRow (64-bit integers unquoted). */
export interface WindowPartialRow {
  readonly window_name: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly group_key: string;
  readonly version: number;
  readonly states: string;
  readonly results: string;
}

/** A partition's share as the window operator emitted it, for combinePartials. */
export function decodeWindowPartialRow(row: WindowPartialRow): WindowUpsert {
  return {
    kind: "upsert",
    windowName: row.window_name,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    groupKey: JSON.parse(row.group_key) as WindowUpsert["groupKey"],
    revision: row.version,
    states: JSON.parse(row.states) as Record<string, string>,
    results: JSON.parse(row.results) as Record<string, number | null>,
  };
}
