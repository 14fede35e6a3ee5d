import { describe, expect, it } from "vitest";
import type { AlertNotification } from "./notification.js";
import { webhookBody } from "./notify-webhook.js";

const now = Date.now();

const firing: AlertNotification = {
  ruleNamespace: "shop",
  ruleName: "checkout-errors",
  ruleUid: "3f1c",
  severity: "warning",
  labels: { severity: "warning", region: "eu", alertname: "checkout-errors", namespace: "shop" },
  annotations: { summary: "errors", runbook_url: "http://runbooks/checkout" },
  status: "firing",
  startsAtMs: now - 120_000,
  value: 7.5,
  idempotencyId: "3f1c-eu-1",
  generatorURL: "http://gateway.example/alerts/shop/checkout-errors",
};

describe("webhookBody", () => {
  it("renders a firing alert: id = the idempotency id, type alert.firing, timestamp = when it fired", () => {
    expect(JSON.parse(webhookBody(firing))).toEqual({
      id: "3f1c-eu-1",
      type: "alert.firing",
      timestamp: new Date(now - 120_000).toISOString(),
      data: {
        rule: { namespace: "shop", name: "checkout-errors", uid: "3f1c" },
        status: "firing",
        severity: "warning",
        labels: { alertname: "checkout-errors", namespace: "shop", region: "eu", severity: "warning" },
        annotations: { runbook_url: "http://runbooks/checkout", summary: "errors" },
        startsAt: new Date(now - 120_000).toISOString(),
        value: 7.5,
        generatorURL: "http://gateway.example/alerts/shop/checkout-errors",
      },
    });
  });

  it("renders a resolved alert: type alert.resolved, timestamp and endsAt = when it resolved", () => {
    const body = JSON.parse(
      webhookBody({ ...firing, status: "resolved", resolvedAtMs: now - 1000, idempotencyId: "3f1c-eu-2" }),
    );
    expect(body).toMatchObject({
      id: "3f1c-eu-2",
      type: "alert.resolved",
      timestamp: new Date(now - 1000).toISOString(),
      data: {
        status: "resolved",
        startsAt: new Date(now - 120_000).toISOString(),
        endsAt: new Date(now - 1000).toISOString(),
      },
    });
  });

  it("is byte-stable: label order does not change the bytes that are signed", () => {
    const reordered: AlertNotification = {
      ...firing,
      labels: Object.fromEntries(Object.entries(firing.labels).reverse()),
      annotations: Object.fromEntries(Object.entries(firing.annotations).reverse()),
    };
    expect(webhookBody(reordered)).toBe(webhookBody(firing));
  });

  it("sends a value JSON cannot hold as null", () => {
    expect(JSON.parse(webhookBody({ ...firing, value: Number.NaN })).data.value).toBeNull();
    expect(JSON.parse(webhookBody({ ...firing, value: Number.POSITIVE_INFINITY })).data.value).toBeNull();
  });
});
