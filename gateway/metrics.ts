/** The gateway's Prometheus metrics, on their own registry (served on the metrics port). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AlertObserver } from "./alerts/alert-observer.js";
import type { CollectObserver } from "./collect/collector.js";
import type { RequestObserver } from "./http/app.js";

export function gatewayMetrics() {
  const registry = new Registry();
  const requests = new Counter({
    name: "tally_gateway_http_requests_total",
    help: "HTTP requests by route (the route pattern, not the path) and status.",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "tally_gateway_http_request_duration_seconds",
    help: "Time from request to response, by route and status.",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const observe: RequestObserver = ({ route, method, status, seconds }) => {
    const labels = { route, method, status: String(status) };
    requests.inc(labels);
    duration.observe(labels, seconds);
  };
  const collectedEvents = new Counter({
    name: "tally_gateway_collect_events_total",
    help: "Events sent to the collector, by pipeline and outcome: accepted (acknowledged by Kafka), invalid (in a batch refused for an invalid event) or failed (Kafka did not acknowledge).",
    labelNames: ["namespace", "pipeline", "outcome"] as const,
    registers: [registry],
  });
  const produceSeconds = new Histogram({
    name: "tally_gateway_collect_produce_seconds",
    help: "Time from handing a batch to the Kafka producer to the brokers' acknowledgement (or failure).",
    labelNames: ["namespace", "pipeline", "outcome"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const collect: CollectObserver = {
    events: (labels, count) => collectedEvents.inc(labels, count),
    produced: (labels, seconds) => produceSeconds.observe(labels, seconds),
  };
  return { registry, observe, collect, alerts: alertMetrics(registry) };
}

/** The alert evaluator's metrics (gateway/alerts/alert-observer.ts), per replica. */
function alertMetrics(registry: Registry): AlertObserver {
  const evaluations = new Counter({
    name: "tally_gateway_alert_evaluations_total",
    help: "AlertRule evaluations by outcome (values, noData, error: the query's answer; failed: the evaluation could not finish, e.g. Redis down) and trigger (interval, window: a change of the live window watched).",
    labelNames: ["outcome", "trigger"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "tally_gateway_alert_evaluation_duration_seconds",
    help: "Time one AlertRule evaluation took: query, state saved, notifications sent, status written.",
    labelNames: ["trigger"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const lag = new Histogram({
    name: "tally_gateway_alert_evaluation_lag_seconds",
    help: "How late an evaluation started after its slot (or after the window change was seen), waiting for a free evaluation slot included: growing means the evaluator falls behind.",
    labelNames: ["trigger"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const notifications = new Counter({
    name: "tally_gateway_alert_notifications_total",
    help: "Notifications sent by channel type (alertmanager, webhook) and outcome (sent, failed: after the sender's retries).",
    labelNames: ["channel_type", "outcome"] as const,
    registers: [registry],
  });
  const shards = new Gauge({
    name: "tally_gateway_alert_shards_held",
    help: "Alert shards whose Lease this replica holds.",
    registers: [registry],
  });
  const rules = new Gauge({
    name: "tally_gateway_alert_rules_evaluated",
    help: "AlertRules this replica evaluates (those of the shards it holds).",
    registers: [registry],
  });
  return {
    evaluated: (outcome, trigger, seconds, lagMs) => {
      evaluations.inc({ outcome, trigger });
      duration.observe({ trigger }, seconds);
      lag.observe({ trigger }, Math.max(0, lagMs) / 1000);
    },
    notified: (channelType, outcome) => notifications.inc({ channel_type: channelType, outcome }),
    owned: (heldShards, evaluatedRules) => {
      shards.set(heldShards);
      rules.set(evaluatedRules);
    },
  };
}
