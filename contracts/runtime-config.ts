/**
 * The runtime's configuration: what the operator renders into a Pipeline's ConfigMap and the worker reads
 * at start (`tally-runtime --config` takes the same shape from a manifest). Only the spec fields the
 * runtime reads are in it, so an operator-only change (a scale, the scaling policy, the deletion policy)
 * leaves the pods' configuration hash alone.
 */
import type { PipelineSpec } from "../api/v1alpha1/pipeline.js";
import type { apiVersion } from "../api/v1alpha1/resources.js";

/**
 * Who reads each spec field. Only the runtime's fields go into its configuration: scaling settings
 * and the replica count are the operator's, and the pod template renders into the Deployment itself.
 * `satisfies` makes a new spec field a compile error until it is placed here.
 */
const specFieldReaders = {
  source: "runtime",
  format: "runtime",
  fields: "runtime",
  eventTime: "runtime",
  dedup: "runtime",
  transforms: "runtime",
  enrich: "runtime",
  windows: "runtime",
  sink: "runtime",
  deadLetter: "runtime",
  scaling: "operator",
  replicas: "operator",
  template: "operator",
  deletionPolicy: "operator",
} as const satisfies Record<keyof PipelineSpec, "runtime" | "operator">;

type SpecFieldReaders = typeof specFieldReaders;
type RuntimeField = {
  [K in keyof SpecFieldReaders]: SpecFieldReaders[K] extends "runtime" ? K : never;
}[keyof SpecFieldReaders];

/** The part of a Pipeline's spec its runtime pods read. */
type RuntimeSpec = Pick<PipelineSpec, RuntimeField>;

export function runtimeSpecOf(spec: PipelineSpec): RuntimeSpec {
  const runtimeSpec: Partial<Record<RuntimeField, unknown>> = {};
  for (const [field, reader] of Object.entries(specFieldReaders) as [keyof PipelineSpec, string][]) {
    if (reader === "runtime" && spec[field] !== undefined) runtimeSpec[field as RuntimeField] = spec[field];
  }
  return runtimeSpec as RuntimeSpec;
}

/** The runtime's configuration file, as the ConfigMap carries it and `tally-runtime --config` reads it. */
export interface RuntimeConfig {
  readonly apiVersion: typeof apiVersion;
  readonly kind: "Pipeline";
  readonly metadata: { readonly namespace: string; readonly name: string };
  readonly spec: RuntimeSpec;
  readonly consumerGroup: string;
}

export const runtimeConfigKey = "pipeline.json";

export function defaultConsumerGroup(namespace: string, name: string): string {
  return `tally.${namespace}.${name}`;
}

/** The pipeline's consumer group: the one its runtime pods join and the autoscaler samples. */
export function consumerGroupOf(namespace: string, name: string, spec: PipelineSpec): string {
  return spec.source.kafka.consumerGroup ?? defaultConsumerGroup(namespace, name);
}
