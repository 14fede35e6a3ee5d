import { describe, expect, it } from "vitest";
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
});
