/**
 * A pure, discrete-time model of a Kafka consumer group, for replaying load traces through an
 * autoscaling policy (ours, or KEDA's formula) without a cluster:
 *
 * - one topic with `partitions` partitions, each receiving messages at the trace's rate;
 * - `replicas` consumers, partitions dealt out round-robin (kafkajs' default assigner);
 * - each consumer processes at most `capacityPerReplica` messages per second, shared fairly over its
 *   partitions that have messages waiting (a partition that needs less than its share leaves the rest to
 *   the others — roughly what a fetch loop with per-partition byte limits does);
 * - whenever the replica count changes, the whole group stops for `rebalancePauseMs` (pods start, join,
 *   and partitions are handed over);
 * - an optional sink limit caps what the whole group can write per second (a slow or overloaded
 *   ClickHouse), however many replicas there are — more consumers do not make a slow sink faster.
 *
 * Committed offsets advance as messages are processed; the admin-API view (`sampleOffsets`) is what the
 * policies see, exactly as they would see it from a real cluster.
 */
import { roundRobinAssignment } from "../../../operator/autoscaler/assignment.js";
import type { OffsetSample, SinkPressure } from "../../../operator/autoscaler/signals.js";

export interface ConsumerGroupModel {
  readonly topic: string;
  readonly partitions: number;
  /** Messages per second one replica processes when it has work and the sink keeps up. */
  readonly capacityPerReplica: number;
  readonly rebalancePauseMs: number;
}

/** The load on the group at one instant. */
export interface LoadAt {
  /** Messages per second arriving on each partition. */
  readonly inputRates: readonly number[];
  /** Messages per second the sink accepts from the whole group; undefined when it is not the limit. */
  readonly sinkLimit?: number;
  /** What the runtime reports about the sink (insert errors, too many parts, latency). */
  readonly sinkPressure: readonly SinkPressure[];
}

/** A load trace: what arrives, and how the sink behaves, over time. */
export interface LoadTrace {
  readonly name: string;
  readonly description: string;
  readonly durationMs: number;
  readonly partitions: number;
  readonly initialReplicas: number;
  /** The load at `ms` since the trace started; must be deterministic. */
  at(ms: number): LoadAt;
}

interface GroupState {
  readonly at: number;
  readonly replicas: number;
  /** Processing is stopped until then (a rebalance). */
  readonly pausedUntil: number;
  /** Per partition; fractional, since rates are. */
  readonly endOffsets: readonly number[];
  readonly committedOffsets: readonly number[];
}

export function initialGroupState(model: ConsumerGroupModel, replicas: number, at = 0): GroupState {
  return {
    at,
    replicas,
    pausedUntil: at,
    endOffsets: Array.from({ length: model.partitions }, () => 0),
    committedOffsets: Array.from({ length: model.partitions }, () => 0),
  };
}

/** Changes the replica count; a change starts a rebalance that stops the whole group. */
export function setReplicas(state: GroupState, model: ConsumerGroupModel, replicas: number): GroupState {
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(`setReplicas: replicas must be a non-negative integer, got ${replicas}`);
  }
  if (replicas === state.replicas) return state;
  return { ...state, replicas, pausedUntil: Math.max(state.pausedUntil, state.at + model.rebalancePauseMs) };
}

/**
 * Splits `budget` over demands so that none gets more than it asks and the rest is shared equally
 * (max-min fairness, "water filling").
 */
export function fairShares(demands: readonly number[], budget: number): number[] {
  const shares = demands.map(() => 0);
  const order = demands.map((_, i) => i).sort((a, b) => (demands[a] ?? 0) - (demands[b] ?? 0));
  let left = budget;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] ?? 0;
    const fair = left / (order.length - k);
    const give = Math.min(demands[i] ?? 0, fair);
    shares[i] = give;
    left -= give;
  }
  return shares;
}

export function totalLag(state: GroupState): number {
  let lag = 0;
  for (let i = 0; i < state.endOffsets.length; i++)
    lag += (state.endOffsets[i] ?? 0) - (state.committedOffsets[i] ?? 0);
  return lag;
}

/** Advances the group by `dtMs` under `load`. */
export function advance(
  state: GroupState,
  model: ConsumerGroupModel,
  load: LoadAt,
  dtMs: number,
): GroupState {
  if (load.inputRates.length !== model.partitions) {
    throw new RangeError(
      `advance: load has ${load.inputRates.length} partition rates, the group has ${model.partitions} partitions`,
    );
  }
  const end = state.at + dtMs;
  const endOffsets = state.endOffsets.map((o, i) => o + ((load.inputRates[i] ?? 0) * dtMs) / 1000);
  const committedOffsets = [...state.committedOffsets];
  const activeMs = Math.max(0, end - Math.max(state.at, state.pausedUntil));
  if (activeMs > 0 && state.replicas > 0) {
    const members = roundRobinAssignment(model.partitions, state.replicas).filter((m) => m.length > 0);
    const sinkFactor =
      load.sinkLimit === undefined
        ? 1
        : Math.min(1, load.sinkLimit / (model.capacityPerReplica * Math.max(1, members.length)));
    const budget = (model.capacityPerReplica * sinkFactor * activeMs) / 1000;
    for (const member of members) {
      const backlog = member.map((i) => (endOffsets[i] ?? 0) - (committedOffsets[i] ?? 0));
      const shares = fairShares(backlog, budget);
      member.forEach((partition, k) => {
        committedOffsets[partition] = (committedOffsets[partition] ?? 0) + (shares[k] ?? 0);
      });
    }
  }
  return { ...state, at: end, endOffsets, committedOffsets };
}

/** What the Kafka admin API would report now. */
export function sampleOffsets(state: GroupState, model: ConsumerGroupModel): OffsetSample {
  return {
    at: state.at,
    consumingReplicas: state.replicas,
    partitions: state.endOffsets.map((end, partition) => ({
      topic: model.topic,
      partition,
      endOffset: Math.floor(end),
      committed: { kind: "committed", offset: Math.floor(state.committedOffsets[partition] ?? 0) },
    })),
  };
}

/** What an autoscaler sees at each decision. */
interface ReplayObservation {
  readonly now: number;
  /** Recent admin-API samples, oldest first, newest taken at `now`. */
  readonly samples: readonly OffsetSample[];
  readonly currentReplicas: number;
  readonly partitionCount: number;
  readonly sinkPressure: readonly SinkPressure[];
}

/** An autoscaler as a pure state machine, so ours and KEDA's replay the same way. */
export interface ReplayAutoscaler<S> {
  readonly name: string;
  readonly initialState: S;
  decide(
    state: S,
    observation: ReplayObservation,
  ): { readonly replicas: number; readonly state: S; readonly reason?: string };
}

interface ReplayOptions {
  readonly tickMs: number;
  /** How often the autoscaler runs (and the admin API is sampled): the HPA's sync period. */
  readonly decisionPeriodMs: number;
  /** How many recent samples the autoscaler is shown. */
  readonly keepSamples: number;
}

const defaultReplayOptions: ReplayOptions = { tickMs: 1000, decisionPeriodMs: 15_000, keepSamples: 8 };

interface ReplayPoint {
  readonly at: number;
  readonly lag: number;
  readonly replicas: number;
  readonly inputRate: number;
}

interface ReplayAction {
  readonly at: number;
  readonly from: number;
  readonly to: number;
  readonly reason: string | undefined;
}

export interface ReplayResult {
  readonly autoscaler: string;
  readonly trace: string;
  /** One point per tick, after the tick. */
  readonly points: readonly ReplayPoint[];
  readonly actions: readonly ReplayAction[];
}

/** Replays a trace through an autoscaler on the modelled group; deterministic for a deterministic trace. */
export function replay<S>(
  trace: LoadTrace,
  model: ConsumerGroupModel,
  autoscaler: ReplayAutoscaler<S>,
  options: Partial<ReplayOptions> = {},
): ReplayResult {
  const { tickMs, decisionPeriodMs, keepSamples } = { ...defaultReplayOptions, ...options };
  if (trace.partitions !== model.partitions) {
    throw new RangeError(
      `replay: trace ${trace.name} has ${trace.partitions} partitions, the model ${model.partitions}`,
    );
  }
  let group = initialGroupState(model, trace.initialReplicas);
  let scalerState = autoscaler.initialState;
  let samples: OffsetSample[] = [];
  const points: ReplayPoint[] = [];
  const actions: ReplayAction[] = [];
  let nextDecision = 0;
  for (let t = 0; t < trace.durationMs; t += tickMs) {
    const load = trace.at(t);
    if (t >= nextDecision) {
      samples = [...samples, sampleOffsets(group, model)].slice(-keepSamples);
      const decided = autoscaler.decide(scalerState, {
        now: t,
        samples,
        currentReplicas: group.replicas,
        partitionCount: model.partitions,
        sinkPressure: load.sinkPressure,
      });
      scalerState = decided.state;
      if (decided.replicas !== group.replicas) {
        actions.push({ at: t, from: group.replicas, to: decided.replicas, reason: decided.reason });
        group = setReplicas(group, model, decided.replicas);
      }
      nextDecision += decisionPeriodMs;
    }
    group = advance(group, model, load, tickMs);
    points.push({
      at: group.at,
      lag: totalLag(group),
      replicas: group.replicas,
      inputRate: load.inputRates.reduce((a, b) => a + b, 0),
    });
  }
  return { autoscaler: autoscaler.name, trace: trace.name, points, actions };
}
