/**
 * The smallest specs of each kind that still reach every defaulted field (a TLS block, a dedup, an
 * enrichment, a window, a Redis sink), for tests that check the defaults filled in by the validators
 * (unit) and by the apiserver (integration).
 */

export const minimalPipelineSpec = {
  source: { kafka: { brokers: ["127.0.0.1:9092"], topics: ["t"], tls: {} } },
  format: { type: "json" },
  fields: [
    { name: "id", type: "String" },
    { name: "ts", type: "DateTime64(3)" },
  ],
  eventTime: { field: "ts" },
  dedup: { field: "id" },
  enrich: [{ source: "redisHash", name: "u", keyField: "id", keyPrefix: "u:", fields: ["id"] }],
  windows: [{ type: "tumbling", name: "w", size: "1m", aggregations: [{ fn: "count", name: "n" }] }],
  sink: {
    clickhouse: { connectionSecretRef: { name: "ch" }, table: "events" },
    redis: { connectionSecretRef: { name: "r" } },
  },
};

export const minimalRollupSpec = {
  source: { kind: "Pipeline", name: "p" },
  granularity: "1h",
  metrics: [{ fn: "count", name: "n" }],
};

export const minimalAlertRuleSpec = {
  query: { source: { kind: "Rollup", name: "r" }, metric: "n" },
  condition: { type: "threshold", operator: "gt", value: 1 },
  notify: [{ type: "alertmanager", name: "am", url: "http://127.0.0.1:9093" }],
};

/** The value at a defaults.ts path (`[*]` reads the first item). */
export function valueAt(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.replace(/\[\*\]/g, ".0").split(".")) node = (node as Record<string, unknown>)?.[key];
  return node;
}
