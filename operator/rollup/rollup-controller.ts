/**
 * Rollup controller. A definition runs as a versioned table + materialized view; a changed
 * definition is built as the next version beside the serving one (see clickhouse/rollup-ddl.ts for
 * why no row is lost or counted twice), queries switch to it, then the old one is dropped. The
 * migration's cut-over instant and phase live in status, so a restarted operator or a new leader
 * resumes the same migration instead of starting another. Deletion honours deletionPolicy through
 * a finalizer, working from what status records (tables, database, connection Secret) since the
 * source may be deleted first or at the same time.
 */

import type { RollupObject } from "../../api/v1alpha1/objects.js";
import { apiVersion } from "../../api/v1alpha1/resources.js";
import type { RollupStatus } from "../../api/v1alpha1/rollup.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { formatProblems, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import {
  type RollupDdl,
  renderDropRollupVersion,
  renderMovePartition,
  renderRollupDdl,
  rollupTableName,
} from "../../contracts/clickhouse/rollup-ddl.js";
import { ClickhouseSession } from "../clickhouse/clickhouse-session.js";
import { deletionPolicyOf, ensureFinalizer, finishDeletion, runCleanup } from "../core/cleanup.js";
import { clickhouseCredentials } from "../core/clickhouse-credentials.js";
import { UnsupportedServerError } from "../core/clickhouse-failure-reason.js";
import { type Condition, type DesiredCondition, reasons, setConditions } from "../core/conditions.js";
import type { ControllerDefinition } from "../core/controller.js";
import type { EventRecorder } from "../core/events.js";
import { type KubeClient, resourceTypes } from "../core/kube-client.js";
import { objectLogger } from "../core/logger.js";
import { clickhouseStatements } from "../core/metrics.js";
import { SecretNotFoundError } from "../core/secrets.js";
import { writeStatusIfChanged } from "../core/status-writer.js";
import type { ReconcileOutcome } from "../core/work-queue.js";
import {
  type ResolvedRollupSource,
  resolveRollupSource,
  SourceNotReadyError,
} from "./resolve-rollup-source.js";
import { planRollupCleanup } from "./rollup-cleanup.js";

const rollupControllerName = "rollup";
const rollupFinalizer = "tally.dev/rollup-cleanup";
/** Wait after the cut-over instant before backfilling, so inserts stamped just before it have landed. */
const cutoverSettleMs = 3_000;
const cutoverLeadMs = 5_000;

interface RollupControllerDeps {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly now: () => Date;
}

export function rollupControllerDefinition(deps: RollupControllerDeps): ControllerDefinition<RollupObject> {
  return {
    name: rollupControllerName,
    primary: resourceTypes.rollup,
    // A source's change (its raw fields, or a parent's serving table) changes a rollup's definition.
    secondaries: [
      {
        type: resourceTypes.pipeline,
        keysFor: (_object, key, rollups) => rollupsFedBy("Pipeline", key, rollups),
      },
    ],
    dependents: (_object, key, rollups) => rollupsFedBy("Rollup", key, rollups),
    concurrency: 2,
    baseBackoffMs: 1000,
    maxBackoffMs: 120_000,
    timeoutMs: 10 * 60_000,
    resyncMs: 60_000,
    reconcile: (key) => reconcileRollup(deps, key),
  };
}

/** Keys of the rollups (among `rollups`) whose source is the object at `key`. */
function rollupsFedBy(kind: "Pipeline" | "Rollup", key: string, rollups: readonly RollupObject[]): string[] {
  const [namespace, name] = key.split("/", 2);
  return rollups
    .filter((r) => {
      const source = (r.spec as { source?: { kind?: string; name?: string } } | undefined)?.source;
      return r.metadata?.namespace === namespace && source?.kind === kind && source.name === name;
    })
    .map((r) => `${namespace}/${r.metadata?.name ?? ""}`);
}

type Observation =
  | { kind: "refused" | "blocked" | "waiting"; reason: DesiredCondition["reason"]; message: string }
  | { kind: "migrating"; message: string }
  | { kind: "serving"; message: string };

async function reconcileRollup(deps: RollupControllerDeps, key: string): Promise<ReconcileOutcome> {
  const [namespace, name] = key.split("/", 2) as [string, string];
  const log = objectLogger(rollupControllerName, key);
  let rollup = await deps.client.find<RollupObject>(resourceTypes.rollup, namespace, name);
  if (rollup === undefined) return { kind: "done" };

  if (rollup.metadata?.deletionTimestamp) return finalize(deps, rollup, namespace, name);
  rollup = await ensureFinalizer(deps.client, resourceTypes.rollup, rollup, rollupFinalizer);

  const validated = validateRollupSpec(rollup.spec);
  if (!validated.ok) {
    const message = formatProblems(validated.problems);
    await writeStatus(deps, rollup, {}, { kind: "refused", reason: reasons.InvalidSpec, message });
    return { kind: "terminal", error: new SpecError("spec", message) };
  }
  const spec = validated.value;

  let source: ResolvedRollupSource;
  try {
    source = await resolveRollupSource(deps.client, namespace, spec);
  } catch (error) {
    if (!(error instanceof SourceNotReadyError)) throw error;
    // A source still reconciling (a new Pipeline before its tables exist) is a wait, not a Warning.
    await writeStatus(
      deps,
      rollup,
      {},
      {
        kind: error.state === "pending" ? "waiting" : "blocked",
        reason: error.state === "missing" ? reasons.SourceNotFound : reasons.SourceNotReady,
        message: error.message,
      },
    );
    return { kind: "requeueAfter", ms: 10_000 };
  }

  // Recorded with every status write below, so deletion can reach ClickHouse without the source.
  const connectionSecret = source.pipeline.sink.clickhouse.connectionSecretRef.name;
  let session: ClickhouseSession;
  try {
    const credentials = await clickhouseCredentials(
      deps.client,
      namespace,
      connectionSecret,
      `Pipeline ${source.pipelineName} spec.sink.clickhouse.connectionSecretRef`,
    );
    session = ClickhouseSession.open(credentials);
    const version = await session.checkVersion();
    if (!version.supported) throw new UnsupportedServerError(version.message);
  } catch (error) {
    const reason =
      error instanceof SecretNotFoundError
        ? reasons.SecretNotFound
        : error instanceof UnsupportedServerError
          ? reasons.ClickHouseVersionUnsupported
          : reasons.ClickHouseUnavailable;
    await writeStatus(
      deps,
      rollup,
      {},
      { kind: "blocked", reason, message: error instanceof Error ? error.message : String(error) },
    );
    return { kind: "requeueAfter", ms: 15_000 };
  }

  try {
    const render = (version: number, cutoff: Date): RollupDdl =>
      renderRollupDdl({ namespace, name, spec, version, raw: source.raw, parent: source.parent, cutoff });
    const status = rollup.status ?? {};
    const serving = status.servingVersion;
    let probe: RollupDdl;
    try {
      probe = render(serving ?? 1, deps.now());
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      await writeStatus(
        deps,
        rollup,
        {},
        { kind: "refused", reason: reasons.InvalidSpec, message: error.message },
      );
      return { kind: "terminal", error };
    }

    // Serving and unchanged: nothing to do.
    if (serving !== undefined && status.ddlHash === probe.definitionHash && status.migration === undefined) {
      await writeStatus(
        deps,
        rollup,
        { connectionSecret },
        { kind: "serving", message: `serving version ${serving} from ${probe.database}.${status.table}` },
      );
      return { kind: "done" };
    }

    // Start (or restart, if the definition changed again) a migration: record the plan first.
    let migration = status.migration;
    if (migration === undefined || migration.definitionHash !== probe.definitionHash) {
      if (migration !== undefined) {
        // An unfinished version of an older definition: drop what it created.
        for (const statement of renderDropRollupVersion(
          probe.database,
          rollupTableName(namespace, name, migration.version),
        )) {
          await session.execute(statement);
        }
      }
      const version = Math.max(serving ?? 0, migration?.version ?? 0) + 1;
      migration = {
        version,
        database: probe.database,
        definitionHash: probe.definitionHash,
        cutoff: new Date(deps.now().getTime() + cutoverLeadMs).toISOString(),
        phase: "Created",
      };
      const ddl = render(version, new Date(migration.cutoff));
      for (const statement of [ddl.createTable, ddl.createStagingTable, ddl.createView]) {
        await session.execute(statement);
        clickhouseStatements.inc({ controller: rollupControllerName });
      }
      log.info({ version, cutoff: migration.cutoff }, "created rollup version");
      await writeStatus(
        deps,
        rollup,
        { migration, connectionSecret },
        { kind: "migrating", message: `building version ${version}` },
      );
      return { kind: "requeueAfter", ms: cutoverLeadMs + cutoverSettleMs };
    }

    const ddl = render(migration.version, new Date(migration.cutoff));
    if (migration.phase === "Created") {
      const waitMs = Date.parse(migration.cutoff) + cutoverSettleMs - deps.now().getTime();
      if (waitMs > 0) return { kind: "requeueAfter", ms: waitMs };
      // Idempotent: the staging table is emptied first, and nothing has been moved out of it yet.
      await session.execute(ddl.truncateStaging);
      if (spec.backfill) await session.execute(ddl.fillStaging);
      clickhouseStatements.inc({ controller: rollupControllerName }, 2);
      migration = { ...migration, phase: "Filled" };
      rollup = {
        ...rollup,
        status: await writeStatus(
          deps,
          rollup,
          { migration },
          { kind: "migrating", message: `backfilled version ${migration.version}` },
        ),
      };
    }

    // Each MOVE is atomic; a partition already moved is no longer in staging, so a retry skips it.
    for (const partition of await session.activePartitions(ddl.database, ddl.stagingTable)) {
      await session.execute(renderMovePartition(ddl.database, ddl.stagingTable, ddl.table, partition));
      clickhouseStatements.inc({ controller: rollupControllerName });
    }
    const previousTable = status.table;
    const switched: RollupStatus = {
      database: ddl.database,
      table: ddl.table,
      view: ddl.view,
      servingVersion: migration.version,
      ddlHash: migration.definitionHash,
      granularity: spec.granularity,
      connectionSecret,
      migration: undefined,
    };
    await writeStatus(deps, rollup, switched, {
      kind: "serving",
      message: `serving version ${migration.version} from ${ddl.database}.${ddl.table}`,
    });
    await session.execute(ddl.dropStaging);
    if (previousTable !== undefined && previousTable !== ddl.table) {
      for (const statement of renderDropRollupVersion(ddl.database, previousTable))
        await session.execute(statement);
      log.info({ dropped: previousTable }, "dropped previous rollup version");
    }
    await deps.recorder
      .record(
        { ...rollup, apiVersion, kind: "Rollup" },
        "Normal",
        "VersionServing",
        "Migrate",
        `version ${migration.version} serves queries from ${ddl.table}${previousTable ? `; ${previousTable} dropped` : ""}`,
      )
      .catch(() => undefined);
    return { kind: "done" };
  } finally {
    await session.close();
  }
}

/** Drops (or keeps) what the status records, per deletionPolicy; never needs the source. */
async function finalize(
  deps: RollupControllerDeps,
  rollup: RollupObject,
  namespace: string,
  name: string,
): Promise<ReconcileOutcome> {
  if (!rollup.metadata?.finalizers?.includes(rollupFinalizer)) return { kind: "done" };
  const policy = deletionPolicyOf(rollup.spec);
  const outcome = await runCleanup({
    client: deps.client,
    namespace,
    secret:
      rollup.status?.connectionSecret === undefined
        ? undefined
        : { name: rollup.status.connectionSecret, field: "status.connectionSecret" },
    plan: planRollupCleanup(namespace, name, policy, rollup.status),
    open: ClickhouseSession.open,
    controller: rollupControllerName,
  });
  await finishDeletion({
    client: deps.client,
    recorder: deps.recorder,
    log: objectLogger(rollupControllerName, `${namespace}/${name}`),
    type: resourceTypes.rollup,
    object: rollup,
    finalizer: rollupFinalizer,
    policy,
    outcome,
  });
  return { kind: "done" };
}

async function writeStatus(
  deps: RollupControllerDeps,
  rollup: RollupObject,
  changes: Partial<RollupStatus>,
  observation: Observation,
): Promise<RollupStatus> {
  const previous = rollup.status;
  const generation = rollup.metadata?.generation ?? 0;
  const ready: DesiredCondition =
    observation.kind === "serving"
      ? { type: "Ready", status: "True", reason: reasons.Reconciled, message: observation.message }
      : observation.kind === "migrating"
        ? previous?.servingVersion !== undefined
          ? {
              type: "Ready",
              status: "True",
              reason: reasons.Migrating,
              message: `serving version ${previous.servingVersion}; ${observation.message}`,
            }
          : { type: "Ready", status: "False", reason: reasons.Migrating, message: observation.message }
        : { type: "Ready", status: "False", reason: observation.reason, message: observation.message };
  const progressing: DesiredCondition =
    observation.kind === "migrating"
      ? { type: "Progressing", status: "True", reason: reasons.Migrating, message: observation.message }
      : { type: "Progressing", status: "False", reason: reasons.Reconciled, message: "" };
  const degraded: DesiredCondition =
    observation.kind === "refused"
      ? { type: "Degraded", status: "True", reason: observation.reason, message: observation.message }
      : { type: "Degraded", status: "False", reason: reasons.Reconciled, message: "" };
  const status: RollupStatus = {
    ...previous,
    ...changes,
    observedGeneration: generation,
    conditions: setConditions(
      previous?.conditions as Condition[] | undefined,
      [ready, progressing, degraded],
      generation,
      deps.now(),
    ),
  };
  if ("migration" in changes && changes.migration === undefined) delete status.migration;
  await writeStatusIfChanged({
    client: deps.client,
    recorder: deps.recorder,
    type: resourceTypes.rollup,
    object: rollup,
    previous,
    status,
    warning: observation.kind === "refused" || observation.kind === "blocked",
  });
  return status;
}
