/**
 * Every default of the four kinds, keyed by its path under `spec` (`[*]`: each list item). The
 * schemas take their `default:` from here, so the apiserver fills them in at apply, `kubectl explain`
 * shows them (the CRD renderer writes "Default: …" into each description) and the operator and the
 * runtime, which validate with ajv from the same schemas, apply the same values. Code that needs a
 * default reads it here; `defaults.test.ts` checks the rendered CRDs hold exactly these values.
 */
import type { PipelineSpec } from "./pipeline.js";

export const pipelineDefaults = {
  "source.kafka.startOffset": "earliest",
  "source.kafka.tls.enabled": false,
  "fields[*].nullable": false,
  "eventTime.maxOutOfOrderness": "5s",
  "eventTime.allowedLateness": "0s",
  "eventTime.idleTimeout": "30s",
  "dedup.horizon": "10m",
  "enrich[*].ttl": "1m",
  "windows[*].groupBy": [],
  "sink.clickhouse.database": "default",
  "sink.clickhouse.batch.maxRows": 10_000,
  "sink.clickhouse.batch.maxDelay": "1s",
  "sink.redis.ttl": "1h",
  "scaling.mode": "auto",
  "scaling.minReplicas": 1,
  "scaling.maxReplicas": 4,
  "scaling.targetCatchUp": "2m",
  "scaling.scaleUpStabilization": "0s",
  "scaling.scaleDownStabilization": "5m",
  "scaling.cooldown": "30s",
  deletionPolicy: "Retain",
} as const;

export const rollupDefaults = {
  dimensions: [],
  backfill: true,
  cacheTtl: "30s",
  deletionPolicy: "Retain",
} as const;

export const alertRuleDefaults = {
  "query.groupBy": [],
  "query.range": "5m",
  interval: "30s",
  for: "0s",
  keepFiringFor: "0s",
  noDataState: "NoData",
  errorState: "Error",
  severity: "warning",
} as const;

/** The gateway's query language (query.ts), keyed by its path in a query request. */
export const queryDefaults = {
  dimensions: [],
  granularity: "none",
  timezone: "UTC",
  orderBy: [],
  "orderBy[*].direction": "asc",
  limit: 1000,
  offset: 0,
} as const;

type Prefixed<P extends string, T> = { readonly [K in keyof T & string as `${P}${K}`]: T[K] };

function prefixed<P extends string, T extends object>(prefix: P, table: T): Prefixed<P, T> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [`${prefix}${k}`, v])) as Prefixed<P, T>;
}

export const dashboardDefaults = {
  "panels[*].refresh.mode": "live",
  "panels[*].topN.limit": 10,
  // A panel's query is a query request, with the request's defaults.
  ...prefixed("panels[*].source.query.", queryDefaults),
} as const;

/**
 * Runtime pods wanted: `spec.replicas` (the scale subresource, which the autoscaler sets) or, before
 * anything set it, the scaling minimum (at least one, so a new pipeline starts consuming).
 */
export function configuredReplicas(spec: PipelineSpec): number {
  return spec.replicas ?? Math.max(1, spec.scaling.minReplicas);
}
