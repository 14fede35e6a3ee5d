import { describe, expect, it } from "vitest";
import { DecodeFailure } from "./decode-failure.js";
import { compileFieldMapper } from "./field-mapping.js";

const mapper = compileFieldMapper(
  [
    { name: "event_id", type: "String", nullable: false },
    { name: "user_id", type: "String", nullable: false, path: "user.id" },
    { name: "ts", type: "DateTime64(3)", nullable: false },
    { name: "value", type: "Float64", nullable: true },
    { name: "country", type: "LowCardinality(String)", nullable: false },
  ],
  new Set(["country"]),
);

describe("compileFieldMapper", () => {
  it("reads dotted paths and coerces each field to its column type", () => {
    expect(mapper.map({ event_id: "e1", user: { id: 7 }, ts: "2024-01-01T00:00:00Z", value: "2.5" })).toEqual(
      {
        event_id: "e1",
        user_id: "7",
        ts: Date.UTC(2024, 0, 1),
        value: 2.5,
      },
    );
  });

  it("names the field and the problem when a value is unusable", () => {
    const failure = mapper.map({ event_id: "e1", user: { id: "u" }, ts: "soon" });
    expect(failure).toBeInstanceOf(DecodeFailure);
    expect(failure).toMatchObject({
      kind: "field",
      field: "ts",
      message: expect.stringMatching(/^field ts: /),
    });
  });

  it("does not follow prototype properties", () => {
    const failure = mapper.map({ event_id: "e1", user: {}, ts: 0, constructor: 1 });
    expect(failure).toMatchObject({ field: "user_id" });
    expect(mapper.map({ event_id: "e1", user: { id: "u" }, ts: 0, toString: "x" })).not.toBeInstanceOf(
      DecodeFailure,
    );
  });

  it("leaves deferred fields for a later stage and checks them in complete()", () => {
    const row = mapper.map({ event_id: "e1", user: { id: "u" }, ts: 0 });
    if (row instanceof DecodeFailure) throw new Error(row.message);
    expect(row).not.toHaveProperty("country");
    expect(mapper.complete({ ...row })).toMatchObject({ kind: "field", field: "country" });
    const country = mapper.coerce("country", "NL");
    expect(
      mapper.complete({ ...row, country: country instanceof DecodeFailure ? null : country }),
    ).toMatchObject({
      country: "NL",
    });
  });

  it("fills missing nullable fields with null", () => {
    const row = mapper.map({ event_id: "e1", user: { id: "u" }, ts: 0 });
    expect(row).toMatchObject({ value: null });
  });
});
