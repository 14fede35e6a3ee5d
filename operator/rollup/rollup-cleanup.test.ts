import { describe, expect, it } from "vitest";
import type { RollupStatus } from "../../api/v1alpha1/rollup.js";
import { type CleanupObject, describeCleanup, renderDropStatement } from "../core/cleanup.js";
import { planRollupCleanup } from "./rollup-cleanup.js";

const serving: RollupStatus = {
  database: "analytics",
  table: "rollup_shop__clicks_v1",
  view: "rollup_shop__clicks_v1_mv",
  servingVersion: 1,
  connectionSecret: "tally-clickhouse",
};
const migration = {
  version: 2,
  definitionHash: "abc",
  cutoff: new Date(0).toISOString(),
  phase: "Created" as const,
};

/** `action name` per object, in plan order: the whole decision in one comparable list. */
function actions(status: RollupStatus | undefined, policy: "Retain" | "Delete"): string[] {
  return planRollupCleanup("shop", "clicks", policy, status).objects.map(
    (o) => `${o.action} ${o.kind} ${o.database}.${o.name}`,
  );
}

describe("planRollupCleanup", () => {
  it("Delete drops the serving version's view, table and staging table, the view first", () => {
    expect(actions(serving, "Delete")).toEqual([
      "drop view analytics.rollup_shop__clicks_v1_mv",
      "drop table analytics.rollup_shop__clicks_v1",
      "drop table analytics.rollup_shop__clicks_v1_backfill",
    ]);
  });

  it("Retain keeps the serving table and drops its view, so the kept table stops changing", () => {
    expect(actions(serving, "Retain")).toEqual([
      "drop view analytics.rollup_shop__clicks_v1_mv",
      "keep table analytics.rollup_shop__clicks_v1",
      "drop table analytics.rollup_shop__clicks_v1_backfill",
    ]);
  });

  it("during a migration drops the unfinished version under both policies, every view before any table", () => {
    const status = { ...serving, migration: { ...migration, database: "analytics" } };
    expect(actions(status, "Retain")).toEqual([
      "drop view analytics.rollup_shop__clicks_v1_mv",
      "drop view analytics.rollup_shop__clicks_v2_mv",
      "keep table analytics.rollup_shop__clicks_v1",
      "drop table analytics.rollup_shop__clicks_v1_backfill",
      "drop table analytics.rollup_shop__clicks_v2",
      "drop table analytics.rollup_shop__clicks_v2_backfill",
    ]);
    expect(actions(status, "Delete").filter((a) => a.startsWith("keep"))).toEqual([]);
  });

  it("also drops superseded versions, in case a crash left one behind after the switch", () => {
    const status = {
      ...serving,
      table: "rollup_shop__clicks_v3",
      view: "rollup_shop__clicks_v3_mv",
      servingVersion: 3,
    };
    expect(actions(status, "Retain")).toEqual([
      "drop view analytics.rollup_shop__clicks_v3_mv",
      "drop view analytics.rollup_shop__clicks_v1_mv",
      "drop view analytics.rollup_shop__clicks_v2_mv",
      "keep table analytics.rollup_shop__clicks_v3",
      "drop table analytics.rollup_shop__clicks_v3_backfill",
      "drop table analytics.rollup_shop__clicks_v1",
      "drop table analytics.rollup_shop__clicks_v1_backfill",
      "drop table analytics.rollup_shop__clicks_v2",
      "drop table analytics.rollup_shop__clicks_v2_backfill",
    ]);
  });

  it("drops a first version still being built, which no serving field names yet", () => {
    const status: RollupStatus = {
      connectionSecret: "tally-clickhouse",
      migration: { ...migration, version: 1, database: "analytics" },
    };
    expect(actions(status, "Delete")).toEqual([
      "drop view analytics.rollup_shop__clicks_v1_mv",
      "drop table analytics.rollup_shop__clicks_v1",
      "drop table analytics.rollup_shop__clicks_v1_backfill",
    ]);
  });

  it("drops each version in the database it was built in", () => {
    const status = { ...serving, migration: { ...migration, database: "moved" } };
    expect(actions(status, "Delete")).toContain("drop view moved.rollup_shop__clicks_v2_mv");
    expect(actions(status, "Delete")).toContain("drop view analytics.rollup_shop__clicks_v1_mv");
  });

  it("plans nothing for a rollup that created nothing", () => {
    expect(actions(undefined, "Delete")).toEqual([]);
    expect(actions({ observedGeneration: 1 }, "Retain")).toEqual([]);
  });
});

describe("describeCleanup and renderDropStatement", () => {
  const view: CleanupObject = {
    kind: "view",
    database: "analytics",
    name: "t_mv",
    role: "rollup view (serving version 1)",
    action: "drop",
  };
  const table: CleanupObject = {
    ...view,
    kind: "table",
    name: "t",
    role: "rollup table (serving version 1)",
  };

  it("names what was dropped and what was kept", () => {
    expect(
      describeCleanup("Retain", { kind: "done", result: { dropped: [view], kept: [table], absent: [] } }),
    ).toBe(
      "deletionPolicy Retain: dropped rollup view (serving version 1) analytics.t_mv; kept rollup table (serving version 1) analytics.t",
    );
  });

  it("says so when nothing had been created, and warns when ClickHouse could not be reached", () => {
    expect(
      describeCleanup("Delete", { kind: "done", result: { dropped: [], kept: [], absent: [view] } }),
    ).toBe("deletionPolicy Delete: no ClickHouse objects had been created, so none were dropped");
    expect(
      describeCleanup("Delete", {
        kind: "skipped",
        why: "Secret shop/x does not exist",
        left: [view, table],
      }),
    ).toBe(
      "deletionPolicy Delete, but Secret shop/x does not exist: dropped nothing; left to drop by hand (where they exist): rollup view (serving version 1) analytics.t_mv, rollup table (serving version 1) analytics.t",
    );
  });

  it("drops a view as a view and a table as a table", () => {
    expect(renderDropStatement(view)).toBe("DROP VIEW IF EXISTS `analytics`.`t_mv`");
    expect(renderDropStatement(table)).toBe("DROP TABLE IF EXISTS `analytics`.`t`");
  });
});
