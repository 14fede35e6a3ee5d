/**
 * A skewed partition: one key goes viral and its partition alone receives more than one consumer can
 * process, while the other eleven stay quiet. No replica count fixes that partition's backlog.
 */
import { minute, type TraceShape } from "./trace-kit.js";

const partitions = 12;
const hot = 3;

export const skewedPartitionShape: TraceShape = {
  name: "skewed-partition",
  description: "12 partitions at 4,000/s; partition 3 at 26,000/s from 5m to 15m; then back",
  durationMs: 35 * minute,
  partitions,
  initialReplicas: 3,
  seed: 0x5c,
  noise: 0.05,
  rate: (ms, partition) => (partition === hot && ms >= 5 * minute && ms < 15 * minute ? 26_000 : 4_000),
};
