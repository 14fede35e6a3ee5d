/**
 * Building blocks for the autoscaler's load traces. Every trace is generated, not recorded, and is a
 * pure function of time: noise comes from a hash of (seed, second, partition), so `at(ms)` gives the
 * same answer however often and in whatever order it is asked.
 */

import type { SinkPressure } from "../../../operator/autoscaler/signals.js";
import type { LoadAt, LoadTrace } from "../../sim/autoscaler/consumer-group-simulator.js";

export const minute = 60_000;

/**
 * Rates in the traces are written for replicas that process 20,000 messages per second. A bench run
 * with another measured capacity scales every rate (and sink limit) by capacity ÷ this, so each trace
 * keeps its shape relative to what a replica can do.
 */
export const referenceCapacity = 20_000;

/** Uniform in [-1, 1), from a 32-bit integer hash (splitmix-style) of the three inputs. */
function noise(seed: number, second: number, partition: number): number {
  let h = (seed ^ Math.imul(second, 0x9e3779b1) ^ Math.imul(partition + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return (h / 2 ** 32) * 2 - 1;
}

/** Piecewise-linear interpolation through (ms, value) points; flat before the first and after the last. */
export function piecewise(points: readonly (readonly [number, number])[], ms: number): number {
  const first = points[0];
  if (first === undefined) throw new RangeError("piecewise: no points");
  if (ms <= first[0]) return first[1];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (a === undefined || b === undefined) continue;
    if (ms <= b[0]) return b[0] === a[0] ? b[1] : a[1] + ((b[1] - a[1]) * (ms - a[0])) / (b[0] - a[0]);
  }
  return points.at(-1)?.[1] ?? first[1];
}

export interface TraceShape {
  readonly name: string;
  readonly description: string;
  readonly durationMs: number;
  readonly partitions: number;
  readonly initialReplicas: number;
  readonly seed: number;
  /** Relative per-second noise on every partition's rate (0.05 = ±5 %). */
  readonly noise: number;
  /** Messages per second arriving on `partition` at `ms`, before noise. */
  rate(ms: number, partition: number): number;
  /** The sink at `ms`: a total limit and what the runtime would report, or nothing when it keeps up. */
  sink?(ms: number): { readonly limit: number; readonly pressure: readonly SinkPressure[] } | undefined;
}

/** The trace for replicas of `capacityPerReplica` messages per second (see referenceCapacity). */
export function buildTrace(shape: TraceShape, capacityPerReplica: number = referenceCapacity): LoadTrace {
  if (!(capacityPerReplica > 0))
    throw new RangeError(`buildTrace ${shape.name}: capacity must be > 0, got ${capacityPerReplica}`);
  const scale = capacityPerReplica / referenceCapacity;
  return {
    name: shape.name,
    description: shape.description,
    durationMs: shape.durationMs,
    partitions: shape.partitions,
    initialReplicas: shape.initialReplicas,
    at(ms: number): LoadAt {
      const second = Math.floor(ms / 1000);
      const inputRates = Array.from({ length: shape.partitions }, (_, p) =>
        Math.max(0, scale * shape.rate(ms, p) * (1 + shape.noise * noise(shape.seed, second, p))),
      );
      const sink = shape.sink?.(ms);
      return sink === undefined
        ? { inputRates, sinkPressure: [] }
        : { inputRates, sinkLimit: scale * sink.limit, sinkPressure: sink.pressure };
    },
  };
}
