/**
 * Rows of the window table as JSON lines (pure; columns as contracts/clickhouse/window-table-ddl.ts
 * declares them). One row is one source partition's share of one window at one version.
 */
import { quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { windowTableColumns } from "../../contracts/clickhouse/window-table-ddl.js";
import type { WindowResult } from "../../contracts/windows/window-results.js";
import type { ChunkedWriter } from "./chunked-writer.js";
import { quotedIso } from "./json-rows.js";

export const windowColumnList = `(${windowTableColumns.map((c) => quoteIdentifier(c.name, "window column")).join(", ")})`;

/** Appends one result as written by partition `partition` of `topic` at `version`. */
export function encodeWindowRow(
  writer: ChunkedWriter,
  result: WindowResult,
  topic: string,
  partition: number,
  version: number,
): void {
  const upsert = result.kind === "upsert";
  writer.write(
    `{"window_name":${JSON.stringify(result.windowName)},"window_start":${quotedIso(result.windowStart)},"window_end":${quotedIso(result.windowEnd)},"group_key":${JSON.stringify(JSON.stringify(result.groupKey))},"source_topic":${JSON.stringify(topic)},"source_partition":${partition},"version":${version},"is_deleted":${upsert ? 0 : 1},"states":${JSON.stringify(upsert ? JSON.stringify(result.states) : "{}")},"results":${JSON.stringify(upsert ? JSON.stringify(result.results) : "{}")}}\n`,
  );
}
