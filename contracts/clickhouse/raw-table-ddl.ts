/**
 * DDL of a pipeline's raw events table (pure). Besides the declared fields, each row records where
 * it came from (topic, partition, offset) and when it was inserted: `_inserted_at` is the cut-over
 * point that lets a rollup migrate without losing or doubling rows (see rollup-ddl.ts).
 */

import { renderColumnType } from "../../api/v1alpha1/column-types.js";
import type { ColumnType, PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { numberLiteral, qualifiedName, quoteIdentifier } from "./sql.js";

/** Columns the runtime fills itself; fields may not take these names. */
export const provenanceColumns = [
  { name: "_topic", type: "LowCardinality(String)" },
  { name: "_partition", type: "UInt32" },
  { name: "_offset", type: "UInt64" },
  { name: "_inserted_at", type: "DateTime64(3)", default: "now64(3)" },
] as const;

/**
 * How many recent insert blocks each table remembers for `insert_deduplication_token`: a replayed
 * batch is dropped only while its original is among them. Sized for minutes of batches per partition.
 */
export const deduplicationWindow = 10_000;

export interface RenderedColumn {
  readonly name: string;
  readonly type: string;
}

interface RawTableDdl {
  readonly database: string;
  readonly table: string;
  readonly columns: readonly RenderedColumn[];
  /** Statements in order; each is idempotent (IF NOT EXISTS). */
  readonly statements: readonly string[];
}

function renderRawTableColumns(spec: PipelineSpec): RenderedColumn[] {
  return [
    ...spec.fields.map((f) => ({ name: f.name, type: renderColumnType(f.type, f.nullable) })),
    ...provenanceColumns.map((c) => ({ name: c.name, type: c.type })),
  ];
}

/** The expression turning the event-time column into a DateTime for TTL and partitioning. */
function eventTimeAsDateTime(column: string, type: ColumnType): string {
  return type === "DateTime" ? column : `toDateTime(${column})`;
}

export function renderRawTableDdl(spec: PipelineSpec): RawTableDdl {
  const { database, table } = spec.sink.clickhouse;
  const name = qualifiedName(database, table, "spec.sink.clickhouse");
  const timeField = spec.fields.find((f) => f.name === spec.eventTime.field);
  if (timeField === undefined) {
    throw new SpecError("spec.eventTime.field", `"${spec.eventTime.field}" is not one of spec.fields`);
  }
  const time = quoteIdentifier(timeField.name, "spec.eventTime.field");
  const timeExpr = eventTimeAsDateTime(time, timeField.type);
  const columnLines = spec.fields.map(
    (f, i) =>
      `  ${quoteIdentifier(f.name, `spec.fields[${i}].name`)} ${renderColumnType(f.type, f.nullable)}`,
  );
  for (const c of provenanceColumns) {
    columnLines.push(
      `  ${quoteIdentifier(c.name, "provenance column")} ${c.type}${"default" in c ? ` DEFAULT ${c.default}` : ""}`,
    );
  }
  const retention = spec.sink.clickhouse.retentionDays;
  const ttl =
    retention === undefined
      ? ""
      : `\nTTL ${timeExpr} + INTERVAL ${numberLiteral(retention, "spec.sink.clickhouse.retentionDays")} DAY`;
  const createTable = [
    `CREATE TABLE IF NOT EXISTS ${name}\n(\n${columnLines.join(",\n")}\n)`,
    "ENGINE = MergeTree",
    `PARTITION BY toYYYYMMDD(${timeExpr})`,
    `ORDER BY (${time}, _partition, _offset)${ttl}`,
    `SETTINGS non_replicated_deduplication_window = ${deduplicationWindow}, ttl_only_drop_parts = 1`,
  ].join("\n");
  return {
    database,
    table,
    columns: renderRawTableColumns(spec),
    statements: [
      `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database, "spec.sink.clickhouse.database")}`,
      createTable,
    ],
  };
}

/**
 * Statements that bring an existing raw table to the spec: new fields are added; a changed type is
 * refused (it would rewrite or lose data), and a removed field keeps its column (nothing is dropped).
 */
export function renderRawTableMigration(
  spec: PipelineSpec,
  existing: readonly RenderedColumn[],
): { readonly statements: readonly string[]; readonly retainedColumns: readonly string[] } {
  const { database, table } = spec.sink.clickhouse;
  const name = qualifiedName(database, table, "spec.sink.clickhouse");
  const have = new Map(existing.map((c) => [c.name, c.type]));
  const statements: string[] = [];
  spec.fields.forEach((field, i) => {
    const type = renderColumnType(field.type, field.nullable);
    const current = have.get(field.name);
    if (current === undefined) {
      statements.push(
        `ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(field.name, `spec.fields[${i}].name`)} ${type}`,
      );
    } else if (current !== type) {
      throw new SpecError(
        `spec.fields[${i}].type`,
        `column ${field.name} of ${database}.${table} is ${current}; changing it to ${type} is not done in place (add a new field instead)`,
        "ColumnTypeChangeRefused",
      );
    }
  });
  const declared = new Set([...spec.fields.map((f) => f.name), ...provenanceColumns.map((c) => c.name)]);
  const retainedColumns = existing.map((c) => c.name).filter((n) => !declared.has(n));
  return { statements, retainedColumns };
}
