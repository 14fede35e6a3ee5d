/**
 * Pipeline controller: read → validate → gather (Secret, ClickHouse) → render → apply → status.
 * A spec that cannot succeed is refused in a condition and an Event and not retried until it
 * changes; a missing Secret or an unreachable ClickHouse is retried with backoff. A finalizer
 * applies deletionPolicy to the raw and window tables and the live windows in Redis; the runtime
 * objects go by garbage collection.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import { configuredReplicas } from "../../api/v1alpha1/defaults.js";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec, PipelineStatus } from "../../api/v1alpha1/pipeline.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import { validatePipelineSemantics } from "../../api/v1alpha1/validate-pipeline.js";
import { formatProblems, validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import { renderRawTableDdl, renderRawTableMigration } from "../../contracts/clickhouse/raw-table-ddl.js";
import { renderWindowTableDdl } from "../../contracts/clickhouse/window-table-ddl.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import { type KubeClient, type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";
import { type ClickhouseCredentials, ClickhouseSession } from "../clickhouse/clickhouse-session.js";
import { applyIfChanged } from "../core/apply-objects.js";
import { ensureFinalizer, finishDeletion, runCleanup } from "../core/cleanup.js";
import { clickhouseCredentials } from "../core/clickhouse-credentials.js";
import { clickhouseFailureReason, UnsupportedServerError } from "../core/clickhouse-failure-reason.js";
import { findCondition, reasons } from "../core/conditions.js";
import type { ControllerDefinition } from "../core/controller.js";
import { changedBeyondStatus, ownerKeys } from "../core/controller.js";
import { objectLogger } from "../core/logger.js";
import { clickhouseStatements } from "../core/metrics.js";
import { writeStatusIfChanged } from "../core/status-writer.js";
import type { ReconcileOutcome } from "../core/work-queue.js";
import { fieldManager, pipelineSelectorLabels, renderSelector } from "../labels.js";
import { pipelineDeletionFacts, planPipelineCleanup } from "./pipeline-cleanup.js";
import {
  describeLiveWindowsCleanup,
  planLiveWindowsCleanup,
  runLiveWindowsCleanup,
} from "./pipeline-live-windows-cleanup.js";
import { computePipelineStatus, type PipelineObservation, pipelineStatusFields } from "./pipeline-status.js";
import { objectNameFor, type RuntimeSettings, renderPipelineObjects } from "./render-pipeline-objects.js";

interface PipelineControllerDeps {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly settings: RuntimeSettings;
  readonly now: () => Date;
  readonly openClickhouse?: (credentials: ClickhouseCredentials) => ClickhouseSession;
}

const pipelineControllerName = "pipeline";
const pipelineFinalizer = "tally.dev/pipeline-cleanup";

export function pipelineControllerDefinition(
  deps: PipelineControllerDeps,
): ControllerDefinition<PipelineObject> {
  return {
    name: pipelineControllerName,
    primary: resourceTypes.pipeline,
    secondaries: [
      {
        type: resourceTypes.deployment,
        labelSelector: "app.kubernetes.io/managed-by=tally-operator",
        keysFor: ownerKeys("Pipeline"),
      },
    ],
    concurrency: 4,
    baseBackoffMs: 500,
    maxBackoffMs: 60_000,
    timeoutMs: 120_000,
    resyncMs: 5 * 60_000,
    // Status writes (ours, the autoscaler's every few seconds) change nothing this controller renders.
    primaryChanged: changedBeyondStatus,
    reconcile: (key) => reconcilePipeline(deps, key),
  };
}

async function reconcilePipeline(deps: PipelineControllerDeps, key: string): Promise<ReconcileOutcome> {
  const [namespace, name] = key.split("/", 2) as [string, string];
  const log = objectLogger(pipelineControllerName, key);
  // Always read the live object: the cache may lag our own status writes.
  let pipeline = await deps.client.find<PipelineObject>(resourceTypes.pipeline, namespace, name);
  if (pipeline === undefined) return { kind: "done" };
  if (pipeline.metadata?.deletionTimestamp) return finalize(deps, pipeline, key);
  // Before any table exists, so none can outlive the Pipeline unreported.
  pipeline = await ensureFinalizer(deps.client, resourceTypes.pipeline, pipeline, pipelineFinalizer);

  const validated = validatePipelineSpec(pipeline.spec);
  const problems = validated.ok ? validatePipelineSemantics(validated.value) : validated.problems;
  if (!validated.ok || problems.length > 0) {
    const message = formatProblems(problems);
    await writeStatus(deps, pipeline, { kind: "refused", reason: reasons.InvalidSpec, message });
    return { kind: "terminal", error: new SpecError("spec", message) };
  }
  const spec = validated.value;

  let retainedColumns: readonly string[];
  let table: { database: string; table: string };
  try {
    ({ retainedColumns, table } = await ensureRawTable(deps, namespace, spec));
  } catch (error) {
    if (error instanceof SpecError) {
      await writeStatus(deps, pipeline, {
        kind: "refused",
        reason: error.reason as typeof reasons.InvalidSpec,
        message: error.message,
      });
      return { kind: "terminal", error };
    }
    const refused = error instanceof UnsupportedServerError;
    await writeStatus(deps, pipeline, {
      kind: refused ? "refused" : "blocked",
      reason: clickhouseFailureReason(error),
      message: error instanceof Error ? error.message : String(error),
    });
    // An unsupported server or a missing Secret changes outside the spec: look again later.
    return { kind: "requeueAfter", ms: refused ? 5 * 60_000 : 15_000 };
  }

  const replicas = configuredReplicas(spec);
  const ref = { namespace, name, uid: pipeline.metadata?.uid ?? "" };
  const objects = renderPipelineObjects(ref, spec, deps.settings);
  const results = [
    await applyIfChanged(deps.client, resourceTypes.configMap, objects.configMap, fieldManager),
    await applyIfChanged(deps.client, resourceTypes.service, objects.service, fieldManager),
    await applyIfChanged(
      deps.client,
      resourceTypes.podDisruptionBudget,
      objects.podDisruptionBudget,
      fieldManager,
    ),
    await applyIfChanged(deps.client, resourceTypes.deployment, objects.deployment, fieldManager),
  ];
  if (results.some((r) => r !== "noop")) log.info({ results }, "applied runtime objects");

  const deployment = await deps.client.find<V1Deployment & KubeObject>(
    resourceTypes.deployment,
    namespace,
    objectNameFor(name),
  );
  const observation: PipelineObservation = {
    kind: "applied",
    deployment,
    desiredReplicas: replicas,
    selector: renderSelector(pipelineSelectorLabels(name)),
    configHash: objects.configHash,
    table,
    retainedColumns,
  };
  const status = await writeStatus(deps, pipeline, observation);
  return findCondition(status.conditions, "Ready")?.status === "True"
    ? { kind: "done" }
    : { kind: "requeueAfter", ms: 10_000 };
}

async function ensureRawTable(
  deps: PipelineControllerDeps,
  namespace: string,
  spec: PipelineSpec,
): Promise<{ retainedColumns: readonly string[]; table: { database: string; table: string } }> {
  const credentials = await clickhouseCredentials(
    deps.client,
    namespace,
    spec.sink.clickhouse.connectionSecretRef.name,
    "spec.sink.clickhouse.connectionSecretRef",
  );
  const session = (deps.openClickhouse ?? ClickhouseSession.open)(credentials);
  try {
    const version = await session.checkVersion();
    if (!version.supported) throw new UnsupportedServerError(`${credentials.url}: ${version.message}`);
    const ddl = renderRawTableDdl(spec);
    const existing = await session.columns(ddl.database, ddl.table);
    const statements =
      existing.length === 0 ? ddl.statements : renderRawTableMigration(spec, existing).statements;
    for (const statement of statements) {
      await session.execute(statement);
      clickhouseStatements.inc({ controller: pipelineControllerName });
    }
    const retainedColumns =
      existing.length === 0 ? [] : renderRawTableMigration(spec, existing).retainedColumns;
    // Live window results land in their own table; created once, only for pipelines with windows.
    if ((spec.windows ?? []).length > 0) {
      const windows = renderWindowTableDdl(spec);
      if (!(await session.tableExists(windows.database, windows.table))) {
        for (const statement of windows.statements) {
          await session.execute(statement);
          clickhouseStatements.inc({ controller: pipelineControllerName });
        }
      }
    }
    return { retainedColumns, table: { database: ddl.database, table: ddl.table } };
  } finally {
    await session.close();
  }
}

/**
 * Drops (or keeps) the tables the status records and the live windows in Redis, per deletionPolicy,
 * then lets the Pipeline go.
 */
async function finalize(
  deps: PipelineControllerDeps,
  pipeline: PipelineObject,
  key: string,
): Promise<ReconcileOutcome> {
  if (!pipeline.metadata?.finalizers?.includes(pipelineFinalizer)) return { kind: "done" };
  const [namespace] = key.split("/", 1) as [string];
  const facts = pipelineDeletionFacts(pipeline.spec);
  const outcome = await runCleanup({
    client: deps.client,
    namespace,
    secret:
      facts.secret === undefined
        ? undefined
        : { name: facts.secret, field: "spec.sink.clickhouse.connectionSecretRef" },
    plan: planPipelineCleanup(facts, pipeline.status),
    open: deps.openClickhouse ?? ClickhouseSession.open,
    controller: pipelineControllerName,
  });
  const [, name] = key.split("/", 2) as [string, string];
  const liveWindows = await runLiveWindowsCleanup(
    deps.client,
    namespace,
    planLiveWindowsCleanup(namespace, name, facts.policy, pipeline.spec),
  );
  await finishDeletion({
    client: deps.client,
    recorder: deps.recorder,
    log: objectLogger(pipelineControllerName, key),
    type: resourceTypes.pipeline,
    object: pipeline,
    finalizer: pipelineFinalizer,
    policy: facts.policy,
    outcome,
    alsoDone: describeLiveWindowsCleanup(liveWindows),
  });
  return { kind: "done" };
}

/** Computes the status from the observation and writes it if it changed. */
async function writeStatus(
  deps: PipelineControllerDeps,
  pipeline: PipelineObject,
  observation: PipelineObservation,
): Promise<PipelineStatus> {
  const status = computePipelineStatus(
    pipeline.status,
    pipeline.metadata?.generation ?? 0,
    observation,
    deps.now(),
  );
  await writeStatusIfChanged({
    client: deps.client,
    recorder: deps.recorder,
    type: resourceTypes.pipeline,
    object: pipeline,
    previous: pipeline.status,
    status,
    warning: observation.kind !== "applied",
    owns: { fields: pipelineStatusFields },
  });
  return status;
}
