/**
 * Rows of the window table in RowBinary (pure; columns as operator/clickhouse/window-table-ddl.ts
 * declares them). One row is one source partition's share of one window at one version.
 */

import { quoteIdentifier } from "../../operator/clickhouse/sql.js";
import { windowTableColumns } from "../../operator/clickhouse/window-table-ddl.js";
import type { WindowResult } from "../core/window-operator.js";
import type { RowBinaryWriter } from "./row-binary.js";

export const windowColumnList = `(${windowTableColumns.map((c) => quoteIdentifier(c.name, "window column")).join(", ")})`;

const expectedOrder = [
  "window_name",
  "window_start",
  "window_end",
  "group_key",
  "source_topic",
  "source_partition",
  "version",
  "is_deleted",
  "states",
  "results",
];
if (windowTableColumns.map((c) => c.name).join() !== expectedOrder.join()) {
  throw new Error("window-rows.ts writes columns in a different order than the window table declares");
}

/** Appends one result as written by partition `partition` of `topic` at `version`. */
export function encodeWindowRow(
  writer: RowBinaryWriter,
  result: WindowResult,
  topic: string,
  partition: number,
  version: number,
): void {
  writer.string(result.windowName);
  writer.int64(result.windowStart);
  writer.int64(result.windowEnd);
  writer.string(JSON.stringify(result.groupKey));
  writer.string(topic);
  writer.uint32(partition);
  writer.int64(version);
  if (result.kind === "retract") {
    writer.uint8(1);
    writer.string("{}");
    writer.string("{}");
    return;
  }
  writer.uint8(0);
  writer.string(JSON.stringify(result.states));
  writer.string(JSON.stringify(result.results));
}
