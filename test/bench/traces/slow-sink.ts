/**
 * A slow sink: ClickHouse merges fall behind ("too many parts") and accepts only 35,000/s for eight
 * minutes while 60,000/s keep arriving. More consumers cannot write faster.
 */
import { minute, type TraceShape } from "./trace-kit.js";

const partitions = 12;

export const slowSinkShape: TraceShape = {
  name: "slow-sink",
  description: "60,000/s; from 5m to 13m the sink accepts only 35,000/s and reports too many parts",
  durationMs: 30 * minute,
  partitions,
  initialReplicas: 4,
  seed: 0x51,
  noise: 0.05,
  rate: () => 60_000 / partitions,
  sink: (ms) =>
    ms >= 5 * minute && ms < 13 * minute
      ? { limit: 35_000, pressure: [{ kind: "too-many-parts", table: "analytics.events_raw" }] }
      : undefined,
};
