import { describe, expect, it } from "vitest";
import type { RollupSpec } from "../../api/v1alpha1/rollup.js";
import {
  examplePipelineSpec,
  rawSourceOf,
  rollupSpec,
} from "../../test/support/fixtures/clickhouse-fixtures.js";
import {
  renderDropRollupVersion,
  renderMovePartition,
  renderRollupDdl,
  rollupTableName,
} from "./rollup-ddl.js";

const raw = rawSourceOf(examplePipelineSpec());
const cutoff = new Date("2026-11-23T10:00:00.000Z");
const minute = rollupSpec({
  source: { kind: "Pipeline", name: "clickstream" },
  granularity: "1m",
  dimensions: ["type", "url"],
  metrics: [
    { fn: "count", name: "events" },
    { fn: "uniq", name: "users", field: "user_id" },
    { fn: "sum", name: "revenue", field: "value" },
    { fn: "quantiles", name: "latency", field: "latency_ms", quantiles: [0.5, 0.99] },
  ],
  filter: [{ field: "type", operator: "in", values: ["click", "purchase"] }],
  retentionDays: 30,
});
const hour = rollupSpec({
  source: { kind: "Rollup", name: "clicks-1m" },
  granularity: "1h",
  dimensions: ["type"],
  metrics: [{ fn: "count", name: "events" }],
});

function render(spec: RollupSpec, extra: Partial<Parameters<typeof renderRollupDdl>[0]> = {}) {
  return renderRollupDdl({
    namespace: "default",
    name: "clicks-1m",
    spec,
    version: 1,
    raw,
    cutoff,
    ...extra,
  });
}

describe("renderRollupDdl", () => {
  it("renders a minute rollup from the raw table (golden file)", async () => {
    const ddl = render(minute);
    await expect(
      [
        ddl.createTable,
        ddl.createStagingTable,
        ddl.createView,
        ddl.truncateStaging,
        ddl.fillStaging,
        ddl.dropStaging,
      ].join(";\n\n"),
    ).toMatchFileSnapshot("testdata/rollup-minute.sql");
  });

  it("renders an hour rollup cascading from the minute one (golden file)", async () => {
    const ddl = render(hour, {
      name: "clicks-1h",
      parent: {
        spec: minute,
        table: rollupTableName("default", "clicks-1m", 1),
        inheritedFilters: minute.filter ?? [],
      },
    });
    await expect([ddl.createTable, ddl.createView, ddl.fillStaging].join(";\n\n")).toMatchFileSnapshot(
      "testdata/rollup-hour-cascade.sql",
    );
    // The cascade's backfill reads the raw table with the parent's filter, so both agree on what counts.
    expect(ddl.fillStaging).toContain("FROM `default`.`clickstream_events`");
    expect(ddl.fillStaging).toContain("`type` IN ('click', 'purchase')");
    expect(ddl.createView).toContain("countMergeState(`events`)");
  });

  it("splits rows between view and backfill at the same cut-over instant", () => {
    const ddl = render(minute);
    const instant = "toDateTime64('2026-11-23 10:00:00.000', 3, 'UTC')";
    expect(ddl.createView).toContain(`_inserted_at >= ${instant}`);
    expect(ddl.fillStaging).toContain(`_inserted_at < ${instant}`);
  });

  it.each<[string, unknown, RegExp]>([
    [
      "a dimension that is not a field",
      { dimensions: ["country"] },
      /spec\.dimensions\[0\].*"country" is not a field/,
    ],
    [
      "sum over a string",
      { metrics: [{ fn: "sum", name: "s", field: "user_id" }] },
      /spec\.metrics\[0\]\.field: sum needs a numeric field/,
    ],
    [
      "a metric over a missing field",
      { metrics: [{ fn: "max", name: "m", field: "nope" }] },
      /spec\.metrics\[0\]\.field/,
    ],
    [
      "a filter on a missing field",
      { filter: [{ field: "nope", operator: "eq", values: ["x"] }] },
      /spec\.filter\[0\]\.field/,
    ],
    [
      "a non-numeric value for a number",
      { filter: [{ field: "value", operator: "gt", values: ["lots"] }] },
      /spec\.filter\[0\]\.values\[0\]: "lots" is not a number/,
    ],
  ])("refuses %s, naming the field", (_label, override, message) => {
    expect(() => render(rollupSpec({ ...minute, ...(override as object) }))).toThrow(message);
  });

  it.each<[string, unknown, RegExp]>([
    ["a dimension the parent lacks", { dimensions: ["user_id"] }, /not a dimension of the source rollup/],
    [
      "a metric defined differently",
      { metrics: [{ fn: "uniq", name: "events", field: "user_id" }] },
      /defined exactly as in the source rollup/,
    ],
    ["a granularity that is not coarser", { granularity: "1m" }, /coarser/],
  ])("refuses a cascade with %s", (_label, override, message) => {
    const spec = { ...hour, ...(override as object) } as RollupSpec;
    expect(() =>
      render(spec, { parent: { spec: minute, table: "rollup_default__clicks_1m_v1", inheritedFilters: [] } }),
    ).toThrow(message);
  });

  it("quotes filter strings, so an injection attempt stays a value", () => {
    const ddl = render(
      rollupSpec({
        ...minute,
        filter: [{ field: "url", operator: "eq", values: ["x'); DROP TABLE t; --"] }],
      }),
    );
    expect(ddl.createView).toContain("`url` = 'x\\'); DROP TABLE t; --'");
  });

  it("changes the definition hash only when the definition changes", () => {
    expect(render(minute).definitionHash).toBe(render({ ...minute, cacheTtl: "5m" }).definitionHash);
    expect(render(minute).definitionHash).not.toBe(
      render({ ...minute, dimensions: ["type"] }).definitionHash,
    );
  });
});

describe("rollupTableName", () => {
  it.each([
    ["default", "clicks-1m", 3, "rollup_default__clicks_1m_v3"],
    ["team.a", "x", 1, "rollup_team_a__x_v1"],
  ])("%s/%s v%d → %s", (namespace, name, version, table) => {
    expect(rollupTableName(namespace, name, version)).toBe(table);
  });

  it("stays a valid identifier for the longest names, and distinct for distinct names", () => {
    const a = rollupTableName("n".repeat(63), `${"a".repeat(200)}-1`, 12);
    const b = rollupTableName("n".repeat(63), `${"a".repeat(200)}-2`, 12);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    expect(a).not.toBe(b);
  });
});

describe("renderMovePartition and renderDropRollupVersion", () => {
  it("moves a partition by id and refuses odd ids", () => {
    expect(renderMovePartition("default", "t_backfill", "t", "202611")).toBe(
      "ALTER TABLE `default`.`t_backfill` MOVE PARTITION ID '202611' TO TABLE `default`.`t`",
    );
    expect(() => renderMovePartition("default", "t_backfill", "t", "2026' OR 1")).toThrow(
      /unexpected partition id/,
    );
  });

  it("drops the view before the table", () => {
    expect(renderDropRollupVersion("default", "t")).toEqual([
      "DROP VIEW IF EXISTS `default`.`t_mv`",
      "DROP TABLE IF EXISTS `default`.`t`",
      "DROP TABLE IF EXISTS `default`.`t_backfill`",
    ]);
  });
});
