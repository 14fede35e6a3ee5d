/**
 * The ClickHouse side of the worker: batched inserts into the raw and window tables, and the reads a
 * partition's rebuild needs.
 *
 * Exactly-once inserts. Each batch is one INSERT of JSONEachRow bytes (json-rows.ts) with
 *   insert_deduplication_token = "<consumer group>/<topic>/<partition>/<first>-<last>/<raw|windows>"
 * (an idle advance's window rows: "<consumer group>/<topic>/<partition>/<offset>@<watermark>/windows")
 * ClickHouse derives each inserted block's id from the token (token_0, token_1, ... when the batch
 * spans several table partitions) and drops a block whose id is among the table's last
 * `non_replicated_deduplication_window` block ids; with
 * deduplicate_blocks_in_dependent_materialized_views = 1 the rollup views' blocks are dropped the same
 * way. A retry or a replay of the same range therefore lands at most once. Caveats, each tested or
 * documented:
 *  - the replay must come while the original is still inside the deduplication window (10,000 blocks
 *    per table; a replay follows a restart within seconds);
 *  - the settings that shape blocks (these, max_insert_block_size) must be the same on the retry, and
 *    the bytes must split into the same blocks: a replayed batch is byte-identical by construction;
 *  - a token names offsets, so a topic deleted and re-created under the same name within the window
 *    would collide: give a re-created topic a new consumer group (or a new name).
 */
import { Readable } from "node:stream";
import type { ClickHouseClient } from "@clickhouse/client";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import { renderRawTableDdl } from "../../contracts/clickhouse/raw-table-ddl.js";
import { qualifiedName, quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import { renderWindowTableDdl, windowTableName } from "../../contracts/clickhouse/window-table-ddl.js";
import type { Row, RowValue } from "../decode/row.js";
import type { IdleAdvance, SealedBatch } from "../pipeline/partition-processor.js";
import type { PipelinePlan } from "../pipeline/pipeline-plan.js";
import type { RebuildRow } from "../pipeline/rebuild-range.js";
import { jsonInsertSettings } from "./json-rows.js";
import { windowColumnList } from "./window-rows.js";

type TableKind = "raw" | "windows";

class ClickHouseSinkError extends Error {
  override readonly name = "ClickHouseSinkError";
}

/** Settings of every insert; changing them between an insert and its retry would defeat deduplication. */
function insertSettings(token: string) {
  return {
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    async_insert: 0,
    ...jsonInsertSettings,
  } as const;
}

function deduplicationToken(consumerGroup: string, batch: SealedBatch, table: TableKind): string {
  return `${consumerGroup}/${batch.topic}/${batch.partition}/${batch.firstOffset}-${batch.lastOffset}/${table}`;
}

function idleAdvanceDeduplicationToken(consumerGroup: string, advance: IdleAdvance): string {
  return `${consumerGroup}/${advance.topic}/${advance.partition}/${advance.offset}@${advance.watermarkMs}/windows`;
}

/** How a column is selected so that JSON gives back the canonical value (decode/row.ts). */
function selectExpression(name: string, type: ColumnType): string {
  const column = quoteIdentifier(name, "raw table column");
  switch (type) {
    case "Date":
      return `toInt64(toUInt16(${column})) * 86400000`;
    case "DateTime":
      return `toInt64(toUnixTimestamp(${column})) * 1000`;
    case "DateTime64(3)":
      return `toUnixTimestamp64Milli(${column})`;
    case "Float32":
      return `toFloat64(${column})`;
    case "UUID":
      return `toString(${column})`;
    default:
      return column;
  }
}

function toRowValue(value: unknown, field: string): RowValue {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return value;
  throw new ClickHouseSinkError(`raw table column ${field} came back as ${typeof value}`);
}

/**
 * What the Kafka source needs of the result store: the inserts of a batch and of an idle advance, and the
 * reads of a rebuild. ClickHouseSink is the real one; bench-discarding-sink.ts the bench's stand-in.
 */
export type ResultStore = Pick<
  ClickHouseSink,
  "insert" | "insertIdleAdvance" | "fetchRebuildRows" | "fetchMaxEventTime"
>;

export class ClickHouseSink {
  private readonly rawTable: string;
  private readonly windowTable: string;
  private readonly rawInsert: string;
  private readonly windowInsert: string;
  private readonly rebuildQuery: string;
  private readonly maxTimeQuery: string;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly plan: PipelinePlan,
  ) {
    const { database, table } = plan.spec.sink.clickhouse;
    this.rawTable = qualifiedName(database, table, "spec.sink.clickhouse");
    this.windowTable = qualifiedName(database, windowTableName(table), "window table");
    this.rawInsert = `INSERT INTO ${this.rawTable} ${plan.rawEncoder.columnList} FORMAT JSONEachRow`;
    this.windowInsert = `INSERT INTO ${this.windowTable} ${windowColumnList} FORMAT JSONEachRow`;
    // Aliases must differ from the column names: ClickHouse resolves a name in WHERE to a SELECT alias first,
    // so `toUnixTimestamp64Milli(ts) AS ts` would make the filter below convert an Int64.
    const columns = plan.fields.map((f, i) => `${selectExpression(f.name, f.type)} AS __c${i}`);
    const timeMs = selectExpression(
      plan.eventTime.field,
      plan.fields.find((f) => f.name === plan.eventTime.field)?.type ?? "DateTime64(3)",
    );
    this.rebuildQuery = [
      `SELECT ${columns.join(", ")}, _offset AS __offset FROM ${this.rawTable}`,
      "WHERE _topic = {topic:String} AND _partition = {partition:UInt32} AND _offset < {below:UInt64}",
      `  AND ${timeMs} >= {from:Int64} AND ${timeMs} < {to:Int64}`,
      "ORDER BY _offset",
    ].join("\n");
    this.maxTimeQuery = [
      `SELECT max(${timeMs}) AS m, count() AS n FROM ${this.rawTable}`,
      "WHERE _topic = {topic:String} AND _partition = {partition:UInt32} AND _offset < {below:UInt64}",
    ].join("\n");
  }

  get tables(): { readonly raw: string; readonly windows: string } {
    return { raw: this.rawTable, windows: this.windowTable };
  }

  /** Creates the raw and window tables (normally the operator's job; `--create-tables` for local runs). */
  async createTables(): Promise<void> {
    for (const statement of [
      ...renderRawTableDdl(this.plan.spec).statements,
      ...renderWindowTableDdl(this.plan.spec).statements,
    ]) {
      await this.client.command({ query: statement });
    }
  }

  async insert(batch: SealedBatch, table: TableKind): Promise<void> {
    await this.insertBytes(
      table === "raw" ? this.rawInsert : this.windowInsert,
      table === "raw" ? batch.rawRows : batch.windowRows,
      deduplicationToken(this.plan.consumerGroup, batch, table),
    );
  }

  /** The window rows an idle advance fired. */
  async insertIdleAdvance(advance: IdleAdvance): Promise<void> {
    await this.insertBytes(
      this.windowInsert,
      advance.windowRows,
      idleAdvanceDeduplicationToken(this.plan.consumerGroup, advance),
    );
  }

  private async insertBytes(query: string, bytes: Buffer, token: string): Promise<void> {
    if (bytes.length === 0) return;
    const result = await this.client.exec({
      query,
      values: Readable.from([bytes]),
      clickhouse_settings: insertSettings(token),
    });
    // The response body is empty for an INSERT; it must still be consumed to free the socket.
    for await (const _ of result.stream) {
      // drain
    }
  }

  /** Raw rows of a partition below `below` with event time in [from, to), in offset order. */
  async fetchRebuildRows(
    topic: string,
    partition: number,
    below: number,
    fromMs: number,
    toMs: number,
  ): Promise<RebuildRow[]> {
    const clamp = (ms: number) =>
      ms === Number.NEGATIVE_INFINITY ? -8.64e15 : ms === Number.POSITIVE_INFINITY ? 8.64e15 : Math.floor(ms);
    const result = await this.client.query({
      query: this.rebuildQuery,
      query_params: { topic, partition, below, from: clamp(fromMs), to: clamp(toMs) },
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const rows = await result.json<Record<string, unknown>>();
    return rows.map((record) => {
      const row: Row = {};
      this.plan.fields.forEach((f, i) => {
        row[f.name] = toRowValue(record[`__c${i}`], f.name);
      });
      const offset = record.__offset;
      if (typeof offset !== "number")
        throw new ClickHouseSinkError(`raw row of ${topic}[${partition}] has no _offset`);
      return { offset, row };
    });
  }

  /** Newest event time among a partition's raw rows below `below` (for offsets committed without metadata). */
  async fetchMaxEventTime(topic: string, partition: number, below: number): Promise<number> {
    const result = await this.client.query({
      query: this.maxTimeQuery,
      query_params: { topic, partition, below },
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const [row] = await result.json<{ m: number | null; n: number }>();
    return row === undefined || row.n === 0 || row.m === null ? Number.NEGATIVE_INFINITY : row.m;
  }
}
