import { describe, expect, it } from "vitest";
import { validateAlertRuleSpec } from "./validation.js";

const rule = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
  query: { source: { kind: "Rollup", name: "r" }, metric: "n" },
  condition: { type: "threshold", operator: "gt", value: 1 },
  labels,
  annotations,
  notify: [{ type: "alertmanager", name: "am", url: "http://am:9093" }],
});

describe("validateAlertRuleSpec", () => {
  it("accepts label and annotation names Alertmanager accepts", () => {
    expect(validateAlertRuleSpec(rule({ team: "a", _x9: "b" }, { runbook_url: "u" })).ok).toBe(true);
  });

  it.each([
    ["a label name with a space and a bang", rule({ "bad key!": "x" }), "spec.labels", "bad key!"],
    ["a label name starting with a digit", rule({ "1team": "x" }), "spec.labels", "1team"],
    ["an annotation name with a dash", rule({}, { "runbook-url": "u" }), "spec.annotations", "runbook-url"],
  ])("refuses %s, naming the key", (_label, spec, path, key) => {
    const result = validateAlertRuleSpec(spec);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { path, message: expect.stringContaining(`key "${key}" must match pattern`) },
    ]);
  });
});
