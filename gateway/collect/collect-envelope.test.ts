import { describe, expect, it } from "vitest";
import { isEnvelopeContentType, parseCollectEnvelope } from "./collect-envelope.js";

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

describe("collect envelope", () => {
  it("takes the token and the batch out of {token, events}", () => {
    const events = [{ event_id: "a" }, { event_id: "b" }];
    expect(parseCollectEnvelope(bytes({ token: "t-1", events }))).toEqual({
      kind: "envelope",
      token: "t-1",
      body: { kind: "events", events },
    });
  });

  it("refuses a missing token, a non-array events, unknown keys, and an empty or too large batch", () => {
    const refusal = (value: unknown) => {
      const parsed = parseCollectEnvelope(bytes(value), { maxEvents: 3, maxBodyBytes: 1024 });
      return parsed.kind === "refused" ? { status: parsed.status, field: parsed.body.field } : parsed;
    };
    expect(refusal({ events: [{}] })).toEqual({ status: 400, field: "token" });
    expect(refusal({ token: "", events: [{}] })).toEqual({ status: 400, field: "token" });
    expect(refusal({ token: "t", events: {} })).toEqual({ status: 400, field: "events" });
    expect(refusal({ token: "t", events: [{}], user: "x" })).toEqual({ status: 400, field: "user" });
    expect(refusal({ token: "t", events: [] })).toEqual({ status: 400, field: "events" });
    expect(refusal({ token: "t", events: [{}, {}, {}, {}] })).toEqual({ status: 413, field: "events" });
    expect(refusal({ token: "t", events: ["x".repeat(2000)] })).toEqual({ status: 413, field: "body" });
    expect(refusal("{not json")).toEqual({ status: 400, field: "body" });
    expect(refusal([1])).toEqual({ status: 400, field: "body" });
  });

  it("never repeats the token in a refusal", () => {
    const parsed = parseCollectEnvelope(bytes({ token: "secret-token-value", events: "no", extra: 1 }));
    expect(JSON.stringify(parsed)).not.toContain("secret-token-value");
  });

  it("is any text/plain request, with or without a charset", () => {
    expect(isEnvelopeContentType("text/plain;charset=UTF-8")).toBe(true);
    expect(isEnvelopeContentType("Text/Plain")).toBe(true);
    expect(isEnvelopeContentType("application/json")).toBe(false);
    expect(isEnvelopeContentType(undefined)).toBe(false);
  });
});
