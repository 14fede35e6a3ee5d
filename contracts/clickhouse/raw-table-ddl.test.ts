import { describe, expect, it } from "vitest";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { examplePipelineSpec } from "../../test/support/fixtures/clickhouse-fixtures.js";
import { renderRawTableDdl, renderRawTableMigration } from "./raw-table-ddl.js";

describe("renderRawTableDdl", () => {
  it("renders the example pipeline's table (golden file)", async () => {
    const ddl = renderRawTableDdl(examplePipelineSpec());
    await expect(ddl.statements.join(";\n\n")).toMatchFileSnapshot("testdata/raw-table.sql");
  });

  it.each([
    ["no retention: no TTL", { retentionDays: undefined }, (sql: string) => expect(sql).not.toContain("TTL")],
    [
      "retention: a TTL in days",
      { retentionDays: 7 },
      (sql: string) => expect(sql).toContain("INTERVAL 7 DAY"),
    ],
  ])("%s", (_label, override, check) => {
    const spec = examplePipelineSpec();
    spec.sink.clickhouse = { ...spec.sink.clickhouse, ...override };
    check(renderRawTableDdl(spec).statements.join("\n"));
  });

  it("uses a DateTime event time as is, and converts DateTime64 for partitioning", () => {
    const spec = examplePipelineSpec();
    expect(renderRawTableDdl(spec).statements[1]).toContain("PARTITION BY toYYYYMMDD(toDateTime(`ts`))");
    spec.fields = spec.fields.map((f) => (f.name === "ts" ? { ...f, type: "DateTime" } : f));
    expect(renderRawTableDdl(spec).statements[1]).toContain("PARTITION BY toYYYYMMDD(`ts`)");
  });

  it("renders nullable LowCardinality the way ClickHouse requires", () => {
    const spec = examplePipelineSpec();
    spec.fields = spec.fields.map((f) => (f.name === "type" ? { ...f, nullable: true } : f));
    expect(renderRawTableDdl(spec).statements[1]).toContain("`type` LowCardinality(Nullable(String))");
  });

  it.each([
    [
      "table",
      (s: ReturnType<typeof examplePipelineSpec>) => (s.sink.clickhouse.table = "t`; DROP TABLE x --"),
    ],
    [
      "database",
      (s: ReturnType<typeof examplePipelineSpec>) => (s.sink.clickhouse.database = "db; SELECT 1"),
    ],
    [
      "field name",
      (s: ReturnType<typeof examplePipelineSpec>) =>
        (s.fields[0] = { name: "a b", type: "String", nullable: false }),
    ],
  ])("refuses an unsafe %s before any SQL is produced", (_label, mutate) => {
    const spec = examplePipelineSpec();
    mutate(spec);
    expect(() => renderRawTableDdl(spec)).toThrow(/not a safe identifier/);
  });
});

describe("renderRawTableMigration", () => {
  const spec = examplePipelineSpec();
  const current = renderRawTableDdl(spec).columns;

  it("does nothing when the table matches", () => {
    expect(renderRawTableMigration(spec, current)).toEqual({ statements: [], retainedColumns: [] });
  });

  it("adds a new field as a column", () => {
    const next = {
      ...spec,
      fields: [...spec.fields, { name: "country", type: "LowCardinality(String)" as const, nullable: false }],
    };
    expect(renderRawTableMigration(next, current).statements).toEqual([
      "ALTER TABLE `default`.`clickstream_events` ADD COLUMN IF NOT EXISTS `country` LowCardinality(String)",
    ]);
  });

  it("keeps the column of a removed field and says so", () => {
    const next = { ...spec, fields: spec.fields.filter((f) => f.name !== "url") };
    expect(renderRawTableMigration(next, current)).toEqual({ statements: [], retainedColumns: ["url"] });
  });

  it("refuses a type change with the field's path", () => {
    const next = {
      ...spec,
      fields: spec.fields.map((f) => (f.name === "value" ? { ...f, type: "Int64" as const } : f)),
    };
    const error = (() => {
      try {
        renderRawTableMigration(next, current);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).path).toBe("spec.fields[7].type");
    expect((error as SpecError).reason).toBe("ColumnTypeChangeRefused");
  });
});
