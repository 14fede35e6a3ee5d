/** A ramp: load climbs steadily for half an hour, holds, and falls back. */
import { minute, piecewise, type TraceShape } from "./trace-kit.js";

const partitions = 12;
const total: readonly (readonly [number, number])[] = [
  [0, 20_000],
  [5 * minute, 20_000],
  [35 * minute, 180_000],
  [45 * minute, 180_000],
  [55 * minute, 20_000],
];

export const rampShape: TraceShape = {
  name: "ramp",
  description: "20,000/s ramping to 180,000/s over 30m, 10m hold, 10m ramp down; 12 partitions",
  durationMs: 65 * minute,
  partitions,
  initialReplicas: 2,
  seed: 0x4a3,
  noise: 0.05,
  rate: (ms) => piecewise(total, ms) / partitions,
};
