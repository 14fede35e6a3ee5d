/**
 * The autoscaler loop, one round per Pipeline every `intervalMs`: sample the consumer group's offsets
 * → signals → policy → (auto mode) the Pipeline's scale subresource → status and Events. The policy is
 * pure (scaling-policy.ts); this file is the I/O around it.
 *
 * Memory: recent offset samples live here (they are only useful for a minute); the policy's state
 * (recommendations for the stabilization windows, last scale time, capacity estimate) lives in the
 * Pipeline's status, read back when this process first sees the Pipeline, so a restarted operator or a
 * new leader continues where the old one stopped.
 *
 * Nothing here is an error to retry: a sample that fails (broker down, topic missing, Secret missing)
 * is a missing signal, and the policy holds on missing signals; the status says why.
 */
import { configuredReplicas } from "../../api/v1alpha1/defaults.js";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { validatePipelineSpec } from "../../api/v1alpha1/validation.js";
import { consumerGroupOf } from "../../contracts/runtime-config.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import { type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import { type ControllerDefinition, changedBeyondStatus } from "../core/controller.js";
import { objectLogger } from "../core/logger.js";
import { apiWrites } from "../core/metrics.js";
import { writeStatusIfChanged } from "../core/status-writer.js";
import type { ReconcileOutcome } from "../core/work-queue.js";
import { type AutoscalerState, decodeAutoscalerState } from "./autoscaler-state.js";
import {
  type AutoscalerRound,
  autoscalerEvent,
  autoscalerStatusFields,
  computeAutoscalerStatus,
} from "./autoscaler-status.js";
import { type HpaLister, hpaTargeting } from "./hpa-stand-down.js";
import { kafkaConnectionFor, type OffsetSampler } from "./offset-sampler.js";
import { decideScale, ScaleAction, ScalingSpecError, scalingPolicyFromSpec } from "./scaling-policy.js";
import {
  computeSignals,
  defaultSignalOptions,
  type Measured,
  type OffsetSample,
  sinkPressureFromSamples,
} from "./signals.js";

function describeMeasured(measured: Measured): number | string {
  return measured.kind === "known" ? Math.round(measured.value) : `unknown: ${measured.why}`;
}

const autoscalerControllerName = "autoscaler";
const autoscalerFieldManager = "tally-operator-autoscaler";

interface AutoscalerControllerDeps {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly sampler: OffsetSampler;
  readonly hpas: HpaLister;
  readonly now: () => number;
  /** Time between two rounds for one Pipeline. */
  readonly intervalMs: number;
  /** How long a new runtime pod takes to start on this cluster (the policy's `podStartMs`), if not the default. */
  readonly podStartMs?: number;
}

/** What the loop remembers of one Pipeline between rounds. */
interface PipelineMemory {
  samples: OffsetSample[];
  state: AutoscalerState;
  lastRoundAt: number;
  /** The last sampling failure, so a lasting one is logged once, not every round. */
  lastSampleError: string | undefined;
  /** The last decision's rule: a change is logged with the signals behind it. */
  lastRule: string | undefined;
}

/** Samples older than this serve no rate window and no staleness check. */
const keepSamplesMs = Math.max(defaultSignalOptions.rateWindowMs, defaultSignalOptions.staleAfterMs) * 2;

export function autoscalerControllerDefinition(
  deps: AutoscalerControllerDeps,
): ControllerDefinition<PipelineObject> {
  const memory = new Map<string, PipelineMemory>();
  return {
    name: autoscalerControllerName,
    primary: resourceTypes.pipeline,
    concurrency: 4,
    baseBackoffMs: 1_000,
    maxBackoffMs: 60_000,
    timeoutMs: 60_000,
    resyncMs: 5 * 60_000,
    // The loop runs on its own clock; only a spec or annotation change is worth an early round.
    primaryChanged: changedBeyondStatus,
    reconcile: (key, cached) => runRound(deps, memory, key, cached),
  };
}

async function runRound(
  deps: AutoscalerControllerDeps,
  memory: Map<string, PipelineMemory>,
  key: string,
  cached: PipelineObject | undefined,
): Promise<ReconcileOutcome> {
  const [namespace, name] = key.split("/", 2) as [string, string];
  if (cached === undefined || cached.metadata?.deletionTimestamp) {
    memory.delete(key);
    await deps.sampler.forget(key);
    return { kind: "done" };
  }
  const validated = validatePipelineSpec(cached.spec);
  // The pipeline controller reports an invalid spec; there is nothing to scale until it is fixed.
  if (!validated.ok) return { kind: "done" };
  const spec = validated.value;
  const now = deps.now();

  let remembered = memory.get(key);
  if (remembered === undefined) {
    const decoded = decodeAutoscalerState(cached.status?.autoscaler);
    if (!decoded.ok)
      objectLogger(autoscalerControllerName, key).warn({ err: decoded.error }, "autoscaler state");
    remembered = {
      samples: [],
      state: decoded.state,
      lastRoundAt: 0,
      lastSampleError: undefined,
      lastRule: undefined,
    };
    memory.set(key, remembered);
  }
  // Watch events and resyncs arrive between rounds; rounds keep their own pace.
  const dueIn = remembered.lastRoundAt + deps.intervalMs - now;
  if (dueIn > 50) return { kind: "requeueAfter", ms: dueIn };
  remembered.lastRoundAt = now;

  const round = await playRound(deps, remembered, namespace, name, cached, spec, now);
  await writeRound(deps, cached, round, remembered.state, now);
  return { kind: "requeueAfter", ms: deps.intervalMs };
}

async function playRound(
  deps: AutoscalerControllerDeps,
  remembered: PipelineMemory,
  namespace: string,
  name: string,
  pipeline: PipelineObject,
  spec: PipelineSpec,
  now: number,
): Promise<AutoscalerRound> {
  const key = `${namespace}/${name}`;
  const log = objectLogger(autoscalerControllerName, key);
  let policy: ReturnType<typeof scalingPolicyFromSpec>;
  try {
    policy = scalingPolicyFromSpec(
      spec.scaling,
      pipeline.metadata?.annotations,
      deps.podStartMs === undefined ? {} : { podStartMs: deps.podStartMs },
    );
  } catch (error) {
    if (error instanceof ScalingSpecError) return { kind: "invalid", message: error.message };
    throw error;
  }

  let sampleError: string | undefined;
  try {
    const connection = await kafkaConnectionFor(deps.client, namespace, spec.source.kafka);
    const sample = await deps.sampler.sample(key, {
      connection,
      groupId: consumerGroupOf(namespace, name, spec),
      topics: spec.source.kafka.topics,
      startOffset: spec.source.kafka.startOffset,
      consumingReplicas: pipeline.status?.readyReplicas ?? 0,
    });
    remembered.samples.push(sample);
  } catch (error) {
    sampleError = error instanceof Error ? error.message : String(error);
    if (sampleError !== remembered.lastSampleError)
      log.warn({ err: sampleError }, "offsets not sampled; holding");
  }
  if (sampleError === undefined && remembered.lastSampleError !== undefined)
    log.info("offsets sampled again");
  remembered.lastSampleError = sampleError;
  remembered.samples = remembered.samples.filter((s) => now - s.at <= keepSamplesMs);

  const current = configuredReplicas(spec);
  const table = `${spec.sink.clickhouse.database}.${spec.sink.clickhouse.table}`;
  const signals = computeSignals({
    samples: remembered.samples,
    currentReplicas: current,
    sinkPressure: sinkPressureFromSamples(remembered.samples, table),
    now,
  });

  const hpa = hpaTargeting(await deps.hpas.list(namespace), name);
  if (hpa !== undefined) return { kind: "standDown", hpa, signals };

  const decision = decideScale(signals, remembered.state, policy, now);
  if (decision.action !== ScaleAction.hold && policy.mode === "auto") {
    await deps.client.mergePatch(
      resourceTypes.pipeline,
      namespace,
      name,
      { spec: { replicas: decision.replicas } },
      "scale",
    );
    apiWrites.inc({ kind: "Pipeline", verb: "scale" });
    log.info({ from: current, to: decision.replicas, reason: decision.reason }, "scaled");
  }
  // The state moves on only once the action (if any) has landed: a failed patch retries the round.
  remembered.state = decision.nextHistory;
  if (decision.rule !== remembered.lastRule) {
    remembered.lastRule = decision.rule;
    log.info(
      {
        rule: decision.rule,
        replicas: decision.replicas,
        lag: describeMeasured(signals.totalLag),
        processingRate: describeMeasured(signals.processingRate),
        capacityPerReplica: describeMeasured(signals.capacityPerReplica),
        reason: decision.reason,
      },
      "autoscaler decision changed",
    );
  }
  return { kind: "decided", signals, decision, sampleError };
}

async function writeRound(
  deps: AutoscalerControllerDeps,
  pipeline: PipelineObject,
  round: AutoscalerRound,
  state: AutoscalerState,
  now: number,
): Promise<void> {
  const status = computeAutoscalerStatus(
    pipeline.status,
    pipeline.metadata?.generation ?? 0,
    round,
    state,
    new Date(now),
  );
  const written = await writeStatusIfChanged({
    client: deps.client,
    recorder: deps.recorder,
    type: resourceTypes.pipeline,
    object: pipeline,
    previous: pipeline.status,
    status,
    warning: false,
    owns: { fields: autoscalerStatusFields },
    fieldManager: autoscalerFieldManager,
  });
  const event = autoscalerEvent(pipeline.status, status, round);
  if (written && event !== undefined) {
    await deps.recorder
      .record({ ...pipeline, kind: "Pipeline" }, event.type, event.reason, "Autoscale", event.note)
      .catch(() => undefined);
  }
}
