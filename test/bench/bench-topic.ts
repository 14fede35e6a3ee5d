/**
 * The runtime and Flink benches' input: the clickstream generator's events (seed 7, 100 ms apart,
 * starting six hours ago) produced once to a fresh topic of the bench pipeline.
 */
import {
  type GeneratorOptions,
  generateClickstream,
  type ProducedMessage,
} from "../support/clickstream-generator.js";
import { createTopics, produce, type RuntimeTestNames } from "../support/runtime-harness.js";

export async function produceBenchTopic(
  names: RuntimeTestNames,
  partitions: number,
  perPartition: number,
  rates?: GeneratorOptions["rates"],
): Promise<ProducedMessage[][]> {
  const produced = generateClickstream({
    seed: 7,
    partitions,
    perPartition,
    startMs: Date.now() - 6 * 3_600_000,
    spacingMs: 100,
    ...(rates === undefined ? {} : { rates }),
  });
  await createTopics(names, partitions);
  await produce(names.topic, produced);
  return produced;
}
