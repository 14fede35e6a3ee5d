/**
 * The rollup migration's decision, pure: from the current definition, the recorded status, what is
 * left in the building version's staging table and the time, the one next step. The controller
 * performs the step and records the result; since the phase lives in status and every step is
 * idempotent, a restarted operator asks again and resumes where the last one stopped.
 *
 *   (none) -create-> Created -wait for cutoff, backfill-> Filled -move staged, switch-> serving
 *
 * A definition changed mid-migration abandons the unfinished version and starts the next one.
 */
import type { RollupStatus } from "../../api/v1alpha1/rollup.js";
import { rollupTableName, rollupVersionObjects } from "../../contracts/clickhouse/rollup-ddl.js";

export type Migration = NonNullable<RollupStatus["migration"]>;

/** Wait after the cut-over instant before backfilling, so inserts stamped just before it have landed. */
export const cutoverSettleMs = 3_000;
/** How far ahead of now a new version's cut-over instant lies, so its view exists before it. */
export const cutoverLeadMs = 5_000;

export interface MigrationInput {
  readonly namespace: string;
  readonly name: string;
  /** Database and hash of the definition the spec and source describe now. */
  readonly database: string;
  readonly definitionHash: string;
  readonly status: RollupStatus;
  /** Partitions left in the building version's staging table; observed when a step asks for them. */
  readonly stagingPartitions?: readonly string[];
  readonly now: Date;
}

export type MigrationStep =
  /** The serving version has the current definition and no migration is under way. */
  | { readonly kind: "serving"; readonly version: number }
  /**
   * Drop the versions whose tables are in `drop`, then create the next version's tables and view
   * and record `migration` (phase Created).
   */
  | {
      readonly kind: "create";
      readonly migration: Migration;
      readonly drop: readonly string[];
      readonly requeueMs: number;
    }
  /** The cut-over instant (plus settling) is still ahead: come back then. */
  | { readonly kind: "waitForCutoff"; readonly ms: number }
  /** Refill the staging table with the rows before the cut-over, then record `migration` (Filled). */
  | { readonly kind: "backfill"; readonly migration: Migration }
  /** Read the staging table's active partitions, then decide again with them. */
  | { readonly kind: "observeStaging"; readonly database: string; readonly stagingTable: string }
  /**
   * Move `partitions` from staging into the new table, switch serving to it, drop its staging
   * table, and drop `superseded` (the previously serving table), if any.
   */
  | {
      readonly kind: "switch";
      readonly migration: Migration;
      readonly partitions: readonly string[];
      readonly superseded?: string;
    };

export function decideMigration(input: MigrationInput): MigrationStep {
  const { status } = input;
  const migration = status.migration;
  if (migration === undefined) {
    if (status.servingVersion !== undefined && status.ddlHash === input.definitionHash) {
      return { kind: "serving", version: status.servingVersion };
    }
    return startMigration(input, undefined);
  }
  // Redefined mid-migration: the unfinished version builds a definition nobody wants any more.
  if (migration.definitionHash !== input.definitionHash) return startMigration(input, migration);
  if (migration.phase === "Created") {
    const waitMs = Date.parse(migration.cutoff) + cutoverSettleMs - input.now.getTime();
    if (waitMs > 0) return { kind: "waitForCutoff", ms: waitMs };
    return { kind: "backfill", migration: { ...migration, phase: "Filled" } };
  }
  const table = rollupTableName(input.namespace, input.name, migration.version);
  if (input.stagingPartitions === undefined) {
    const { stagingTable } = rollupVersionObjects(table);
    return { kind: "observeStaging", database: input.database, stagingTable };
  }
  const previous = status.table;
  return {
    kind: "switch",
    migration,
    partitions: input.stagingPartitions,
    ...(previous !== undefined && previous !== table ? { superseded: previous } : {}),
  };
}

/**
 * The next version after both the serving one and any unfinished one, so no name is reused. Drops
 * first the unfinished version of an older definition, and the new version itself: an earlier
 * attempt may have created it without recording the plan, and its view (kept by IF NOT EXISTS)
 * would take rows from that attempt's earlier cut-over, which the backfill counts again.
 */
function startMigration(input: MigrationInput, unfinished: Migration | undefined): MigrationStep {
  const version = Math.max(input.status.servingVersion ?? 0, unfinished?.version ?? 0) + 1;
  const versions = unfinished === undefined ? [version] : [unfinished.version, version];
  return {
    kind: "create",
    migration: {
      version,
      database: input.database,
      definitionHash: input.definitionHash,
      cutoff: new Date(input.now.getTime() + cutoverLeadMs).toISOString(),
      phase: "Created",
    },
    drop: versions.map((v) => rollupTableName(input.namespace, input.name, v)),
    requeueMs: cutoverLeadMs + cutoverSettleMs,
  };
}
