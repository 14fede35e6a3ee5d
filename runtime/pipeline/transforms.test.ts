import { describe, expect, it } from "vitest";
import { DecodeFailure } from "../decode/decode-failure.js";
import { compileFieldMapper } from "../decode/field-mapping.js";
import { compileTransforms, TransformCompileError } from "./transforms.js";

const mapper = compileFieldMapper(
  [
    { name: "user_id", type: "String", nullable: false },
    { name: "value", type: "Float64", nullable: true },
    { name: "doubled", type: "Float64", nullable: true },
    { name: "n", type: "Int64", nullable: true },
  ],
  new Set(["doubled", "n"]),
);

describe("compileTransforms", () => {
  const transforms = compileTransforms(
    [
      { type: "filter", name: "drop_bots", expression: "!event.user_id.startsWith('bot-')" },
      { type: "set", name: "double_value", field: "doubled", expression: "event.value * 2.0" },
      { type: "set", name: "count", field: "n", expression: "size(event.user_id)" },
    ],
    mapper,
  );

  it("keeps, sets fields in order, and coerces results to the column type", () => {
    const row = { user_id: "u-1", value: 21 };
    expect(transforms.apply(row)).toEqual({ kind: "kept" });
    expect(row).toEqual({ user_id: "u-1", value: 21, doubled: 42, n: 3 });
  });

  it("names the filter that dropped the event", () => {
    expect(transforms.apply({ user_id: "bot-7", value: 1 })).toEqual({ kind: "filtered", step: "drop_bots" });
  });

  it("turns an evaluation error into a transform failure naming the step", () => {
    const outcome = transforms.apply({ user_id: "u", value: null });
    expect(outcome.kind).toBe("failed");
    if (outcome.kind === "failed") {
      expect(outcome.failure).toBeInstanceOf(DecodeFailure);
      expect(outcome.failure.kind).toBe("transform");
      expect(outcome.failure.message).toMatch(/^transform double_value: /);
    }
  });

  it("refuses a filter that does not return a bool", () => {
    const t = compileTransforms([{ type: "filter", name: "f", expression: "event.user_id" }], mapper);
    expect(t.apply({ user_id: "u" })).toMatchObject({
      kind: "failed",
      failure: { message: /must return a bool/ },
    });
  });

  it("refuses CEL that does not compile, naming the step", () => {
    expect(() =>
      compileTransforms([{ type: "filter", name: "broken", expression: "event.(" }], mapper),
    ).toThrow(TransformCompileError);
    expect(() =>
      compileTransforms([{ type: "filter", name: "broken", expression: "event.(" }], mapper),
    ).toThrow(/spec\.transforms\[0\]\.expression \(broken\)/);
  });
});
