/** The gateway's Prometheus metrics, on their own registry (served on the metrics port). */
import { Counter, Histogram, Registry } from "prom-client";
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
  return { registry, observe, collect };
}
