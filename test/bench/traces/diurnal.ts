/**
 * A day compressed into two hours (one trace minute = 12 real minutes): quiet night, morning rise, a
 * midday peak, an evening peak, with ±8 % noise per second.
 */
import { minute, type TraceShape } from "./trace-kit.js";

const partitions = 12;
const dayMs = 120 * minute;

function bump(hour: number, centre: number, width: number): number {
  return Math.exp(-(((hour - centre) / width) ** 2));
}

/** Total input at `ms` as a function of the compressed hour of day. */
function diurnalTotal(ms: number): number {
  const hour = (ms / dayMs) * 24;
  return 15_000 + 110_000 * bump(hour, 11.5, 2.5) + 150_000 * bump(hour, 20, 2);
}

export const diurnalShape: TraceShape = {
  name: "diurnal",
  description: "a day in 2h: 15,000/s at night, 125,000/s at midday, 165,000/s in the evening; ±8% noise",
  durationMs: dayMs,
  partitions,
  initialReplicas: 1,
  seed: 0xd1,
  noise: 0.08,
  rate: (ms) => diurnalTotal(ms) / partitions,
};
