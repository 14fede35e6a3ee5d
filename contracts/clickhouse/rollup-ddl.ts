/**
 * DDL of a Rollup (pure): an AggregatingMergeTree table of mergeable states, the materialized view
 * feeding it, and the backfill that fills it from data already there.
 *
 * Migration without loss or double counting: each definition gets a new version (table + view).
 * The new view only takes rows inserted at or after a cut-over time (`_inserted_at >= cutoff`);
 * the backfill takes every row inserted before it, from the pipeline's raw table, into a staging
 * table that is emptied before each attempt; its partitions are then MOVEd into the new table,
 * which is atomic per partition, so a retry never moves one twice. Then queries switch to the new
 * version and the old one is dropped.
 */
import { createHash } from "node:crypto";
import type { Aggregation, FilterCondition } from "../../api/v1alpha1/aggregation.js";
import { columnTypeTraits, renderColumnType } from "../../api/v1alpha1/column-types.js";
import type { ColumnType } from "../../api/v1alpha1/pipeline.js";
import { type Granularity, granularityMs, type RollupSpec } from "../../api/v1alpha1/rollup.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { renderFilterSql } from "./filter-sql.js";
import { deduplicationWindow } from "./raw-table-ddl.js";
import {
  identifierFromObjectName,
  numberLiteral,
  qualifiedName,
  quoteIdentifier,
  quoteString,
} from "./sql.js";

interface SourceField {
  readonly type: ColumnType;
  readonly nullable: boolean;
}

/** The pipeline at the root of a rollup chain: where every backfill reads from. */
export interface RawSource {
  readonly database: string;
  readonly table: string;
  readonly eventTimeField: string;
  readonly fields: ReadonlyMap<string, SourceField>;
}

/** A rollup that serves as the source of a cascade. */
export interface RollupSource {
  readonly spec: RollupSpec;
  readonly table: string;
  /** Filters of this rollup and of every rollup above it; the cascade's backfill applies them all. */
  readonly inheritedFilters: readonly FilterCondition[];
}

interface RollupDdlInput {
  readonly namespace: string;
  readonly name: string;
  readonly spec: RollupSpec;
  readonly version: number;
  readonly raw: RawSource;
  /** Set when spec.source.kind is Rollup. */
  readonly parent?: RollupSource;
  /** Rows inserted before this go through the backfill, from it on through the view. */
  readonly cutoff: Date;
}

export interface RollupDdl {
  readonly database: string;
  readonly table: string;
  readonly view: string;
  readonly stagingTable: string;
  /** Hash of the definition: equal hashes mean the serving version is already right. */
  readonly definitionHash: string;
  readonly createTable: string;
  readonly createStagingTable: string;
  readonly createView: string;
  readonly truncateStaging: string;
  readonly fillStaging: string;
  readonly dropStaging: string;
}

/** Each granularity as a ClickHouse INTERVAL, for toStartOfInterval. */
export const granularityIntervals: { readonly [G in Granularity]: string } = {
  "1m": "INTERVAL 1 MINUTE",
  "5m": "INTERVAL 5 MINUTE",
  "10m": "INTERVAL 10 MINUTE",
  "15m": "INTERVAL 15 MINUTE",
  "30m": "INTERVAL 30 MINUTE",
  "1h": "INTERVAL 1 HOUR",
  "6h": "INTERVAL 6 HOUR",
  "12h": "INTERVAL 12 HOUR",
  "1d": "INTERVAL 1 DAY",
};

/** Table name of a rollup version: namespace and name sanitised, hashed when too long. */
export function rollupTableName(namespace: string, name: string, version: number): string {
  const full = `rollup_${identifierFromObjectName(namespace)}__${identifierFromObjectName(name)}_v${version}`;
  if (full.length <= 56) return full;
  const digest = createHash("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, 10);
  return `rollup_${full.slice(7, 36)}_${digest}_v${version}`;
}

/** The objects of one rollup version: its table, the view feeding it and the backfill's staging table. */
export function rollupVersionObjects(table: string): { table: string; view: string; stagingTable: string } {
  return { table, view: `${table}_mv`, stagingTable: `${table}_backfill` };
}

/** How a metric is stored: the state expression over the source, its column type, and how to read it. */
interface MetricColumn {
  readonly name: string;
  readonly type: string;
  readonly stateExpression: string;
  readonly mergeFunction: string;
}

function quantileParams(metric: Aggregation & { fn: "quantiles" }, path: string): string {
  return metric.quantiles.map((q, i) => numberLiteral(q, `${path}.quantiles[${i}]`)).join(", ");
}

/** The state column of one metric computed from raw rows. */
export function renderMetricColumn(
  metric: Aggregation,
  fields: ReadonlyMap<string, SourceField>,
  path: string,
): MetricColumn {
  quoteIdentifier(metric.name, `${path}.name`);
  if (metric.fn === "count") {
    return {
      name: metric.name,
      type: "AggregateFunction(count)",
      stateExpression: "countState()",
      mergeFunction: "countMerge",
    };
  }
  const field = fields.get(metric.field);
  if (field === undefined) {
    throw new SpecError(`${path}.field`, `"${metric.field}" is not a field of the source pipeline`);
  }
  const traits = columnTypeTraits[field.type];
  if ((metric.fn === "sum" || metric.fn === "avg" || metric.fn === "quantiles") && !traits.numeric) {
    throw new SpecError(
      `${path}.field`,
      `${metric.fn} needs a numeric field; ${metric.field} is ${field.type}`,
    );
  }
  if ((metric.fn === "min" || metric.fn === "max") && !traits.numeric && !traits.temporal) {
    throw new SpecError(
      `${path}.field`,
      `${metric.fn} needs a numeric or time field; ${metric.field} is ${field.type}`,
    );
  }
  const column = quoteIdentifier(metric.field, `${path}.field`);
  const value = field.nullable ? `assumeNotNull(${column})` : column;
  const argument = traits.base === field.type ? value : `CAST(${value} AS ${traits.base})`;
  // Nulls are skipped through the -If combinator, so avg/min/max ignore missing values.
  const suffix = field.nullable ? "If" : "";
  const extraArg = field.nullable ? `, isNotNull(${column})` : "";
  const extraType = field.nullable ? ", UInt8" : "";
  if (metric.fn === "quantiles") {
    const params = quantileParams(metric, path);
    return {
      name: metric.name,
      type: `AggregateFunction(quantiles${suffix}(${params}), ${traits.base}${extraType})`,
      stateExpression: `quantiles${suffix}State(${params})(${argument}${extraArg})`,
      mergeFunction: `quantiles${suffix}Merge(${params})`,
    };
  }
  return {
    name: metric.name,
    type: `AggregateFunction(${metric.fn}${suffix}, ${traits.base}${extraType})`,
    stateExpression: `${metric.fn}${suffix}State(${argument}${extraArg})`,
    mergeFunction: `${metric.fn}${suffix}Merge`,
  };
}

function sameMetric(a: Aggregation, b: Aggregation): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function renderRollupDdl(input: RollupDdlInput): RollupDdl {
  const { spec, raw, parent } = input;
  const database = raw.database;
  const { table, view, stagingTable } = rollupVersionObjects(
    rollupTableName(input.namespace, input.name, input.version),
  );
  const target = qualifiedName(database, table, "rollup");

  // Dimensions: fields of the pipeline; in a cascade, also dimensions of the parent.
  const dimensionTypes = new Map<string, SourceField>();
  spec.dimensions.forEach((d, i) => {
    const field = raw.fields.get(d);
    if (field === undefined) {
      throw new SpecError(
        `spec.dimensions[${i}]`,
        `"${d}" is not a field of the source pipeline (have: ${[...raw.fields.keys()].join(", ")})`,
      );
    }
    if (parent !== undefined && !parent.spec.dimensions.includes(d)) {
      throw new SpecError(
        `spec.dimensions[${i}]`,
        `"${d}" is not a dimension of the source rollup ${parent.spec.source.name} (have: ${parent.spec.dimensions.join(", ") || "none"})`,
      );
    }
    dimensionTypes.set(d, field);
  });
  if (parent !== undefined && granularityMs[spec.granularity] <= granularityMs[parent.spec.granularity]) {
    throw new SpecError(
      "spec.granularity",
      `must be coarser than the source rollup's ${parent.spec.granularity}`,
    );
  }
  if (
    parent !== undefined &&
    granularityMs[spec.granularity] % granularityMs[parent.spec.granularity] !== 0
  ) {
    throw new SpecError(
      "spec.granularity",
      `${spec.granularity} is not a multiple of the source rollup's ${parent.spec.granularity}`,
    );
  }

  const metrics = spec.metrics.map((m, i) => {
    if (parent !== undefined && !parent.spec.metrics.some((p) => sameMetric(p, m))) {
      throw new SpecError(
        `spec.metrics[${i}]`,
        `a cascaded metric must be defined exactly as in the source rollup ${parent.spec.source.name}; "${m.name}" is not`,
      );
    }
    return renderMetricColumn(m, raw.fields, `spec.metrics[${i}]`);
  });
  const rawFieldTypes = new Map([...raw.fields].map(([k, v]) => [k, v.type]));
  // In a cascade the view reads the parent table, which only has the parent's dimensions.
  const viewFilterFields =
    parent === undefined
      ? rawFieldTypes
      : new Map(parent.spec.dimensions.map((d) => [d, rawFieldTypes.get(d) ?? "String"] as const));
  const ownFilter = renderFilterSql(spec.filter, viewFilterFields, "spec.filter");
  const backfillFilter = renderFilterSql(
    [...(parent?.inheritedFilters ?? []), ...(spec.filter ?? [])],
    rawFieldTypes,
    "spec.filter",
  );

  const interval = granularityIntervals[spec.granularity];
  const dims = spec.dimensions.map((d, i) => quoteIdentifier(d, `spec.dimensions[${i}]`));
  const cutoff = `toDateTime64(${quoteString(input.cutoff.toISOString().replace("T", " ").replace("Z", ""))}, 3, 'UTC')`;
  const nullableKey = [...dimensionTypes.values()].some((f) => f.nullable);

  const tableBody = (name: string) =>
    [
      `CREATE TABLE IF NOT EXISTS ${name}\n(`,
      [
        "  `bucket` DateTime",
        ...spec.dimensions.map((d, i) => {
          const f = dimensionTypes.get(d);
          return `  ${dims[i]} ${f ? renderColumnType(f.type, f.nullable) : "String"}`;
        }),
        ...metrics.map((m) => `  ${quoteIdentifier(m.name, "metric")} ${m.type}`),
        "  `_inserted_at` SimpleAggregateFunction(max, DateTime64(3))",
      ].join(",\n"),
      ")",
      "ENGINE = AggregatingMergeTree",
      "PARTITION BY toYYYYMM(bucket)",
      `ORDER BY (bucket${dims.map((d) => `, ${d}`).join("")})`,
      ...(spec.retentionDays === undefined
        ? []
        : [`TTL bucket + INTERVAL ${numberLiteral(spec.retentionDays, "spec.retentionDays")} DAY`]),
      `SETTINGS non_replicated_deduplication_window = ${deduplicationWindow}${nullableKey ? ", allow_nullable_key = 1" : ""}`,
    ].join("\n");

  const rootSelect = (where: string) =>
    [
      "SELECT",
      [
        `  toDateTime(toStartOfInterval(toDateTime(${quoteIdentifier(raw.eventTimeField, "eventTime.field")}), ${interval})) AS bucket`,
        ...dims.map((d) => `  ${d}`),
        ...metrics.map((m) => `  ${m.stateExpression} AS ${quoteIdentifier(m.name, "metric")}`),
        "  max(_inserted_at) AS _inserted_at",
      ].join(",\n"),
      // The filter runs in a subquery: the outer alias `_inserted_at` would otherwise shadow the column.
      `FROM (SELECT * FROM ${qualifiedName(raw.database, raw.table, "pipeline raw")} WHERE ${where})`,
      `GROUP BY bucket${dims.map((d) => `, ${d}`).join("")}`,
    ].join("\n");

  const viewSelect =
    parent === undefined
      ? rootSelect(`_inserted_at >= ${cutoff}${ownFilter ? ` AND ${ownFilter}` : ""}`)
      : [
          "SELECT",
          [
            `  toDateTime(toStartOfInterval(bucket, ${interval})) AS bucket`,
            ...dims.map((d) => `  ${d}`),
            ...metrics.map((m) => {
              const column = quoteIdentifier(m.name, "metric");
              return `  ${m.mergeFunction.replace(/Merge(\(|$)/, "MergeState$1")}(${column}) AS ${column}`;
            }),
            "  max(_inserted_at) AS _inserted_at",
          ].join(",\n"),
          `FROM (SELECT * FROM ${qualifiedName(database, parent.table, "source rollup")} WHERE _inserted_at >= ${cutoff}${ownFilter ? ` AND ${ownFilter}` : ""})`,
          `GROUP BY bucket${dims.map((d) => `, ${d}`).join("")}`,
        ].join("\n");

  const staging = qualifiedName(database, stagingTable, "rollup staging");
  const definitionHash = createHash("sha256")
    .update(
      JSON.stringify({
        spec: { ...spec, cacheTtl: undefined, deletionPolicy: undefined, backfill: undefined },
        raw: { ...raw, fields: [...raw.fields] },
        parent: parent?.table,
      }),
    )
    .digest("hex")
    .slice(0, 16);
  return {
    database,
    table,
    view,
    stagingTable,
    definitionHash,
    createTable: tableBody(target),
    createStagingTable: tableBody(staging),
    createView: `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualifiedName(database, view, "rollup view")} TO ${target} AS\n${viewSelect}`,
    truncateStaging: `TRUNCATE TABLE IF EXISTS ${staging}`,
    fillStaging: `INSERT INTO ${staging}\n${rootSelect(`_inserted_at < ${cutoff}${backfillFilter ? ` AND ${backfillFilter}` : ""}`)}`,
    dropStaging: `DROP TABLE IF EXISTS ${staging}`,
  };
}

/** Moves one staging partition into the serving table; atomic, and a no-op once moved. */
export function renderMovePartition(
  database: string,
  stagingTable: string,
  table: string,
  partitionId: string,
): string {
  if (!/^[0-9A-Za-z_-]+$/.test(partitionId))
    throw new SpecError("partition", `unexpected partition id "${partitionId}"`);
  return `ALTER TABLE ${qualifiedName(database, stagingTable, "rollup staging")} MOVE PARTITION ID ${quoteString(partitionId)} TO TABLE ${qualifiedName(database, table, "rollup")}`;
}

export function renderDropRollupVersion(database: string, table: string): readonly string[] {
  const objects = rollupVersionObjects(table);
  return [
    `DROP VIEW IF EXISTS ${qualifiedName(database, objects.view, "rollup view")}`,
    `DROP TABLE IF EXISTS ${qualifiedName(database, objects.table, "rollup")}`,
    `DROP TABLE IF EXISTS ${qualifiedName(database, objects.stagingTable, "rollup staging")}`,
  ];
}
