import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { alertmanagerUrl, prometheusUrl, webhookSinkUrl } from "../env/config.js";
import { eventually } from "../support/eventually.js";

interface WebhookRecord {
  path: string;
  body: { status?: string; alerts?: { labels: Record<string, string> }[] };
}

describe("Alertmanager and Prometheus", () => {
  it("accepts an alert through the v2 API and delivers it to the webhook receiver", async () => {
    const alertname = `TallyTest${randomUUID().slice(0, 8)}`;
    const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        {
          labels: { alertname, severity: "warning", pipeline: "default/clickstream" },
          annotations: { summary: "consumer lag above target" },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    expect(response.status).toBe(200);

    const delivered = await eventually(async () => {
      const records = (await (
        await fetch(`${webhookSinkUrl}/received?path=/alertmanager`)
      ).json()) as WebhookRecord[];
      const match = records.find((r) => r.body.alerts?.some((a) => a.labels.alertname === alertname));
      if (!match) throw new Error(`no webhook delivery for ${alertname} yet`);
      return match;
    }, 30_000);
    expect(delivered.body.status).toBe("firing");
    expect(delivered.body.alerts?.[0]?.labels.pipeline).toBe("default/clickstream");
  });

  it("has Prometheus scraping its targets", async () => {
    const up = await eventually(async () => {
      const response = await fetch(
        `${prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="alertmanager"}')}`,
      );
      const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
      const value = body.data.result[0]?.value[1];
      if (value !== "1") throw new Error(`alertmanager target not up yet (${value ?? "no sample"})`);
      return value;
    }, 30_000);
    expect(up).toBe("1");
  });
});
