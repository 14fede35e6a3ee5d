import { describe, expect, it } from "vitest";
import type { RuleState } from "./alert-state.js";
import type { ChannelOutcome } from "./notify-outcomes.js";
import {
  channelFailureEvents,
  gatewayStatus,
  statusRefreshMs,
  statusWriteDue,
  transitionEvent,
} from "./rule-status.js";

const second = 1000;
const t0 = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();

const firing = (value: number, atMs: number): RuleState => ({
  evaluatedAtMs: atMs,
  series: [
    {
      labels: { type: "click" },
      state: "Firing",
      sinceMs: t0,
      value,
      activeAtMs: t0 - 4 * second,
      firedAtMs: t0,
      missing: 0,
    },
    { labels: { type: "view" }, state: "Ok", sinceMs: t0, value: 1, missing: 0 },
  ],
});
const outcome = (ok: boolean, atMs: number, failures: number): ChannelOutcome => ({
  channel: "am",
  lastAttempt: iso(atMs),
  ok,
  message: ok ? "sent 1 alert(s)" : "HTTP 503",
  consecutiveFailures: failures,
});

describe("the gateway's status fields", () => {
  it("summarise the state and carry the last notification per channel", () => {
    expect(gatewayStatus(firing(50, t0), undefined, [outcome(true, t0, 0)])).toMatchObject({
      state: "Firing",
      since: iso(t0),
      lastValue: 50,
      lastEvaluation: iso(t0),
      series: [
        { labels: { type: "click" }, state: "Firing" },
        { labels: { type: "view" }, state: "Ok" },
      ],
      notifications: [{ channel: "am", ok: true }],
    });
  });

  it("are written when a state or an outcome changes, and otherwise once a refresh period", () => {
    const written = gatewayStatus(firing(50, t0), undefined, [outcome(true, t0, 0)]);
    const soon = t0 + 2 * second;
    // Only the value and the instants moved: no write.
    expect(
      statusWriteDue(written, gatewayStatus(firing(70, soon), written, [outcome(true, soon, 0)]), soon),
    ).toBe(false);
    // A channel started failing: a write.
    expect(
      statusWriteDue(written, gatewayStatus(firing(70, soon), written, [outcome(false, soon, 1)]), soon),
    ).toBe(true);
    const later = t0 + statusRefreshMs;
    expect(
      statusWriteDue(written, gatewayStatus(firing(70, later), written, [outcome(true, t0, 0)]), later),
    ).toBe(true);
    expect(statusWriteDue(undefined, written, t0)).toBe(true);
  });
});

describe("Events", () => {
  it("one per change of the rule's state, a Warning when it becomes active", () => {
    const status = gatewayStatus(firing(50, t0), undefined, []);
    expect(transitionEvent("Pending", status)).toEqual({
      type: "Warning",
      reason: "AlertFiring",
      note: "Pending → Firing: 1 of 2 series Firing; worst value 50",
    });
    expect(transitionEvent("Firing", status)).toBeUndefined();
    const ok = gatewayStatus({ evaluatedAtMs: t0, series: [] }, status, []);
    expect(transitionEvent("Firing", ok)).toMatchObject({ type: "Normal", reason: "AlertOk" });
  });

  it("says what a series Pending on no data or an error waits to become", () => {
    const waiting = (pendingOn: "NoData" | "Error" | "Firing"): RuleState => ({
      evaluatedAtMs: t0,
      series: [{ labels: {}, state: "Pending", sinceMs: t0, activeAtMs: t0, pendingOn, missing: 0 }],
    });
    const note = (pendingOn: "NoData" | "Error" | "Firing") =>
      transitionEvent(undefined, gatewayStatus(waiting(pendingOn), undefined, []))?.note;
    expect(note("NoData")).toBe("Ok → Pending: 1 of 1 series Pending on NoData");
    expect(note("Error")).toBe("Ok → Pending: 1 of 1 series Pending on Error");
    expect(note("Firing")).toBe("Ok → Pending: 1 of 1 series Pending");
  });

  it("one when a channel starts failing, not again while it keeps failing", () => {
    const first = [outcome(false, t0, 1)];
    expect(channelFailureEvents(first, [outcome(true, t0 - second, 0)])).toEqual([
      { type: "Warning", reason: "NotificationFailed", note: "channel am: HTTP 503" },
    ]);
    expect(channelFailureEvents(first, first)).toEqual([]);
    expect(channelFailureEvents([outcome(false, t0 + second, 2)], first)).toEqual([]);
  });
});
