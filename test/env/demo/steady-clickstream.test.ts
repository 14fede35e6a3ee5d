import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { compileEventSchema } from "../../../contracts/events/json-event.js";
import { seededRandom } from "../../support/clickstream-generator.js";
import { clickBatch } from "./steady-clickstream.js";

describe("clickBatch", () => {
  const batch = (first: number) =>
    clickBatch({
      runId: "r",
      first,
      count: 500,
      nowMs: 1_000_000,
      partitions: 4,
      random: seededRandom(first + 1),
    });

  it("never repeats an event id across batches, only within a batch as a producer duplicate", () => {
    const ids = (messages: ReturnType<typeof batch>) =>
      messages.map((m) => (JSON.parse(m.value) as { event_id: string }).event_id);
    const a = ids(batch(0));
    const b = ids(batch(500));
    expect(new Set(a).size).toBe(500);
    expect(new Set(b).size).toBe(500);
    expect(a.length).toBeGreaterThan(500);
    expect(a.filter((id) => b.includes(id))).toEqual([]);
  });

  it("keys each user to one partition and keeps event times within the pipeline's out-of-order bound", () => {
    for (const m of batch(0)) {
      const event = JSON.parse(m.value) as { user_id: string; ts: string };
      expect(m.key).toBe(event.user_id);
      expect(m.partition).toBe(Number(event.user_id.slice(1)) % 4);
      const age = 1_000_000 - Date.parse(event.ts);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(5_000);
    }
  });

  it("makes events the example pipeline accepts (its JSON schema, as the runtime checks it)", () => {
    const pipeline = parseAllDocuments(
      readFileSync(join(import.meta.dirname, "../../../examples/clickstream-pipeline.yaml"), "utf8"),
    )
      .map((d) => d.toJS() as { kind: string; spec: { format: { jsonSchema: Record<string, unknown> } } })
      .find((d) => d.kind === "Pipeline");
    const validate = compileEventSchema(pipeline?.spec.format.jsonSchema ?? {}, "jsonSchema", {
      allErrors: true,
    });
    const refused = batch(0).filter((m) => !validate(JSON.parse(m.value)));
    expect(refused.map((m) => m.value)).toEqual([]);
  });
});
