/**
 * Our policy as a replayable autoscaler: the same path the controller takes (admin-API samples →
 * signals → decision, state carried between decisions), driven by the simulator instead of a cluster.
 * The state is pushed through its JSON encoding on every step, as it would be through the Pipeline's
 * status, so a replay also proves the state survives a restart at any point.
 */
import {
  type AutoscalerState,
  decodeAutoscalerState,
  encodeAutoscalerState,
  initialAutoscalerState,
} from "../../../operator/autoscaler/autoscaler-state.js";
import {
  decideScale,
  type ScaleDecision,
  type ScalingPolicy,
} from "../../../operator/autoscaler/scaling-policy.js";
import { computeSignals, type SignalOptions } from "../../../operator/autoscaler/signals.js";
import type { ReplayAutoscaler } from "./consumer-group-simulator.js";

interface TallyReplayOptions {
  readonly signalOptions?: Partial<SignalOptions>;
  /** Called with every decision (for logs and tests). */
  readonly onDecision?: (decision: ScaleDecision, now: number) => void;
}

export function tallyReplayAutoscaler(
  policy: ScalingPolicy,
  options: TallyReplayOptions = {},
): ReplayAutoscaler<AutoscalerState> {
  return {
    name: "tally",
    initialState: initialAutoscalerState,
    decide(state, observation) {
      const signals = computeSignals({
        samples: observation.samples,
        currentReplicas: observation.currentReplicas,
        sinkPressure: observation.sinkPressure,
        now: observation.now,
        options: { staleAfterMs: policy.tuning.staleAfterMs, ...options.signalOptions },
      });
      const decision = decideScale(signals, state, policy, observation.now);
      options.onDecision?.(decision, observation.now);
      const stored = JSON.parse(JSON.stringify(encodeAutoscalerState(decision.nextHistory))) as unknown;
      const restored = decodeAutoscalerState(stored);
      if (!restored.ok)
        throw new Error(`tally replay: state did not survive its JSON round trip: ${restored.error}`);
      return { replicas: decision.replicas, state: restored.state, reason: decision.reason };
    },
  };
}
