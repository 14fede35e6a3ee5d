import { describe, expect, it } from "vitest";
import type { AlertRuleStatus } from "../../api/v1alpha1/alert-rule.js";
import type { RuleState } from "./alert-state.js";
import { decodeRecord, encodeRecord, type RuleRecord, recordKey, resumeRecord } from "./rule-record.js";

const second = 1000;
const t0 = Date.now();
const hour = 3600 * second;

const pending: RuleState = {
  evaluatedAtMs: t0,
  series: [
    {
      labels: { type: "click" },
      state: "Pending",
      sinceMs: t0 - 2 * second,
      activeAtMs: t0 - 2 * second,
      value: 50,
      missing: 0,
    },
  ],
};
const record: RuleRecord = {
  state: pending,
  alertmanagerSent: { am: { alert_1: t0 } },
  webhookPending: [],
};

describe("the rule record", () => {
  it("is keyed by the rule and its uid, and reads back as written", () => {
    const key = recordKey("shop", "errors-high", "uid-1");
    expect(key).toBe("tally:alerts:v1:shop:errors-high:uid-1");
    expect(decodeRecord(key, encodeRecord(record))).toEqual(record);
  });

  it.each([
    ["not JSON", "{", /Redis key k: not JSON/],
    [
      "another format",
      JSON.stringify({ version: 2, state: { series: [] } }),
      /Redis key k: version 2, expected 1/,
    ],
    [
      "a broken series",
      JSON.stringify({ version: 1, state: { series: [{ state: "Ok" }] } }),
      /state\.series is not a list/,
    ],
  ])("refuses %s, naming the key", (_label, text, message) => {
    expect(() => decodeRecord("k", text)).toThrow(message);
  });
});

describe("resumeRecord", () => {
  it("continues a Pending series' `for` timer within the outage tolerance", () => {
    expect(resumeRecord(record, undefined, t0 + 30 * second, hour)).toEqual(record);
  });

  it("starts a Pending series over beyond the tolerance, keeping what was sent", () => {
    const resumed = resumeRecord(record, undefined, t0 + 2 * hour, hour);
    expect(resumed.state.series).toEqual([]);
    expect(resumed.alertmanagerSent).toEqual(record.alertmanagerSent);
  });

  it("rebuilds from the AlertRule status when Redis has nothing", () => {
    const status: AlertRuleStatus = {
      state: "Firing",
      lastEvaluation: new Date(t0).toISOString(),
      series: [
        {
          labels: { type: "click" },
          state: "Firing",
          since: new Date(t0 - 10 * second).toISOString(),
          value: 50,
          activeAt: new Date(t0 - 14 * second).toISOString(),
          firedAt: new Date(t0 - 10 * second).toISOString(),
        },
      ],
    };
    const resumed = resumeRecord(undefined, status, t0 + 5 * second, hour);
    expect(resumed).toEqual({
      state: {
        evaluatedAtMs: t0,
        series: [
          {
            labels: { type: "click" },
            state: "Firing",
            sinceMs: t0 - 10 * second,
            value: 50,
            activeAtMs: t0 - 14 * second,
            firedAtMs: t0 - 10 * second,
            missing: 0,
          },
        ],
      },
      alertmanagerSent: {},
      webhookPending: [],
    });
  });
});
