/**
 * The autoscaler's inputs, derived from what the Kafka admin API reports: per-partition end offsets
 * (the high watermark) and the consumer group's committed offsets, sampled over time. From a short
 * history of samples come lag, input rate (end-offset growth), processing rate (committed-offset
 * growth) and the consumers' true capacity, measured only while they were saturated.
 *
 * Anything that cannot be measured is `unknown` with the reason, never zero: a zero lag or a zero
 * input rate is a statement the policy acts on (scale down, scale to zero), so a missing sample must
 * not be able to masquerade as one.
 */

import type { CommitMetadata, SinkReport } from "../../contracts/kafka/commit-metadata.js";
import { comparePartitions, type PartitionKey, partitionLabel, roundRobinAssignment } from "./assignment.js";
import { formatDuration } from "./format.js";

/** A measurement, or why there is none. */
export type Measured =
  | { readonly kind: "known"; readonly value: number }
  | { readonly kind: "unknown"; readonly why: string };

export function known(value: number): Measured {
  return { kind: "known", value };
}

export function unknown(why: string): Measured {
  return { kind: "unknown", why };
}

/** What the admin API says about the group's position on one partition. */
type CommittedOffset =
  | { readonly kind: "committed"; readonly offset: number }
  /** The group never committed here; a new consumer would start at `startsAt` (auto.offset.reset). */
  | { readonly kind: "none"; readonly startsAt: number }
  /** The admin API did not answer for this partition. */
  | { readonly kind: "unknown" };

export interface PartitionOffsets extends PartitionKey {
  /** High watermark (offset the next produced message gets); undefined when it was not reported. */
  readonly endOffset: number | undefined;
  readonly committed: CommittedOffset;
  /** How the runtime's last batch on this partition fared in ClickHouse (from the commit's metadata). */
  readonly sinkReport?: SinkReport | undefined;
  /** The batch the runtime was writing when it committed (from the commit's metadata), if any. */
  readonly inflight?: CommitMetadata["inflight"];
}

/** One poll of the admin API: every partition of the subscribed topics, reported or not. */
export interface OffsetSample {
  /** When the admin API answered (ms since the epoch). */
  readonly at: number;
  readonly partitions: readonly PartitionOffsets[];
  /** Runtime pods that were ready (consuming) when the sample was taken. */
  readonly consumingReplicas: number;
  /**
   * Optional: mean fraction (0…1) of wall time the runtime pods spent processing since the previous
   * sample, from the runtime's busy-time counter. With it the consumers' capacity is measurable without a
   * backlog (Flink's "true processing rate"); without it, only while they are saturated.
   */
  readonly busyRatio?: number;
}

/** Why the sink is pushing back; any of these holds scale-up (more consumers would only add load). */
export type SinkPressure =
  | { readonly kind: "insert-errors"; readonly sink: "clickhouse" | "redis"; readonly count: number }
  | { readonly kind: "too-many-parts"; readonly table: string }
  | {
      readonly kind: "slow";
      readonly sink: "clickhouse" | "redis";
      readonly p99Ms: number;
      readonly limitMs: number;
    };

/** A batch's ClickHouse inserts slower than this (retries included) count as the sink pushing back. */
const slowInsertMs = 10_000;

/**
 * The back-pressure the runtime reported with its commits within the rate window. Only partitions
 * whose commit moved in the window speak (an idle partition's last report is old news); with a single
 * sample, the newest reports do.
 */
export function sinkPressureFromSamples(
  samples: readonly OffsetSample[],
  table: string,
  windowMs: number = defaultSignalOptions.rateWindowMs,
): SinkPressure[] {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const latest = sorted.at(-1);
  if (latest === undefined) return [];
  const base = sorted.find((s) => s.at >= latest.at - windowMs) ?? latest;
  const before = new Map(base.partitions.map((p) => [partitionLabel(p), p]));
  let failed = 0;
  let slowest = 0;
  let tooManyParts = false;
  for (const p of latest.partitions) {
    const report = p.sinkReport;
    if (report === undefined) continue;
    const then = before.get(partitionLabel(p));
    const moved =
      base === latest ||
      then === undefined ||
      effectiveCommitted(then.committed) !== effectiveCommitted(p.committed) ||
      JSON.stringify(then.sinkReport) !== JSON.stringify(report);
    if (!moved) continue;
    failed += report.failedInserts;
    slowest = Math.max(slowest, report.insertMs);
    tooManyParts ||= report.tooManyParts;
  }
  const pressure: SinkPressure[] = [];
  if (tooManyParts) pressure.push({ kind: "too-many-parts", table });
  if (failed > 0) pressure.push({ kind: "insert-errors", sink: "clickhouse", count: failed });
  if (slowest > slowInsertMs)
    pressure.push({ kind: "slow", sink: "clickhouse", p99Ms: slowest, limitMs: slowInsertMs });
  return pressure;
}

export function describeSinkPressure(pressure: SinkPressure): string {
  switch (pressure.kind) {
    case "insert-errors":
      return `${pressure.count} ${pressure.sink === "clickhouse" ? "ClickHouse" : "Redis"} insert errors`;
    case "too-many-parts":
      return `ClickHouse reports too many parts on ${pressure.table}`;
    case "slow":
      return `${pressure.sink === "clickhouse" ? "ClickHouse" : "Redis"} p99 latency ${Math.round(pressure.p99Ms)}ms over ${pressure.limitMs}ms`;
  }
}

interface PartitionSignal extends PartitionKey {
  readonly lag: Measured;
  /** End-offset growth per second over the rate window. */
  readonly inputRate: Measured;
  /** Committed-offset growth per second over the rate window. */
  readonly processingRate: Measured;
}

type Freshness =
  | { readonly kind: "fresh"; readonly ageMs: number }
  | { readonly kind: "stale"; readonly ageMs: number; readonly staleAfterMs: number }
  | { readonly kind: "missing" };

/**
 * Whether the group gets anywhere, judged on the commit records the runtime writes (commit-metadata.ts):
 * a partition progresses when its committed offset moves or it starts a new batch (a new in-flight
 * record). A slow batch and a stuck group both commit nothing for a while; what tells them apart is how
 * long that lasts against how long the partitions' reported batch inserts take.
 */
export type Progress =
  /** Some partition committed or started a batch since the previous sample. */
  | { readonly kind: "moving" }
  | {
      readonly kind: "stalled";
      /** Since the oldest of the consecutive samples that show the same commit records (a lower bound). */
      readonly forMs: number;
      /** How many consecutive samples, the newest included, show the same commit records. */
      readonly samples: number;
      /**
       * The slowest batch insert the partitions' commits report; undefined while none reports one (no
       * batch finished since the partitions were assigned: the first is still in flight).
       */
      readonly slowestInsertMs: number | undefined;
    }
  | { readonly kind: "unknown"; readonly why: string };

export interface ConsumerGroupSignals {
  /** When the newest sample was taken; undefined when there is none. */
  readonly sampledAt: number | undefined;
  readonly freshness: Freshness;
  /** Span of the samples the rates were computed over (0 when rates are unknown). */
  readonly windowMs: number;
  /** Per partition, in assigner order (topic, then partition). */
  readonly partitions: readonly PartitionSignal[];
  readonly totalLag: Measured;
  readonly inputRate: Measured;
  readonly processingRate: Measured;
  /** Processing rate divided by the consuming replicas. */
  readonly processingRatePerReplica: Measured;
  /**
   * What one replica can process when it has work: measured from saturated consumers (a backlog on
   * their partitions throughout the window) or from the busy ratio. Unknown when the group rebalanced,
   * the sink pushed back (the rate would measure the sink), or no consumer was saturated.
   */
  readonly capacityPerReplica: Measured;
  /** Total lag divided by the processing rate. */
  readonly lagSeconds: Measured;
  /**
   * How long the backlog takes to drain at the rates of the newest sample interval: the slowest
   * partition's lag over its processing rate minus its input rate. Unknown while a partition with a lag
   * is not shrinking. The newest interval, not the rate window: after a burst, the window's input rate
   * still counts messages that are already in the backlog.
   */
  readonly drainSeconds: Measured;
  /** Whether the consumers make progress, from the commit records over the samples kept. */
  readonly progress: Progress;
  /** The Pipeline's replica count (its scale subresource): what the policy scales from. */
  readonly currentReplicas: number;
  /** Ready runtime pods in the newest sample. */
  readonly consumingReplicas: number;
  /** The consuming replica count changed within the window (a rebalance paused processing). */
  readonly rebalancing: boolean;
  readonly sinkPressure: readonly SinkPressure[];
}

export interface SignalOptions {
  /** A newest sample older than this makes every signal unknown. */
  readonly staleAfterMs: number;
  /** Rates are taken between the newest sample and the oldest one at most this much older. */
  readonly rateWindowMs: number;
  /** Two samples closer than this give no rate (too noisy to act on). */
  readonly minRateIntervalMs: number;
  /**
   * A partition counts as backlogged (its consumer saturated) when its lag is at least this many
   * seconds of its own input at both ends of the window: a consumer that keeps up still shows a lag of
   * about one commit interval, which is not a backlog.
   */
  readonly saturationLagSeconds: number;
  /** …and at least this many messages. (Lag growing by as much also counts as saturated.) */
  readonly minSaturationLag: number;
  /** Busy ratios below this are too small to extrapolate a capacity from. */
  readonly minBusyRatio: number;
}

export const defaultSignalOptions: SignalOptions = {
  staleAfterMs: 60_000,
  rateWindowMs: 15_000,
  minRateIntervalMs: 5_000,
  saturationLagSeconds: 5,
  minSaturationLag: 1_000,
  minBusyRatio: 0.05,
};

export interface SignalInput {
  /** Recent samples, any order; only the rate window's worth is used. */
  readonly samples: readonly OffsetSample[];
  readonly currentReplicas: number;
  readonly sinkPressure: readonly SinkPressure[];
  readonly now: number;
  readonly options?: Partial<SignalOptions>;
}

function effectiveCommitted(committed: CommittedOffset): number | undefined {
  switch (committed.kind) {
    case "committed":
      return committed.offset;
    case "none":
      return committed.startsAt;
    case "unknown":
      return undefined;
  }
}

function partitionLag(offsets: PartitionOffsets | undefined): Measured {
  if (offsets === undefined) return unknown("partition missing from the sample");
  if (offsets.endOffset === undefined) return unknown("end offset not reported");
  const committed = effectiveCommitted(offsets.committed);
  if (committed === undefined) return unknown("committed offset not reported");
  // The two offsets come from separate requests; a commit can land between them. Lag is never negative.
  return known(Math.max(0, offsets.endOffset - committed));
}

function growth(from: number | undefined, to: number | undefined, seconds: number, what: string): Measured {
  if (from === undefined || to === undefined)
    return unknown(`${what} not reported at both ends of the window`);
  if (to < from) return unknown(`${what} went backwards (offsets reset or topic recreated)`);
  return known((to - from) / seconds);
}

/** Sum of known values, or unknown naming the partitions that were not (at most five of them). */
function sumAcross(
  partitions: readonly PartitionSignal[],
  pick: (p: PartitionSignal) => Measured,
  what: string,
): Measured {
  let total = 0;
  const missing: string[] = [];
  let firstWhy = "";
  for (const p of partitions) {
    const value = pick(p);
    if (value.kind === "known") total += value.value;
    else {
      if (missing.length === 0) firstWhy = value.why;
      missing.push(partitionLabel(p));
    }
  }
  if (partitions.length === 0) return unknown(`no partitions reported, so no ${what}`);
  if (missing.length === 0) return known(total);
  const named =
    missing.length > 5
      ? `${missing.slice(0, 5).join(", ")} and ${missing.length - 5} more`
      : missing.join(", ");
  return unknown(`${what} unknown for ${named}: ${firstWhy}`);
}

function allUnknown(
  why: string,
  base: Pick<ConsumerGroupSignals, "sampledAt" | "freshness" | "currentReplicas" | "sinkPressure">,
  partitions: readonly PartitionSignal[],
  consumingReplicas: number,
): ConsumerGroupSignals {
  const none = unknown(why);
  return {
    ...base,
    windowMs: 0,
    partitions,
    totalLag: none,
    inputRate: none,
    processingRate: none,
    processingRatePerReplica: none,
    capacityPerReplica: none,
    lagSeconds: none,
    drainSeconds: none,
    progress: { kind: "unknown", why },
    consumingReplicas,
    rebalancing: false,
  };
}

/** Derives every signal from recent samples; pure, with `now` injected. */
export function computeSignals(input: SignalInput): ConsumerGroupSignals {
  const options = { ...defaultSignalOptions, ...input.options };
  const samples = [...input.samples].sort((a, b) => a.at - b.at);
  const latest = samples.at(-1);
  const common = { currentReplicas: input.currentReplicas, sinkPressure: input.sinkPressure };
  if (latest === undefined) {
    return allUnknown(
      "no offsets sampled yet",
      { ...common, sampledAt: undefined, freshness: { kind: "missing" } },
      [],
      0,
    );
  }
  const ageMs = Math.max(0, input.now - latest.at);
  const keys = [...latest.partitions].sort(comparePartitions);
  if (ageMs > options.staleAfterMs) {
    const why = `newest offset sample is ${formatDuration(ageMs)} old (stale after ${formatDuration(options.staleAfterMs)})`;
    const partitions = keys.map((k) => ({
      topic: k.topic,
      partition: k.partition,
      lag: unknown(why),
      inputRate: unknown(why),
      processingRate: unknown(why),
    }));
    return allUnknown(
      why,
      {
        ...common,
        sampledAt: latest.at,
        freshness: { kind: "stale", ageMs, staleAfterMs: options.staleAfterMs },
      },
      partitions,
      latest.consumingReplicas,
    );
  }
  const freshness: Freshness = { kind: "fresh", ageMs };

  // The oldest sample still inside the window, far enough back to give a rate — preferably one taken
  // after the consuming replica count last changed: rates across a rebalance mix two group shapes,
  // while rates after it measure the new one (a pod that just joined may still be warming up, which
  // underestimates capacity and errs towards more replicas; later windows correct it).
  const gives = (s: OffsetSample) =>
    s.at >= latest.at - options.rateWindowMs && latest.at - s.at >= options.minRateIntervalMs;
  const lastChange = samples.findLastIndex((s) => s.consumingReplicas !== latest.consumingReplicas);
  const settledSince = samples[lastChange + 1]?.at ?? latest.at;
  const base = samples.find((s) => gives(s) && s.at >= settledSince) ?? samples.find(gives);
  const windowSamples = base === undefined ? [latest] : samples.filter((s) => s.at >= base.at);
  const seconds = base === undefined ? 0 : (latest.at - base.at) / 1000;
  const baseByKey = new Map(base?.partitions.map((p) => [partitionLabel(p), p]));
  const noRate = unknown(
    `need two offset samples at least ${formatDuration(options.minRateIntervalMs)} apart within ${formatDuration(options.rateWindowMs)}`,
  );

  const partitions: PartitionSignal[] = keys.map((now) => {
    const then = baseByKey.get(partitionLabel(now));
    const lag = partitionLag(now);
    if (base === undefined)
      return { topic: now.topic, partition: now.partition, lag, inputRate: noRate, processingRate: noRate };
    if (then === undefined) {
      const why = unknown("partition absent from the window's first sample (new partition?)");
      return { topic: now.topic, partition: now.partition, lag, inputRate: why, processingRate: why };
    }
    return {
      topic: now.topic,
      partition: now.partition,
      lag,
      inputRate: growth(then.endOffset, now.endOffset, seconds, "end offset"),
      processingRate: growth(
        effectiveCommitted(then.committed),
        effectiveCommitted(now.committed),
        seconds,
        "committed offset",
      ),
    };
  });

  const totalLag = sumAcross(partitions, (p) => p.lag, "lag");
  const inputRate = sumAcross(partitions, (p) => p.inputRate, "input rate");
  const processingRate = sumAcross(partitions, (p) => p.processingRate, "processing rate");
  const consumingReplicas = latest.consumingReplicas;
  const rebalancing = windowSamples.some((s) => s.consumingReplicas !== consumingReplicas);

  let processingRatePerReplica: Measured;
  if (processingRate.kind === "unknown") processingRatePerReplica = processingRate;
  else if (consumingReplicas <= 0) processingRatePerReplica = unknown("no replica was consuming");
  else if (rebalancing) processingRatePerReplica = unknown("the group rebalanced within the window");
  else processingRatePerReplica = known(processingRate.value / consumingReplicas);

  let lagSeconds: Measured;
  if (totalLag.kind === "unknown") lagSeconds = totalLag;
  else if (totalLag.value === 0) lagSeconds = known(0);
  else if (processingRate.kind === "unknown") lagSeconds = processingRate;
  else if (processingRate.value <= 0) lagSeconds = unknown("nothing was processed within the window");
  else lagSeconds = known(totalLag.value / processingRate.value);

  const baseSample = base ?? latest;
  const capacityPerReplica = measureCapacity({
    partitions,
    baseLags: keys.map((k) => partitionLag(baseByKey.get(partitionLabel(k)))),
    processingRate,
    consumingReplicas,
    rebalancing,
    sinkPressure: input.sinkPressure,
    busyRatio: latest.busyRatio,
    haveWindow: base !== undefined && baseSample !== latest,
    options,
  });

  return {
    ...common,
    sampledAt: latest.at,
    freshness,
    windowMs: base === undefined ? 0 : latest.at - base.at,
    partitions,
    totalLag,
    inputRate,
    processingRate,
    processingRatePerReplica,
    capacityPerReplica,
    lagSeconds,
    drainSeconds: drainTime(samples, latest, options),
    progress: groupProgress(samples, latest),
    consumingReplicas,
    rebalancing,
  };
}

/** A partition's commit record: what moves when it makes progress (committed offset, batch in flight). */
function commitRecord(p: PartitionOffsets): string {
  const offset = p.committed.kind === "committed" ? p.committed.offset : p.committed.kind;
  return `${partitionLabel(p)}@${offset}${p.inflight === undefined ? "" : `+${p.inflight.first}-${p.inflight.last}`}`;
}

function commitRecords(sample: OffsetSample): string {
  return sample.partitions.map(commitRecord).sort().join(" ");
}

/**
 * How long the newest commit records have stood unchanged. Across changes of the ready replica count
 * too: a crash-looping pod flaps between ready and not while re-reading the same in-flight batch, and a
 * handover that does work shows up as new commit records well within the allowance.
 */
function groupProgress(samples: readonly OffsetSample[], latest: OffsetSample): Progress {
  if (latest.partitions.some((p) => p.committed.kind === "unknown")) {
    return { kind: "unknown", why: "committed offsets not reported" };
  }
  const records = commitRecords(latest);
  let oldest = latest;
  let count = 1;
  for (let i = samples.length - 2; i >= 0; i--) {
    const sample = samples[i];
    if (sample === undefined) break;
    if (commitRecords(sample) !== records) {
      if (count === 1) return { kind: "moving" };
      break;
    }
    oldest = sample;
    count += 1;
  }
  if (count === 1) return { kind: "unknown", why: "only one offset sample" };
  const inserts = latest.partitions.flatMap((p) =>
    p.sinkReport === undefined ? [] : [p.sinkReport.insertMs],
  );
  return {
    kind: "stalled",
    forMs: latest.at - oldest.at,
    samples: count,
    slowestInsertMs: inserts.length === 0 ? undefined : Math.max(...inserts),
  };
}

/** See `ConsumerGroupSignals.drainSeconds`. */
function drainTime(samples: readonly OffsetSample[], latest: OffsetSample, options: SignalOptions): Measured {
  const previous = samples.findLast((s) => latest.at - s.at >= options.minRateIntervalMs);
  if (previous === undefined || latest.at - previous.at > options.rateWindowMs) {
    return unknown(
      `no offset sample ${formatDuration(options.minRateIntervalMs)} to ${formatDuration(options.rateWindowMs)} before the newest`,
    );
  }
  if (samples.some((s) => s.at >= previous.at && s.consumingReplicas !== latest.consumingReplicas)) {
    return unknown("the group rebalanced within the newest interval");
  }
  const seconds = (latest.at - previous.at) / 1000;
  const before = new Map(previous.partitions.map((p) => [partitionLabel(p), p]));
  let longest = 0;
  for (const now of latest.partitions) {
    const lag = partitionLag(now);
    if (lag.kind === "unknown") return lag;
    if (lag.value === 0) continue;
    const then = before.get(partitionLabel(now));
    const input = growth(then?.endOffset, now.endOffset, seconds, "end offset");
    const processed = growth(
      then === undefined ? undefined : effectiveCommitted(then.committed),
      effectiveCommitted(now.committed),
      seconds,
      "committed offset",
    );
    if (input.kind === "unknown") return input;
    if (processed.kind === "unknown") return processed;
    const net = processed.value - input.value;
    if (net <= 0) {
      return unknown(
        `the lag of ${partitionLabel(now)} did not shrink over the newest ${formatDuration(latest.at - previous.at)}`,
      );
    }
    longest = Math.max(longest, lag.value / net);
  }
  return known(longest);
}

interface CapacityInput {
  readonly partitions: readonly PartitionSignal[];
  readonly baseLags: readonly Measured[];
  readonly processingRate: Measured;
  readonly consumingReplicas: number;
  readonly rebalancing: boolean;
  readonly sinkPressure: readonly SinkPressure[];
  readonly busyRatio: number | undefined;
  readonly haveWindow: boolean;
  readonly options: SignalOptions;
}

/**
 * A consumer's capacity shows only when it has more work than it can do. With the busy ratio we
 * extrapolate (processed ÷ busy fraction); without it we look for consumers that had a backlog on one of
 * their partitions at both ends of the window — those worked flat out, so what they committed is what a
 * replica can do. Consumers are mapped to partitions the way the round-robin assigner deals them.
 */
function measureCapacity(input: CapacityInput): Measured {
  const { options } = input;
  if (!input.haveWindow) return unknown("no rate window yet");
  if (input.rebalancing) return unknown("the group rebalanced within the window");
  if (input.sinkPressure.length > 0) {
    return unknown("the sink is pushing back, so the processing rate measures the sink, not the consumers");
  }
  if (input.consumingReplicas <= 0) return unknown("no replica was consuming");
  if (input.processingRate.kind === "unknown") return input.processingRate;
  if (input.busyRatio !== undefined && input.busyRatio >= options.minBusyRatio) {
    return known(input.processingRate.value / (input.consumingReplicas * Math.min(1, input.busyRatio)));
  }
  const members = roundRobinAssignment(input.partitions.length, input.consumingReplicas);
  let saturated = 0;
  let processed = 0;
  let idleWithBacklog = 0;
  for (const member of members) {
    let busy = false;
    let rate = 0;
    let measurable = member.length > 0;
    for (const index of member) {
      const p = input.partitions[index];
      const baseLag = input.baseLags[index];
      if (p === undefined || baseLag === undefined) continue;
      if (p.processingRate.kind === "unknown" || p.inputRate.kind === "unknown") {
        measurable = false;
        continue;
      }
      rate += p.processingRate.value;
      const threshold = Math.max(options.minSaturationLag, p.inputRate.value * options.saturationLagSeconds);
      if (p.lag.kind === "known" && baseLag.kind === "known") {
        // Backlogged at both ends: busy throughout. Or the backlog grew by more than a commit interval's
        // worth: the consumer fell behind, so it was busy for most of the window (its rate is then a
        // slight underestimate, which errs towards more replicas, and later measurements correct it).
        const backlogged = p.lag.value >= threshold && baseLag.value >= threshold;
        if (backlogged || p.lag.value - baseLag.value >= threshold) busy = true;
      }
    }
    if (busy && measurable && rate > 0) {
      saturated += 1;
      processed += rate;
    } else if (busy && measurable) idleWithBacklog += 1;
  }
  if (saturated === 0 && idleWithBacklog > 0) {
    return unknown("the consumers with a backlog committed nothing within the window (a batch in flight?)");
  }
  if (saturated === 0) {
    return unknown("no consumer had a backlog throughout the window, so none showed its limit");
  }
  return known(processed / saturated);
}
