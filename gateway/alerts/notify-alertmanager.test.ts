import { describe, expect, it } from "vitest";
import type { AlertNotification } from "./notification.js";
import {
  alertmanagerPayload,
  alertmanagerSendDue,
  alertsEndpoint,
  firingValidityMs,
  resendDue,
  withinResolvedResendWindow,
} from "./notify-alertmanager.js";

const now = Date.now();
const minute = 60_000;

const firing: AlertNotification = {
  ruleNamespace: "shop",
  ruleName: "checkout-errors",
  ruleUid: "3f1c",
  severity: "critical",
  labels: { severity: "critical", alertname: "checkout-errors", namespace: "shop", region: "eu", team: "" },
  annotations: { summary: "checkout errors above 5/min" },
  status: "firing",
  startsAtMs: now - 5 * minute,
  value: 7,
  idempotencyId: "3f1c-eu-firing-1",
  generatorURL: "http://gateway.example/alerts/shop/checkout-errors",
};
const resolved: AlertNotification = {
  ...firing,
  status: "resolved",
  resolvedAtMs: now - minute,
  value: 1,
  idempotencyId: "3f1c-eu-resolved-1",
};

describe("alertmanagerPayload", () => {
  it("renders a firing alert valid for 4 × max(interval, resend delay)", () => {
    const [alert] = alertmanagerPayload([firing], now, 10_000, minute);
    expect(alert).toEqual({
      labels: { alertname: "checkout-errors", namespace: "shop", region: "eu", severity: "critical" },
      annotations: { summary: "checkout errors above 5/min" },
      startsAt: new Date(now - 5 * minute).toISOString(),
      endsAt: new Date(now + 4 * minute).toISOString(),
      generatorURL: "http://gateway.example/alerts/shop/checkout-errors",
    });
    // A rule evaluated less often than the resend delay: its interval decides.
    const [slow] = alertmanagerPayload([firing], now, 5 * minute, minute);
    expect(slow?.endsAt).toBe(new Date(now + 20 * minute).toISOString());
  });

  it("renders a resolved alert ending when it resolved, whenever it is (re-)sent", () => {
    const [first, resent] = [now, now + 10 * minute].map(
      (at) => alertmanagerPayload([resolved], at, 10_000, minute)[0],
    );
    expect(first?.endsAt).toBe(new Date(now - minute).toISOString());
    expect(resent).toEqual(first);
  });

  it("drops labels with empty values and sorts the rest (one alert, one label set)", () => {
    const [alert] = alertmanagerPayload([firing], now, 10_000, minute);
    expect(Object.keys(alert?.labels ?? {})).toEqual(["alertname", "namespace", "region", "severity"]);
  });

  it("renders a batch in order", () => {
    expect(alertmanagerPayload([firing, resolved], now, 10_000, minute).map((a) => a.endsAt)).toEqual([
      new Date(now + 4 * minute).toISOString(),
      new Date(now - minute).toISOString(),
    ]);
  });

  it("firingValidityMs", () => {
    expect(firingValidityMs(15_000, 60_000)).toBe(240_000);
    expect(firingValidityMs(120_000, 60_000)).toBe(480_000);
  });
});

describe("resend timing", () => {
  it("resendDue: strictly after the delay, as Prometheus", () => {
    expect(resendDue(now - minute, now, minute)).toBe(false);
    expect(resendDue(now - minute - 1, now, minute)).toBe(true);
    expect(resendDue(now - 10_000, now, minute)).toBe(false);
  });

  it("withinResolvedResendWindow: 15 minutes", () => {
    expect(withinResolvedResendWindow(now - 15 * minute, now)).toBe(true);
    expect(withinResolvedResendWindow(now - 15 * minute - 1, now)).toBe(false);
  });

  const resolvedAgo = (ms: number): AlertNotification => ({ ...resolved, resolvedAtMs: now - ms });
  it.each([
    ["firing, never sent", true, firing, undefined],
    ["firing, sent 30 s ago", false, firing, now - 30_000],
    ["firing, sent 61 s ago", true, firing, now - 61_000],
    ["resolved 1 min ago, last sent (firing) 2 min ago", true, resolvedAgo(minute), now - 2 * minute],
    ["resolved 1 min ago, resolution sent 30 s ago", false, resolvedAgo(minute), now - 30_000],
    ["resolved 2 min ago, resolution sent 61 s ago", true, resolvedAgo(2 * minute), now - 61_000],
    ["resolved 14 min ago, resolution sent 2 min ago", true, resolvedAgo(14 * minute), now - 2 * minute],
    ["resolved 16 min ago, resolution sent 2 min ago", false, resolvedAgo(16 * minute), now - 2 * minute],
  ] as const)("alertmanagerSendDue: %s → %s", (_case, expected, notification, lastSent) => {
    expect(alertmanagerSendDue(notification, lastSent, now, minute)).toBe(expected);
  });
});

describe("alertsEndpoint", () => {
  it.each([
    ["http://127.0.0.1:9093", "http://127.0.0.1:9093/api/v2/alerts"],
    ["http://127.0.0.1:9093/", "http://127.0.0.1:9093/api/v2/alerts"],
    ["https://am.example/prefix/", "https://am.example/prefix/api/v2/alerts"],
  ])("%s → %s", (base, expected) => {
    expect(alertsEndpoint(base)).toBe(expected);
  });
});
