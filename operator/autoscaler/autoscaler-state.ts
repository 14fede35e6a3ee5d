/**
 * What the autoscaler remembers between decisions: recent recommendations (for the stabilization
 * windows), when it last scaled (for the cooldown) and its estimate of one replica's capacity. It is a
 * small JSON object the controller keeps in the Pipeline's status, so an operator restart or a new
 * leader continues where the old one stopped instead of forgetting a scale-down window or the capacity
 * it measured under load.
 *
 * The TypeBox schema here is meant to be embedded in `PipelineStatus` (as `status.autoscaler`) so the
 * CRD's structural schema, the TypeScript type and the decoder below agree.
 */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

const RecommendationStepSchema = Type.Object(
  {
    at: Type.Integer({ description: "When this recommendation was made (ms since the epoch).", minimum: 0 }),
    replicas: Type.Integer({ description: "Recommended replicas; holds until the next entry.", minimum: 0 }),
  },
  { additionalProperties: false },
);

const CapacityEstimateSchema = Type.Object(
  {
    perReplica: Type.Number({
      description: "Messages per second one replica processes when busy.",
      minimum: 0,
    }),
    at: Type.Integer({ description: "When it was last measured (ms since the epoch).", minimum: 0 }),
  },
  { additionalProperties: false },
);

const AutoscalerStateSchema = Type.Object(
  {
    version: Type.Literal(1),
    recommendations: Type.Array(RecommendationStepSchema, {
      description: "Recent raw recommendations, oldest first, as a step function.",
      maxItems: 128,
    }),
    lastScaleAt: Type.Optional(
      Type.Integer({
        description: "When the autoscaler last changed replicas (ms since the epoch).",
        minimum: 0,
      }),
    ),
    capacity: Type.Optional(CapacityEstimateSchema),
    sinkPressureAt: Type.Optional(
      Type.Integer({
        description:
          "When the sink last pushed back (ms since the epoch): no capacity is measured soon after.",
        minimum: 0,
      }),
    ),
  },
  {
    description: "The autoscaler's memory, so a restart or a new leader continues where the old one stopped.",
    additionalProperties: false,
  },
);

type RecommendationStep = Static<typeof RecommendationStepSchema>;
export type AutoscalerState = Static<typeof AutoscalerStateSchema>;

export const initialAutoscalerState: AutoscalerState = { version: 1, recommendations: [] };

/** Bound on stored recommendations; with one decision per 15 s that covers the longest (1 h) window. */
export const maxRecommendations = 128;

type StateDecoding =
  | { readonly ok: true; readonly state: AutoscalerState }
  | { readonly ok: false; readonly state: AutoscalerState; readonly error: string };

/**
 * Reads the state back from the Pipeline's status. Anything unreadable (absent, an older shape, hand-edited)
 * starts fresh and says why: a fresh state only makes the autoscaler more careful (no capacity estimate
 * means hold until it measures one), never more aggressive.
 */
export function decodeAutoscalerState(value: unknown): StateDecoding {
  if (value === undefined || value === null) return { ok: true, state: initialAutoscalerState };
  if (!Value.Check(AutoscalerStateSchema, value)) {
    const first = Value.Errors(AutoscalerStateSchema, value).First();
    const where = first === undefined ? "" : ` at ${first.path === "" ? "/" : first.path}: ${first.message}`;
    return {
      ok: false,
      state: initialAutoscalerState,
      error: `status.autoscaler is not a valid autoscaler state${where}; starting fresh`,
    };
  }
  const sorted = [...value.recommendations].sort((a, b) => a.at - b.at);
  return { ok: true, state: { ...value, recommendations: sorted } };
}

/** The plain JSON object to store in the status (drops undefined fields so it round-trips exactly). */
export function encodeAutoscalerState(state: AutoscalerState): AutoscalerState {
  return JSON.parse(JSON.stringify(state)) as AutoscalerState;
}

/**
 * Appends a recommendation and forgets what no window can see any more. Entries form a step function
 * (each holds until the next), so repeating the current value adds nothing, and of the entries older than
 * the longest window only the newest (the one still in force at the window's start) is kept.
 */
export function recordRecommendation(
  steps: readonly RecommendationStep[],
  step: RecommendationStep,
  keepMs: number,
): RecommendationStep[] {
  const last = steps.at(-1);
  const appended = last !== undefined && last.replicas === step.replicas ? [...steps] : [...steps, step];
  const cutoff = step.at - keepMs;
  let firstInForce = 0;
  for (let i = 0; i < appended.length; i++) {
    const entry = appended[i];
    if (entry !== undefined && entry.at <= cutoff) firstInForce = i;
  }
  const kept = appended.slice(firstInForce);
  return kept.length > maxRecommendations ? kept.slice(kept.length - maxRecommendations) : kept;
}

/**
 * The lowest and highest recommendation in force at any time within `[now - windowMs, now]`: the entry
 * in force at the window's start counts, as do all later ones. `undefined` when there is no entry.
 */
export function recommendationRange(
  steps: readonly RecommendationStep[],
  now: number,
  windowMs: number,
): { readonly min: number; readonly max: number } | undefined {
  const start = now - windowMs;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < steps.length; i++) {
    const entry = steps[i];
    if (entry === undefined || entry.at > now) continue;
    // Entry i is in force over [at_i, at_{i+1}); it counts when that interval reaches into the window.
    const next = steps[i + 1];
    if (next !== undefined && next.at <= start) continue;
    min = Math.min(min, entry.replicas);
    max = Math.max(max, entry.replicas);
  }
  return min === Number.POSITIVE_INFINITY ? undefined : { min, max };
}
