/**
 * How a consumer group spreads partitions over its members. The policy, the signal reader and the
 * simulator all need the same answer, so it lives here once.
 *
 * kafkajs' default assigner (`PartitionAssigners.roundRobin`, node_modules/kafkajs/src/consumer/assigners/
 * roundRobinAssigner) flattens the subscribed topics' partitions into one list and deals them out in turn
 * over the sorted member ids: member j gets list entries j, j+n, j+2n, … Which pod is member j does not
 * matter for load, only the shape, so we index members 0…n-1.
 */

/** One partition of a subscribed topic. */
export interface PartitionKey {
  readonly topic: string;
  readonly partition: number;
}

/** Topic, then partition number: the order the round-robin assigner deals partitions in. */
export function comparePartitions(a: PartitionKey, b: PartitionKey): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}

/** `${topic}-${partition}`, as Kafka tools print a partition. */
export function partitionLabel(key: PartitionKey): string {
  return `${key.topic}-${key.partition}`;
}

/**
 * For `replicas` consumers over `partitionCount` partitions (in assigner order), the partition indexes each
 * consumer owns. Consumers beyond the partition count get nothing: they sit idle, which is why the
 * policy never asks for more replicas than partitions.
 */
export function roundRobinAssignment(partitionCount: number, replicas: number): number[][] {
  if (!Number.isInteger(partitionCount) || partitionCount < 0) {
    throw new RangeError(
      `roundRobinAssignment: partitionCount must be a non-negative integer, got ${partitionCount}`,
    );
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(`roundRobinAssignment: replicas must be a non-negative integer, got ${replicas}`);
  }
  const members: number[][] = Array.from({ length: replicas }, () => []);
  if (replicas === 0) return members;
  for (let i = 0; i < partitionCount; i++) members[i % replicas]?.push(i);
  return members;
}

/** The most partitions any one consumer owns: the number that bounds the group's throughput when partitions are alike. */
export function maxPartitionsPerReplica(partitionCount: number, replicas: number): number {
  if (replicas <= 0) return Number.POSITIVE_INFINITY;
  return Math.ceil(partitionCount / replicas);
}
