/** Every autoscaler trace, in the order the bench reports them. */
import type { LoadTrace } from "../../sim/autoscaler/consumer-group-simulator.js";
import { burstShape } from "./burst.js";
import { diurnalShape } from "./diurnal.js";
import { rampShape } from "./ramp.js";
import { skewedPartitionShape } from "./skewed-partition.js";
import { slowSinkShape } from "./slow-sink.js";
import { stepShape } from "./step.js";
import { buildTrace, type TraceShape } from "./trace-kit.js";

const traceShapes: readonly TraceShape[] = [
  stepShape,
  rampShape,
  burstShape,
  diurnalShape,
  skewedPartitionShape,
  slowSinkShape,
];

/** The traces for replicas that process `capacityPerReplica` messages per second. */
export function tracesFor(capacityPerReplica: number): LoadTrace[] {
  return traceShapes.map((shape) => buildTrace(shape, capacityPerReplica));
}
