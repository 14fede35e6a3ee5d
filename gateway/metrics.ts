/** The gateway's Prometheus metrics, on their own registry (served on the metrics port). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AlertObserver } from "./alerts/alert-observer.js";
import type { CollectObserver } from "./collect/collector.js";
import type { RequestObserver } from "./http/app.js";
import type { StreamObserver } from "./stream/stream-hub.js";

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
  const streamSubscribers = new Gauge({
    name: "tally_gateway_stream_subscribers",
    help: "Open live-stream connections.",
    registers: [registry],
  });
  const streamViews = new Gauge({
    name: "tally_gateway_stream_views",
    help: "Distinct views (namespace, dashboard or query, filter) the subscribers share.",
    registers: [registry],
  });
  const streamReads = new Counter({
    name: "tally_gateway_stream_view_reads_total",
    help: "Reads of a view's changed panels: at most one per view per tick, whatever the number of subscribers.",
    registers: [registry],
  });
  const streamQueries = new Counter({
    name: "tally_gateway_stream_panel_queries_total",
    help: "Panel queries those reads ran.",
    registers: [registry],
  });
  const streamDropped = new Counter({
    name: "tally_gateway_stream_dropped_frames_total",
    help: "Snapshot frames replaced by a newer one while a slow client's socket was full.",
    registers: [registry],
  });
  const streamTicks = new Histogram({
    name: "tally_gateway_stream_poll_seconds",
    help: "Time of one stream poll: the change-token read and the view reads it started.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const stream: StreamObserver = {
    subscribers: (count) => streamSubscribers.set(count),
    views: (count) => streamViews.set(count),
    viewRead: () => streamReads.inc(),
    panelQueries: (count) => streamQueries.inc(count),
    droppedFrames: () => streamDropped.inc(),
    tick: (seconds) => streamTicks.observe(seconds),
  };
  return { registry, observe, collect, stream, alerts: alertMetrics(registry) };
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
