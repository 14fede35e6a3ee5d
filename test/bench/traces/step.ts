/** A step: steady load quadruples for 20 minutes, then drops back. */
import { minute, type TraceShape } from "./trace-kit.js";

const partitions = 12;

export const stepShape: TraceShape = {
  name: "step",
  description: "30,000/s, a step to 120,000/s at 5m, back to 30,000/s at 25m; 12 partitions",
  durationMs: 40 * minute,
  partitions,
  initialReplicas: 2,
  seed: 0x5e7,
  noise: 0.05,
  rate: (ms) => (ms >= 5 * minute && ms < 25 * minute ? 120_000 : 30_000) / partitions,
};
