/**
 * The collector refuses exactly the events the runtime would refuse (as undecodable or against the JSON
 * Schema) for the example pipeline: each event is put through the gateway's check (collectTarget +
 * checkEvents) and through the runtime's decoder built from the same spec. Lives outside gateway/ and
 * runtime/ because it imports both programs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collectTarget } from "../../gateway/collect/collect-target.js";
import { checkEvents } from "../../gateway/collect/event-validation.js";
import { DecodeFailure } from "../../runtime/decode/decode-failure.js";
import { createDecoder } from "../../runtime/decode/decoder.js";
import { examplePipelineSpec } from "../support/fixtures/clickhouse-fixtures.js";

const spec = examplePipelineSpec();
const target = collectTarget("shop", "clickstream", { metadata: { name: "clickstream" }, spec });
const decoder = createDecoder(spec.format, () => {
  throw new Error("no schema references");
});

function verdicts(event: unknown): { collector: boolean; runtime: boolean } {
  if (target.kind !== "target") throw new Error(JSON.stringify(target.body));
  const decoded = decoder.decode(Buffer.from(JSON.stringify(event), "utf8"));
  return {
    collector: checkEvents([event], target.validate).invalid === 0,
    runtime: !(decoded instanceof DecodeFailure && (decoded.kind === "schema" || decoded.kind === "decode")),
  };
}

const ts = () => new Date(Date.now() - 30_000).toISOString();
const valid = () => ({ event_id: "e1", user_id: "u1", type: "click", ts: ts(), latency_ms: 3 });

describe("the collector and the runtime agree on JSON events", () => {
  it.each<[string, unknown]>([
    ["a valid event", valid()],
    ["a missing required field", { ...valid(), event_id: undefined }],
    ["an empty event id", { ...valid(), event_id: "" }],
    ["a type outside the enum", { ...valid(), type: "scroll" }],
    ["a zoned date-time", { ...valid(), ts: "2024-03-01 12:34:56+02:00" }],
    ["a date-time without zone", { ...valid(), ts: "2024-03-01T12:34:56" }],
    ["February 29 of a common year", { ...valid(), ts: "2023-02-29T00:00:00Z" }],
    ["a negative latency", { ...valid(), latency_ms: -1 }],
    ["a latency as text", { ...valid(), latency_ms: "3" }],
    ["an unknown property", { ...valid(), extra: [1] }],
    ["an array", [valid()]],
    ["a string", "e1"],
    ["null", null],
  ])("%s", (_what, event) => {
    const { collector, runtime } = verdicts(event);
    expect(collector).toBe(runtime);
  });

  it("on generated events", () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const event = fc.record(
      {
        event_id: value,
        user_id: value,
        type: fc.oneof(fc.constantFrom("page_view", "click", "purchase", "scroll"), value),
        ts: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          value,
        ),
        latency_ms: value,
        value,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(event, (e) => {
        const { collector, runtime } = verdicts(e);
        expect(collector).toBe(runtime);
      }),
      { numRuns: 500 },
    );
  });
});
