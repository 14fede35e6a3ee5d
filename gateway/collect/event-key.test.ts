import { describe, expect, it } from "vitest";
import { eventKey, keyFields } from "./event-key.js";

const field = (name: string, path?: string) => ({
  name,
  type: "String" as const,
  nullable: true,
  ...(path === undefined ? {} : { path }),
});
const dedup = (f: string) => ({ field: f, horizon: "10m" });

describe("collector event key", () => {
  it("prefers the user_id field, then the dedup field", () => {
    const fields = keyFields({ fields: [field("event_id"), field("user_id")], dedup: dedup("event_id") });
    expect(fields.map((f) => [f.field, f.why])).toEqual([
      ["user_id", "user"],
      ["event_id", "dedup"],
    ]);
    expect(eventKey({ user_id: "u1", event_id: "e1" }, fields)).toBe("u1");
    // The same event retried falls through the same way, so it meets its first copy's partition.
    expect(eventKey({ user_id: null, event_id: "e1" }, fields)).toBe("e1");
    expect(eventKey({ user_id: "", event_id: 7 }, fields)).toBe("7");
    expect(eventKey({ user_id: { id: 1 } }, fields)).toBeNull();
  });

  it("reads a field at its path, own properties only", () => {
    const fields = keyFields({ fields: [field("user_id", "user.id")], dedup: undefined });
    expect(eventKey({ user: { id: "u9" }, user_id: "not this" }, fields)).toBe("u9");
    expect(eventKey(JSON.parse('{"user":{"__proto__":{"id":"x"}}}'), fields)).toBeNull();
  });

  it("uses the dedup field alone when there is no user_id field, and nothing without either", () => {
    expect(keyFields({ fields: [field("event_id")], dedup: dedup("event_id") }).map((f) => f.why)).toEqual([
      "dedup",
    ]);
    expect(keyFields({ fields: [field("event_id")], dedup: undefined })).toEqual([]);
    expect(eventKey({ event_id: "e" }, [])).toBeNull();
    // dedup on user_id itself: one key field, not two.
    expect(keyFields({ fields: [field("user_id")], dedup: dedup("user_id") })).toHaveLength(1);
  });
});
