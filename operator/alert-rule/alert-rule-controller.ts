/**
 * AlertRule controller: validates the rule and resolves the metric it watches (a Rollup's metric,
 * or an aggregation of a Pipeline's live window, with group-by and filters on fields that source
 * has). Evaluation is the gateway's; the operator only says whether the rule can be evaluated.
 */
import type { AlertRuleSpec, AlertRuleStatus } from "../../api/v1alpha1/alert-rule.js";
import type { AlertRuleObject, PipelineObject, RollupObject } from "../../api/v1alpha1/objects.js";
import { SpecError } from "../../api/v1alpha1/spec-error.js";
import {
  formatProblems,
  validateAlertRuleSpec,
  validatePipelineSpec,
  validateRollupSpec,
} from "../../api/v1alpha1/validation.js";
import type { EventRecorder } from "../../lib/kube/events.js";
import { type KubeClient, resourceTypes } from "../../lib/kube/kube-client.js";
import { type DesiredCondition, reasons, setConditions } from "../core/conditions.js";
import type { ControllerDefinition } from "../core/controller.js";
import { writeStatusIfChanged } from "../core/status-writer.js";
import type { ReconcileOutcome } from "../core/work-queue.js";

interface AlertRuleControllerDeps {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly now: () => Date;
}

const alertRuleControllerName = "alertrule";

export function alertRuleControllerDefinition(
  deps: AlertRuleControllerDeps,
): ControllerDefinition<AlertRuleObject> {
  return {
    name: alertRuleControllerName,
    primary: resourceTypes.alertRule,
    concurrency: 2,
    baseBackoffMs: 1000,
    maxBackoffMs: 60_000,
    timeoutMs: 30_000,
    resyncMs: 60_000,
    reconcile: (key) => reconcileAlertRule(deps, key),
  };
}

type Resolution =
  | { ok: true; message: string }
  | { ok: false; refused: boolean; reason: DesiredCondition["reason"]; message: string };

/** What the metric's source offers: its metric names and the fields one may group and filter by. */
async function resolveMetric(
  client: KubeClient,
  namespace: string,
  spec: AlertRuleSpec,
): Promise<Resolution> {
  const { source, metric, groupBy, filters } = spec.query;
  let metrics: string[];
  let dimensions: string[];
  let describe: string;
  if (source.kind === "Rollup") {
    const rollup = await client.find<RollupObject>(resourceTypes.rollup, namespace, source.name);
    if (rollup === undefined)
      return {
        ok: false,
        refused: false,
        reason: reasons.SourceNotFound,
        message: `spec.query.source: Rollup ${namespace}/${source.name} does not exist`,
      };
    const r = validateRollupSpec(rollup.spec);
    if (!r.ok)
      return {
        ok: false,
        refused: false,
        reason: reasons.SourceNotReady,
        message: `spec.query.source: Rollup ${source.name} has an invalid spec`,
      };
    metrics = r.value.metrics.map((m) => m.name);
    dimensions = r.value.dimensions;
    describe = `Rollup ${source.name}`;
  } else {
    const pipeline = await client.find<PipelineObject>(resourceTypes.pipeline, namespace, source.name);
    if (pipeline === undefined)
      return {
        ok: false,
        refused: false,
        reason: reasons.SourceNotFound,
        message: `spec.query.source: Pipeline ${namespace}/${source.name} does not exist`,
      };
    const p = validatePipelineSpec(pipeline.spec);
    if (!p.ok)
      return {
        ok: false,
        refused: false,
        reason: reasons.SourceNotReady,
        message: `spec.query.source: Pipeline ${source.name} has an invalid spec`,
      };
    const window = p.value.windows?.find((w) => w.name === source.window);
    if (window === undefined) {
      return {
        ok: false,
        refused: true,
        reason: reasons.InvalidSpec,
        message: `spec.query.source.window: Pipeline ${source.name} has no window "${source.window ?? ""}" (has: ${(p.value.windows ?? []).map((w) => w.name).join(", ") || "none"})`,
      };
    }
    metrics = window.aggregations.map((a) => a.name);
    dimensions = window.groupBy;
    describe = `window ${window.name} of Pipeline ${source.name}`;
  }
  if (!metrics.includes(metric)) {
    return {
      ok: false,
      refused: true,
      reason: reasons.InvalidSpec,
      message: `spec.query.metric: ${describe} has no metric "${metric}" (has: ${metrics.join(", ")})`,
    };
  }
  const unknown = [
    ...groupBy.map((g, i) => [`spec.query.groupBy[${i}]`, g] as const),
    ...(filters ?? []).map((f, i) => [`spec.query.filters[${i}].field`, f.field] as const),
  ].find(([, field]) => !dimensions.includes(field));
  if (unknown !== undefined) {
    return {
      ok: false,
      refused: true,
      reason: reasons.InvalidSpec,
      message: `${unknown[0]}: "${unknown[1]}" is not a dimension of ${describe} (has: ${dimensions.join(", ") || "none"})`,
    };
  }
  return {
    ok: true,
    message: `watching ${metric} of ${describe}; evaluated by the gateway every ${spec.interval}`,
  };
}

async function reconcileAlertRule(deps: AlertRuleControllerDeps, key: string): Promise<ReconcileOutcome> {
  const [namespace, name] = key.split("/", 2) as [string, string];
  const rule = await deps.client.find<AlertRuleObject>(resourceTypes.alertRule, namespace, name);
  if (rule === undefined || rule.metadata?.deletionTimestamp) return { kind: "done" };
  const validated = validateAlertRuleSpec(rule.spec);
  const resolution: Resolution = validated.ok
    ? await resolveMetric(deps.client, namespace, validated.value)
    : { ok: false, refused: true, reason: reasons.InvalidSpec, message: formatProblems(validated.problems) };

  const generation = rule.metadata?.generation ?? 0;
  const desired: DesiredCondition[] = resolution.ok
    ? [
        { type: "Ready", status: "True", reason: reasons.Reconciled, message: resolution.message },
        { type: "Degraded", status: "False", reason: reasons.Reconciled, message: "" },
      ]
    : [
        { type: "Ready", status: "False", reason: resolution.reason, message: resolution.message },
        {
          type: "Degraded",
          status: resolution.refused ? "True" : "False",
          reason: resolution.reason,
          message: resolution.refused ? resolution.message : "",
        },
      ];
  const previous = rule.status;
  // Only what the operator decides: the evaluation fields (state, series, notifications) are the
  // gateway's, under its own field manager, so neither writer clobbers the other.
  const status: AlertRuleStatus = {
    observedGeneration: generation,
    conditions: setConditions(previous?.conditions, desired, generation, deps.now()),
  };
  await writeStatusIfChanged({
    client: deps.client,
    recorder: deps.recorder,
    type: resourceTypes.alertRule,
    object: rule,
    previous,
    status,
    warning: !resolution.ok,
    owns: { fields: ["observedGeneration", "conditions"] },
  });
  if (resolution.ok) return { kind: "done" };
  return resolution.refused
    ? { kind: "terminal", error: new SpecError("spec", resolution.message) }
    : { kind: "requeueAfter", ms: 15_000 };
}
