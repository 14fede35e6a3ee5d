import { describe, expect, it } from "vitest";
import type { PipelineSpec } from "../api/v1alpha1/pipeline.js";
import { examplePipelineSpec } from "../clickhouse/test-fixtures.js";
import { validatePipelineSemantics } from "./validate-pipeline.js";

function withChange(change: (spec: PipelineSpec) => void): PipelineSpec {
  const spec = examplePipelineSpec();
  change(spec);
  return spec;
}

describe("validatePipelineSemantics", () => {
  it("accepts the example pipeline", () => {
    expect(validatePipelineSemantics(examplePipelineSpec())).toEqual([]);
  });

  it.each<[string, (s: PipelineSpec) => void, string, RegExp]>([
    [
      "a reserved field name",
      (s) => s.fields.push({ name: "_offset", type: "UInt64", nullable: false }),
      "spec.fields[8].name",
      /reserved/,
    ],
    [
      "an event time that is a string",
      (s) => (s.eventTime.field = "user_id"),
      "spec.eventTime.field",
      /must be Date, DateTime or DateTime64/,
    ],
    [
      "a nullable event time",
      (s) => (s.fields = s.fields.map((f) => (f.name === "ts" ? { ...f, nullable: true } : f))),
      "spec.eventTime.field",
      /nullable/,
    ],
    [
      "a missing event time field",
      (s) => (s.eventTime.field = "when"),
      "spec.eventTime.field",
      /not one of spec.fields/,
    ],
    [
      "a missing dedup field",
      (s) => (s.dedup = { field: "id", horizon: "1m" }),
      "spec.dedup.field",
      /"id" is not one of/,
    ],
    [
      "a group-by on a missing field",
      (s) => s.windows?.[0]?.groupBy.push("country"),
      "spec.windows[0].groupBy[1]",
      /"country"/,
    ],
    [
      "a sum over a string",
      (s) => s.windows?.[0]?.aggregations.push({ fn: "sum", name: "x", field: "url" }),
      "spec.windows[0].aggregations[3].field",
      /sum needs a numeric field/,
    ],
    [
      "a max over a string",
      (s) => s.windows?.[0]?.aggregations.push({ fn: "max", name: "x", field: "url" }),
      "spec.windows[0].aggregations[3].field",
      /numeric or time/,
    ],
    [
      "CEL that does not compile",
      (s) => s.transforms?.push({ type: "filter", name: "f", expression: "event.a ==" }),
      "spec.transforms[1].expression",
      /CEL does not compile/,
    ],
    [
      "a set transform on an undeclared field",
      (s) => s.transforms?.push({ type: "set", name: "t", field: "score", expression: "1" }),
      "spec.transforms[1].field",
      /"score"/,
    ],
    [
      "an enrichment copying an undeclared field",
      (s) =>
        (s.enrich = [
          {
            source: "redisHash",
            name: "u",
            keyField: "user_id",
            keyPrefix: "user:",
            fields: ["plan"],
            ttl: "1m",
          },
        ]),
      "spec.enrich[0].fields[0]",
      /"plan"/,
    ],
    [
      "an invalid JSON Schema",
      (s) =>
        (s.format = {
          type: "json",
          jsonSchema: { type: "object", properties: { a: { type: "nonsense" } } },
        }),
      "spec.format.jsonSchema",
      /not a valid JSON Schema/,
    ],
  ])("refuses %s, naming the field", (_label, change, path, message) => {
    const problems = validatePipelineSemantics(withChange(change));
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});
