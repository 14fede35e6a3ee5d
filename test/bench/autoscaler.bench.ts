/**
 * Trace replay: every trace in ./traces runs through our scaling policy and through KEDA's Kafka
 * scaler formula (with the HPA's default behaviour) on the same simulated consumer group, and we
 * compare time to drain, peak lag, replica-minutes and scale actions. Needs no stack: the simulator is
 * pure. `node --import tsx test/bench/run.ts autoscaler`.
 *
 * Parameters (environment):
 * - TALLY_BENCH_REPLICA_CAPACITY: messages per second one runtime replica processes. By default the
 *   runtime bench's figure from the same run (`runtime.events_per_s_per_core`: one replica is one
 *   process on one core, running the example pipeline end to end); 20,000 only when that bench did not
 *   run (`run.ts autoscaler` alone), which the output says. Trace rates scale with it.
 * - TALLY_BENCH_KEDA_LAG_THRESHOLD: KEDA's lagThreshold (default: 5 seconds of one replica's capacity —
 *   a backlog one replica clears in a few seconds, the kind of value one tunes lagThreshold to).
 * - TALLY_BENCH_REBALANCE_PAUSE_MS: how long a rebalance stops the group (default 5,000).
 *
 * "Time to drain" is the time the group spends behind: seconds during which the total lag exceeds five
 * seconds of the current input (and at least 10,000 messages at reference capacity). Summed over the
 * trace, so a trace with several episodes (the diurnal day) counts them all.
 */

import { scalingPolicyFromSpec } from "../../operator/autoscaler/scaling-policy.js";
import { type LoadTrace, type ReplayResult, replay } from "../sim/autoscaler/consumer-group-simulator.js";
import { kedaKafkaScaler, kedaReplayAutoscaler } from "../sim/autoscaler/keda-policy.js";
import { tallyReplayAutoscaler } from "../sim/autoscaler/policy-replay.js";
import type { BenchFigure } from "./bench-figure.js";
import { tracesFor } from "./traces/index.js";
import { referenceCapacity } from "./traces/trace-kit.js";

const behindSeconds = 5;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
  return value;
}

interface ReplaySummary {
  readonly drainSeconds: number;
  readonly peakLag: number;
  readonly replicaMinutes: number;
  readonly scaleActions: number;
}

function summarize(result: ReplayResult, capacityPerReplica: number, tickMs = 1000): ReplaySummary {
  const floor = (10_000 * capacityPerReplica) / referenceCapacity;
  let behindMs = 0;
  let peakLag = 0;
  let replicaMs = 0;
  for (const point of result.points) {
    if (point.lag > Math.max(floor, behindSeconds * point.inputRate)) behindMs += tickMs;
    peakLag = Math.max(peakLag, point.lag);
    replicaMs += point.replicas * tickMs;
  }
  return {
    drainSeconds: behindMs / 1000,
    peakLag,
    replicaMinutes: replicaMs / 60_000,
    scaleActions: result.actions.length,
  };
}

function ratio(ours: number, theirs: number): number {
  if (theirs === 0) return ours === 0 ? 1 : Number.POSITIVE_INFINITY;
  return ours / theirs;
}

interface TraceComparison {
  readonly trace: LoadTrace;
  readonly ours: ReplaySummary;
  readonly keda: ReplaySummary;
  readonly oursResult: ReplayResult;
  readonly kedaResult: ReplayResult;
}

interface BenchParameters {
  readonly capacityPerReplica: number;
  readonly kedaLagThreshold: number;
  readonly rebalancePauseMs: number;
}

function benchParameters(measuredCapacity?: number): BenchParameters {
  const capacityPerReplica = envNumber("TALLY_BENCH_REPLICA_CAPACITY", measuredCapacity ?? referenceCapacity);
  return {
    capacityPerReplica,
    kedaLagThreshold: envNumber("TALLY_BENCH_KEDA_LAG_THRESHOLD", Math.round(capacityPerReplica * 5)),
    rebalancePauseMs: envNumber("TALLY_BENCH_REBALANCE_PAUSE_MS", 5_000),
  };
}

/** Replays every trace through both autoscalers. */
function compareOnTraces(parameters: BenchParameters): TraceComparison[] {
  return tracesFor(parameters.capacityPerReplica).map((trace) => {
    const model = {
      topic: "events",
      partitions: trace.partitions,
      capacityPerReplica: parameters.capacityPerReplica,
      rebalancePauseMs: parameters.rebalancePauseMs,
    };
    // Both get the same bounds: 1 … partition count. Ours runs the CRD's defaults otherwise.
    const policy = scalingPolicyFromSpec(
      {
        mode: "auto",
        minReplicas: 1,
        maxReplicas: trace.partitions,
        targetCatchUp: "2m",
        scaleUpStabilization: "0s",
        scaleDownStabilization: "5m",
        cooldown: "30s",
      },
      undefined,
      { rebalancePauseMs: parameters.rebalancePauseMs },
    );
    const keda = kedaKafkaScaler({
      lagThreshold: parameters.kedaLagThreshold,
      minReplicaCount: 1,
      maxReplicaCount: trace.partitions,
    });
    const oursResult = replay(trace, model, tallyReplayAutoscaler(policy));
    const kedaResult = replay(trace, model, kedaReplayAutoscaler(keda));
    return {
      trace,
      ours: summarize(oursResult, parameters.capacityPerReplica),
      keda: summarize(kedaResult, parameters.capacityPerReplica),
      oursResult,
      kedaResult,
    };
  });
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function table(comparisons: readonly TraceComparison[]): string {
  const header = [
    "trace",
    "drain s ours/keda",
    "peak lag ours/keda",
    "replica-min ours/keda",
    "actions ours/keda",
  ];
  const rows = comparisons.map((c) => [
    c.trace.name,
    `${c.ours.drainSeconds} / ${c.keda.drainSeconds}`,
    `${Math.round(c.ours.peakLag).toLocaleString("en-US")} / ${Math.round(c.keda.peakLag).toLocaleString("en-US")}`,
    `${c.ours.replicaMinutes.toFixed(1)} / ${c.keda.replicaMinutes.toFixed(1)}`,
    `${c.ours.scaleActions} / ${c.keda.scaleActions}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((r) => r.map((cell, i) => pad(cell, widths[i] ?? 0)).join("  ")).join("\n");
}

export async function runBench(earlier: readonly BenchFigure[] = []): Promise<BenchFigure[]> {
  const measured = earlier.find((f) => f.name === "runtime.events_per_s_per_core")?.value;
  const parameters = benchParameters(measured === undefined ? undefined : Math.round(measured));
  const comparisons = compareOnTraces(parameters);
  const source =
    process.env.TALLY_BENCH_REPLICA_CAPACITY !== undefined
      ? "from TALLY_BENCH_REPLICA_CAPACITY"
      : measured !== undefined
        ? "measured by the runtime bench in this run"
        : "reference value: the runtime bench did not run";
  console.log(
    `[autoscaler] replica capacity ${parameters.capacityPerReplica}/s (${source}), KEDA lagThreshold ${parameters.kedaLagThreshold}, rebalance pause ${parameters.rebalancePauseMs}ms`,
  );
  console.log(table(comparisons));
  const figures: BenchFigure[] = [
    { name: "autoscaler.replica_capacity", value: parameters.capacityPerReplica, unit: "msg/s" },
    { name: "autoscaler.keda_lag_threshold", value: parameters.kedaLagThreshold, unit: "msg" },
  ];
  for (const { trace, ours, keda } of comparisons) {
    const base = `autoscaler.${trace.name}`;
    for (const [who, s] of [
      ["ours", ours],
      ["keda", keda],
    ] as const) {
      figures.push(
        { name: `${base}.${who}.drain_time`, value: s.drainSeconds, unit: "s" },
        { name: `${base}.${who}.peak_lag`, value: s.peakLag, unit: "msg" },
        { name: `${base}.${who}.replica_minutes`, value: s.replicaMinutes, unit: "replica-min" },
      );
    }
    figures.push(
      {
        name: `${base}.drain_time_ratio_vs_keda`,
        value: ratio(ours.drainSeconds, keda.drainSeconds),
        unit: "x",
      },
      {
        name: `${base}.replica_minutes_ratio_vs_keda`,
        value: ratio(ours.replicaMinutes, keda.replicaMinutes),
        unit: "x",
      },
      { name: `${base}.scale_actions_ours`, value: ours.scaleActions, unit: "actions" },
      { name: `${base}.scale_actions_keda`, value: keda.scaleActions, unit: "actions" },
    );
  }
  return figures;
}
