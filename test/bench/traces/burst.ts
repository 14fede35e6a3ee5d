/** A burst: one minute of six times the usual load (a backfill, a retry storm) on a steady base. */
import { minute, type TraceShape } from "./trace-kit.js";

const partitions = 12;

export const burstShape: TraceShape = {
  name: "burst",
  description: "40,000/s with a 60s burst of 240,000/s at 5m (12M extra messages); 12 partitions",
  durationMs: 25 * minute,
  partitions,
  initialReplicas: 3,
  seed: 0xb0,
  noise: 0.05,
  rate: (ms) => (ms >= 5 * minute && ms < 6 * minute ? 240_000 : 40_000) / partitions,
};
