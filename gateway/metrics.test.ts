import { describe, expect, it } from "vitest";
import { gatewayMetrics } from "./metrics.js";

describe("the alert evaluator's metrics", () => {
  it("counts evaluations, notifications and what the replica holds, as Prometheus reads them", async () => {
    const { registry, alerts } = gatewayMetrics();
    alerts.evaluated("values", "interval", 0.2, 15);
    alerts.evaluated("values", "interval", 0.3, 5);
    alerts.evaluated("error", "window", 30, 0);
    alerts.notified("alertmanager", "sent");
    alerts.notified("webhook", "failed");
    alerts.owned(16, 512);
    alerts.owned(11, 340);
    const text = await registry.metrics();
    expect(text).toContain('tally_gateway_alert_evaluations_total{outcome="values",trigger="interval"} 2');
    expect(text).toContain('tally_gateway_alert_evaluations_total{outcome="error",trigger="window"} 1');
    expect(text).toContain('tally_gateway_alert_evaluation_duration_seconds_sum{trigger="interval"} 0.5');
    expect(text).toContain(
      'tally_gateway_alert_evaluation_duration_seconds_bucket{le="0.25",trigger="interval"} 1',
    );
    expect(text).toContain('tally_gateway_alert_evaluation_lag_seconds_sum{trigger="interval"} 0.02');
    expect(text).toContain(
      'tally_gateway_alert_notifications_total{channel_type="alertmanager",outcome="sent"} 1',
    );
    expect(text).toContain(
      'tally_gateway_alert_notifications_total{channel_type="webhook",outcome="failed"} 1',
    );
    expect(text).toContain("tally_gateway_alert_shards_held 11");
    expect(text).toContain("tally_gateway_alert_rules_evaluated 340");
  });
});
