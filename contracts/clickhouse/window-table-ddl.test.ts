import { describe, expect, it } from "vitest";
import { examplePipelineSpec } from "../../test/support/fixtures/clickhouse-fixtures.js";
import { UnsafeSqlValueError } from "./sql.js";
import { renderWindowPartialsQuery, renderWindowTableDdl, windowTableName } from "./window-table-ddl.js";

describe("renderWindowTableDdl", () => {
  it("renders the example pipeline's window table (golden file)", async () => {
    const ddl = renderWindowTableDdl(examplePipelineSpec());
    expect(ddl.table).toBe("clickstream_events_windows");
    await expect(ddl.statements.join(";\n\n")).toMatchFileSnapshot("testdata/window-table.sql");
  });

  it("keeps the latest version per partition share and hides retractions", () => {
    const sql = renderWindowTableDdl(examplePipelineSpec()).statements[1] ?? "";
    expect(sql).toContain("ENGINE = ReplacingMergeTree(version, is_deleted)");
    expect(sql).toContain("ORDER BY (window_name, window_start, group_key, source_topic, source_partition)");
    expect(sql).toContain("non_replicated_deduplication_window = 10000");
  });

  it.each([
    ["no retention: no TTL", undefined, false],
    ["retention: a TTL on window_end", 30, true],
  ])("%s", (_label, retentionDays, hasTtl) => {
    const spec = examplePipelineSpec();
    spec.sink.clickhouse = { ...spec.sink.clickhouse, retentionDays };
    const sql = renderWindowTableDdl(spec).statements.join("\n");
    expect(sql.includes("TTL toDateTime(window_end) + INTERVAL 30 DAY")).toBe(hasTtl);
  });

  it("refuses an unsafe table name rather than quoting it", () => {
    const spec = examplePipelineSpec();
    spec.sink.clickhouse = { ...spec.sink.clickhouse, table: "x`; DROP TABLE y" };
    expect(() => renderWindowTableDdl(spec)).toThrow(UnsafeSqlValueError);
  });
});

describe("windowTableName", () => {
  it("appends _windows", () => {
    expect(windowTableName("events")).toBe("events_windows");
  });

  it("stays a valid identifier for the longest raw table names, distinct per name", () => {
    const a = windowTableName("a".repeat(63));
    const b = windowTableName(`${"a".repeat(62)}b`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[A-Za-z_][A-Za-z0-9_]*_windows$/);
    expect(a).not.toBe(b);
  });
});

describe("renderWindowPartialsQuery", () => {
  it("reads FINAL rows of one window with bound parameters only", () => {
    const sql = renderWindowPartialsQuery(examplePipelineSpec());
    expect(sql).toContain("FROM `default`.`clickstream_events_windows` FINAL");
    expect(sql).toContain("{window:String}");
    expect(sql).toContain("{from:Int64}");
  });
});
