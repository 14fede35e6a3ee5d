import { describe, expect, it } from "vitest";
import { examplePipelineSpec } from "../../test/support/fixtures/clickhouse-fixtures.js";
import type { PipelineSpec } from "./pipeline.js";
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
    [
      "a tumbling window of size 0s",
      (s) => {
        const w = s.windows?.[0];
        if (w?.type === "tumbling") w.size = "0s";
      },
      "spec.windows[0].size",
      /must be a positive duration, not 0s/,
    ],
    [
      "a session window with a gap of 0m",
      (s) => {
        const w = s.windows?.find((x) => x.type === "session");
        if (w?.type === "session") w.gap = "0m";
      },
      "spec.windows[2].gap",
      /must be a positive duration/,
    ],
    [
      "a filter naming a field the pipeline does not have",
      (s) => s.transforms?.push({ type: "filter", name: "f", expression: "event.nope == 'x'" }),
      "spec.transforms[1].expression",
      /CEL type error: event has no field 'nope'/,
    ],
    [
      "a filter that is not boolean",
      (s) => s.transforms?.push({ type: "filter", name: "f", expression: "event.value + 1.0" }),
      "spec.transforms[1].expression",
      /a filter must return bool; this expression returns double/,
    ],
    [
      "integer arithmetic on a numeric field (a double in CEL)",
      (s) => s.transforms?.push({ type: "filter", name: "f", expression: "event.value + 1 > 2.0" }),
      "spec.transforms[1].expression",
      /no matching overload for '_\+_' applied to \(double, int\)/,
    ],
    [
      "a set step whose value its field cannot hold",
      (s) => s.transforms?.push({ type: "set", name: "t", field: "value", expression: "[event.value]" }),
      "spec.transforms[1].expression",
      /returns list\(double\), which field "value" \(Float64\) cannot hold/,
    ],
  ])("refuses %s, naming the field", (_label, change, path, message) => {
    const problems = validatePipelineSemantics(withChange(change));
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});

describe("validatePipelineSemantics on CEL steps", () => {
  it.each([
    ["filter", "event.value > 1 && event.user_id.startsWith('u')"],
    ["filter", "dyn(event.value) == 1"],
  ])("accepts a %s that type-checks: %s", (type, expression) => {
    const problems = validatePipelineSemantics(
      withChange((s) => s.transforms?.push({ type: "filter", name: `${type}_ok`, expression })),
    );
    expect(problems).toEqual([]);
  });

  it("accepts a set step whose value suits its field", () => {
    const problems = validatePipelineSemantics(
      withChange((s) =>
        s.transforms?.push({ type: "set", name: "t", field: "value", expression: "event.value * 100.0" }),
      ),
    );
    expect(problems).toEqual([]);
  });
});
