/**
 * What deleting a Rollup drops (pure), from its status alone: the serving version, the version being
 * built during a migration, and any superseded version a crash left behind. Retain keeps the serving
 * table with its data and drops its view (so the table stops changing); every other version is
 * dropped under either policy, since no query reads it and an unfinished one holds part of the data.
 */
import type { RollupStatus } from "../../api/v1alpha1/rollup.js";
import { rollupTableName, rollupVersionObjects } from "../../contracts/clickhouse/rollup-ddl.js";
import type { CleanupObject, CleanupPlan, DeletionPolicy } from "../core/cleanup.js";

function versionObjects(database: string, table: string, label: string, keepTable: boolean): CleanupObject[] {
  const names = rollupVersionObjects(table);
  return [
    { kind: "view", database, name: names.view, role: `rollup view (${label})`, action: "drop" },
    {
      kind: "table",
      database,
      name: names.table,
      role: `rollup table (${label})`,
      action: keepTable ? "keep" : "drop",
    },
    {
      kind: "table",
      database,
      name: names.stagingTable,
      role: `backfill staging table (${label})`,
      action: "drop",
    },
  ];
}

export function planRollupCleanup(
  namespace: string,
  name: string,
  policy: DeletionPolicy,
  status: RollupStatus | undefined,
): CleanupPlan {
  const objects: CleanupObject[] = [];
  if (status?.database !== undefined && status.table !== undefined) {
    const serving = status.servingVersion ?? 1;
    objects.push(
      ...versionObjects(status.database, status.table, `serving version ${serving}`, policy === "Retain"),
    );
    // A superseded version is dropped right after the switch; one left by a crash in between is
    // named nowhere else, and its view would keep writing. Those that are gone are skipped.
    for (let version = 1; version < serving; version++) {
      objects.push(
        ...versionObjects(
          status.database,
          rollupTableName(namespace, name, version),
          `superseded version ${version}`,
          false,
        ),
      );
    }
  }
  const migration = status?.migration;
  const migrationDatabase = migration?.database ?? status?.database;
  if (migration !== undefined && migrationDatabase !== undefined) {
    objects.push(
      ...versionObjects(
        migrationDatabase,
        rollupTableName(namespace, name, migration.version),
        `unfinished version ${migration.version}`,
        false,
      ),
    );
  }
  // Every view first: none may write into a table dropped before it.
  return {
    policy,
    objects: [...objects.filter((o) => o.kind === "view"), ...objects.filter((o) => o.kind !== "view")],
  };
}
