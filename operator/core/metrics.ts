/** The operator's Prometheus metrics; the controller name is the `controller` label everywhere. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();

export const reconcileTotal = new Counter({
  name: "tally_operator_reconcile_total",
  help: "Reconciles by controller and outcome (done, requeue, terminal, error).",
  labelNames: ["controller", "outcome"] as const,
  registers: [registry],
});

export const reconcileErrors = new Counter({
  name: "tally_operator_reconcile_errors_total",
  help: "Reconciles that failed and will be retried.",
  labelNames: ["controller"] as const,
  registers: [registry],
});

export const reconcileDuration = new Histogram({
  name: "tally_operator_reconcile_duration_seconds",
  help: "Time spent in one reconcile.",
  labelNames: ["controller"] as const,
  buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const queueDepth = new Gauge({
  name: "tally_operator_queue_depth",
  help: "Keys waiting in the controller's work queue.",
  labelNames: ["controller"] as const,
  registers: [registry],
});

export const queueLatency = new Histogram({
  name: "tally_operator_queue_latency_seconds",
  help: "Time a key waited in the queue before its reconcile started.",
  labelNames: ["controller"] as const,
  buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
  registers: [registry],
});

export const isLeader = new Gauge({
  name: "tally_operator_leader",
  help: "1 while this replica holds the leader lease.",
  registers: [registry],
});

export const apiWrites = new Counter({
  name: "tally_operator_api_writes_total",
  help: "Writes to the Kubernetes API (create, apply, patch, delete) by kind and verb.",
  labelNames: ["kind", "verb"] as const,
  registers: [registry],
});

export const clickhouseStatements = new Counter({
  name: "tally_operator_clickhouse_statements_total",
  help: "DDL and migration statements sent to ClickHouse.",
  labelNames: ["controller"] as const,
  registers: [registry],
});
