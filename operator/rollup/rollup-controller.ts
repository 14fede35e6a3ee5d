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
import type { RollupSpec, RollupStatus } from "../../api/v1alpha1/rollup.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { formatProblems, validateRollupSpec } from "../../api/v1alpha1/validation.js";
import {
  type RollupDdl,
  renderDropRollupVersion,
  renderMovePartition,
  renderRollupDdl,
} from "../../contracts/clickhouse/rollup-ddl.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import { type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import { type ClickhouseCredentials, ClickhouseSession } from "../clickhouse/clickhouse-session.js";
import { deletionPolicyOf, ensureFinalizer, finishDeletion, runCleanup } from "../core/cleanup.js";
import { clickhouseCredentials } from "../core/clickhouse-credentials.js";
import { clickhouseFailureReason, UnsupportedServerError } from "../core/clickhouse-failure-reason.js";
import { type DesiredCondition, reasons, setConditions } from "../core/conditions.js";
import type { ControllerDefinition } from "../core/controller.js";
import { objectLogger } from "../core/logger.js";
import { clickhouseStatements } from "../core/metrics.js";
import { writeStatusIfChanged } from "../core/status-writer.js";
import type { ReconcileOutcome } from "../core/work-queue.js";
import {
  type ResolvedRollupSource,
  resolveRollupSource,
  SourceNotReadyError,
} from "./resolve-rollup-source.js";
import { planRollupCleanup } from "./rollup-cleanup.js";
import { decideMigration, type Migration, type MigrationStep } from "./rollup-migration.js";

const rollupControllerName = "rollup";
const rollupFinalizer = "tally.dev/rollup-cleanup";

/** What the controller does with ClickHouse; a unit test passes a fake through `openClickhouse`. */
export type RollupSession = Pick<
  ClickhouseSession,
  "checkVersion" | "execute" | "activePartitions" | "close"
>;

export interface RollupControllerDeps {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly now: () => Date;
  /** Opens a ClickHouse session; ClickhouseSession.open unless a test injects one. */
  readonly openClickhouse?: (credentials: ClickhouseCredentials) => RollupSession;
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

  const source = await resolveSourceOrWait(deps, rollup, namespace, spec);
  if (source === undefined) return { kind: "requeueAfter", ms: 10_000 };

  // Recorded with every status write below, so deletion can reach ClickHouse without the source.
  const connectionSecret = source.pipeline.sink.clickhouse.connectionSecretRef.name;
  let session: RollupSession | undefined;
  // Every path that opened a session closes it, the failed version check included.
  try {
    try {
      const credentials = await clickhouseCredentials(
        deps.client,
        namespace,
        connectionSecret,
        `Pipeline ${source.pipelineName} spec.sink.clickhouse.connectionSecretRef`,
      );
      session = (deps.openClickhouse ?? ClickhouseSession.open)(credentials);
      const version = await session.checkVersion();
      if (!version.supported) throw new UnsupportedServerError(version.message);
    } catch (error) {
      await writeStatus(deps, rollup, {}, connectionBlocked(error));
      return { kind: "requeueAfter", ms: 15_000 };
    }
    return await migrate({ deps, rollup, spec, source, session, connectionSecret, namespace, name });
  } finally {
    await session?.close();
  }
}

/** The resolved source, or undefined once status says why the rollup waits for it. */
async function resolveSourceOrWait(
  deps: RollupControllerDeps,
  rollup: RollupObject,
  namespace: string,
  spec: RollupSpec,
): Promise<ResolvedRollupSource | undefined> {
  try {
    return await resolveRollupSource(deps.client, namespace, spec);
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
    return undefined;
  }
}

function connectionBlocked(error: unknown): Observation {
  return {
    kind: "blocked",
    reason: clickhouseFailureReason(error),
    message: error instanceof Error ? error.message : String(error),
  };
}

interface MigrationContext {
  readonly deps: RollupControllerDeps;
  readonly rollup: RollupObject;
  readonly spec: RollupSpec;
  readonly source: ResolvedRollupSource;
  readonly session: RollupSession;
  readonly connectionSecret: string;
  readonly namespace: string;
  readonly name: string;
}

type RenderVersion = (version: number, cutoff: Date) => RollupDdl;

/** Asks decideMigration for the next step and performs it, until a step ends this reconcile. */
async function migrate(context: MigrationContext): Promise<ReconcileOutcome> {
  const { deps, spec, source, namespace, name, session } = context;
  const render: RenderVersion = (version, cutoff) =>
    renderRollupDdl({ namespace, name, spec, version, raw: source.raw, parent: source.parent, cutoff });
  let rollup = context.rollup;
  let probe: RollupDdl;
  try {
    probe = render(rollup.status?.servingVersion ?? 1, deps.now());
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
  let stagingPartitions: readonly string[] | undefined;
  for (;;) {
    const status = rollup.status ?? {};
    const step = decideMigration({
      namespace,
      name,
      database: probe.database,
      definitionHash: probe.definitionHash,
      status,
      stagingPartitions,
      now: deps.now(),
    });
    switch (step.kind) {
      case "serving":
        await writeStatus(
          deps,
          rollup,
          { connectionSecret: context.connectionSecret },
          {
            kind: "serving",
            message: `serving version ${step.version} from ${probe.database}.${status.table}`,
          },
        );
        return { kind: "done" };
      case "create":
        return createVersion(context, rollup, step, render);
      case "waitForCutoff":
        return { kind: "requeueAfter", ms: step.ms };
      case "backfill":
        rollup = { ...rollup, status: await backfill(context, rollup, step.migration, render) };
        break;
      case "observeStaging":
        stagingPartitions = await session.activePartitions(step.database, step.stagingTable);
        break;
      case "switch":
        return switchServing(context, rollup, step, render);
    }
  }
}

/** Creates the next version (after dropping what step.drop names) and records the plan. */
async function createVersion(
  { deps, session, connectionSecret, namespace, name }: MigrationContext,
  rollup: RollupObject,
  step: Extract<MigrationStep, { kind: "create" }>,
  render: RenderVersion,
): Promise<ReconcileOutcome> {
  const { migration } = step;
  const ddl = render(migration.version, new Date(migration.cutoff));
  for (const table of step.drop) {
    for (const statement of renderDropRollupVersion(ddl.database, table)) await session.execute(statement);
  }
  for (const statement of [ddl.createTable, ddl.createStagingTable, ddl.createView]) {
    await session.execute(statement);
    clickhouseStatements.inc({ controller: rollupControllerName });
  }
  objectLogger(rollupControllerName, `${namespace}/${name}`).info(
    { version: migration.version, cutoff: migration.cutoff },
    "created rollup version",
  );
  await writeStatus(
    deps,
    rollup,
    { migration, connectionSecret },
    { kind: "migrating", message: `building version ${migration.version}` },
  );
  return { kind: "requeueAfter", ms: step.requeueMs };
}

/** Refills staging with the rows before the cut-over and records phase Filled; returns the new status. */
async function backfill(
  { deps, spec, session }: MigrationContext,
  rollup: RollupObject,
  migration: Migration,
  render: RenderVersion,
): Promise<RollupStatus> {
  const ddl = render(migration.version, new Date(migration.cutoff));
  // Idempotent: the staging table is emptied first, and nothing has been moved out of it yet.
  await session.execute(ddl.truncateStaging);
  if (spec.backfill) await session.execute(ddl.fillStaging);
  clickhouseStatements.inc({ controller: rollupControllerName }, 2);
  return writeStatus(
    deps,
    rollup,
    { migration },
    { kind: "migrating", message: `backfilled version ${migration.version}` },
  );
}

/** Moves the staged partitions in, switches serving to the new version and drops what it supersedes. */
async function switchServing(
  { deps, spec, session, connectionSecret, namespace, name }: MigrationContext,
  rollup: RollupObject,
  step: Extract<MigrationStep, { kind: "switch" }>,
  render: RenderVersion,
): Promise<ReconcileOutcome> {
  const { migration, superseded } = step;
  const ddl = render(migration.version, new Date(migration.cutoff));
  // Each MOVE is atomic; a partition already moved is no longer in staging, so a retry skips it.
  for (const partition of step.partitions) {
    await session.execute(renderMovePartition(ddl.database, ddl.stagingTable, ddl.table, partition));
    clickhouseStatements.inc({ controller: rollupControllerName });
  }
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
  if (superseded !== undefined) {
    for (const statement of renderDropRollupVersion(ddl.database, superseded))
      await session.execute(statement);
    objectLogger(rollupControllerName, `${namespace}/${name}`).info(
      { dropped: superseded },
      "dropped previous rollup version",
    );
  }
  await deps.recorder
    .record(
      { ...rollup, apiVersion, kind: "Rollup" },
      "Normal",
      "VersionServing",
      "Migrate",
      `version ${migration.version} serves queries from ${ddl.table}${superseded ? `; ${superseded} dropped` : ""}`,
    )
    .catch(() => undefined);
  return { kind: "done" };
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
    conditions: setConditions(previous?.conditions, [ready, progressing, degraded], generation, deps.now()),
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
