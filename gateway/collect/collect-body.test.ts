import { describe, expect, it } from "vitest";
import { parseCollectBody } from "./collect-body.js";

const bytes = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8");
const limits = { maxEvents: 3, maxBodyBytes: 200 } as const;

describe("collector body", () => {
  it("takes one object as a batch of one, and {events: [...]} as a batch", () => {
    expect(parseCollectBody(bytes({ a: 1 }), limits)).toEqual({ kind: "events", events: [{ a: 1 }] });
    expect(parseCollectBody(bytes({ events: [{ a: 1 }, 2] }), limits)).toEqual({
      kind: "events",
      events: [{ a: 1 }, 2],
    });
  });

  it("takes an object with an events array among other fields as one event", () => {
    const event = { events: [1], user_id: "u" };
    expect(parseCollectBody(bytes(event), limits)).toEqual({ kind: "events", events: [event] });
  });

  it.each([
    ["{not json", 400, "InvalidJson", /^The body is not UTF-8 JSON/],
    [Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 400, "InvalidJson", /not UTF-8 JSON/],
    ["[1]", 400, "InvalidRequest", /^The body is an array; send one event/],
    ["null", 400, "InvalidRequest", /^The body is null/],
    ['{"events":[]}', 400, "InvalidRequest", /empty/],
    ['{"events":[1,2,3,4]}', 413, "PayloadTooLarge", /holds 4 events; the collector takes at most 3/],
    [`{"a":"${"x".repeat(200)}"}`, 413, "PayloadTooLarge", /limit of 200 bytes/],
  ])("refuses %#", (input, status, error, message) => {
    const result = parseCollectBody(typeof input === "string" ? bytes(input) : input, limits);
    expect(result).toMatchObject({
      kind: "refused",
      status,
      body: { error, message: expect.stringMatching(message) },
    });
  });
});
