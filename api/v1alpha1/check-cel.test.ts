import { type CelInput, CelScalar, type CelType, isCelError, run } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { celTypeName, checkCel } from "./check-cel.js";

// The event as the runtime gives it to CEL: numbers (also integers and times) are doubles.
const fields = new Map<string, CelType>([
  ["user_id", CelScalar.STRING],
  ["value", CelScalar.DOUBLE],
  ["count", CelScalar.DOUBLE],
  ["is_bot", CelScalar.BOOL],
]);
const event = { user_id: "u-1", value: 2.5, count: 3, is_bot: false };

/** What the runtime's evaluator makes of the expression on a sample event: its CEL type, or its error. */
function evaluated(expression: string): { type: string } | { error: string } {
  const result = run(expression, { event: event as CelInput });
  if (isCelError(result)) return { error: result.message };
  if (typeof result === "bigint") return { type: "int" };
  if (typeof result === "number") return { type: "double" };
  if (typeof result === "string") return { type: "string" };
  if (typeof result === "boolean") return { type: "bool" };
  return { type: "other" };
}

describe("checkCel", () => {
  // Each expression's type or error, and the evaluator's own answer on a sample event must agree with it.
  it.each<[string, string]>([
    ["!event.user_id.startsWith('bot-')", "bool"],
    ["event.value + 1.0", "double"],
    ["event.count > 2", "bool"],
    ["event.count == 3", "bool"],
    ["event['user_id'] == 'u-1' && !event.is_bot", "bool"],
    ["size(event.user_id)", "int"],
    ["event.user_id.size() > 1 ? 'long' : 'short'", "string"],
    ["string(event.value)", "string"],
    ["int(event.count) % 2 == 1", "bool"],
    ["event.user_id in ['u-1', 'u-2']", "bool"],
    ["[1.0, 2.0].exists(x, x > event.value)", "bool"],
    ["[1.0, 2.0].map(x, x * event.value)", "list(dyn)"],
    ["has(event.user_id)", "bool"],
    ["event.user_id.matches('^u-[0-9]+$')", "bool"],
    ["duration('1m') > duration('30s')", "bool"],
  ])("types %s as %s, as the evaluator does", (expression, type) => {
    const checked = checkCel(expression, fields);
    expect(checked).toMatchObject({ ok: true });
    if (!checked.ok) return;
    expect(celTypeName(checked.type)).toBe(type);
    const answer = evaluated(expression);
    expect(answer).not.toHaveProperty("error");
    if (type !== "list(dyn)") expect(answer).toEqual({ type });
  });

  it.each<[string, RegExp]>([
    [
      "event.nope == 'x'",
      /event has no field 'nope' \(the pipeline declares: user_id, value, count, is_bot\)/,
    ],
    ["event['nope'] == 'x'", /event has no field 'nope'/],
    ["event.value + 1", /no matching overload for '_\+_' applied to \(double, int\)/],
    ["event.count % 2 == 1", /no matching overload for '_%_' applied to \(double, int\)/],
    ["event.user_id + 1", /no matching overload for '_\+_' applied to \(string, int\)/],
    ["event.user_id.lowerAscii() == 'x'", /unknown function 'lowerAscii'/],
    ["user.id == 'x'", /undeclared reference to 'user'/],
    ["event.user_id.first == 'x'", /cannot select field 'first' of a string/],
    ["event.value && true", /each operand of && must be bool, not double/],
    ["[1, 2].exists(x, x > event.value + 1)", /applied to \(double, int\)/],
  ])("refuses %s, which fails on every event", (expression, message) => {
    const checked = checkCel(expression, fields);
    expect(checked).toMatchObject({ ok: false, stage: "type", error: expect.stringMatching(message) });
    // The evaluator fails too (the checker only refuses what cannot work at run time).
    expect(evaluated(expression)).toHaveProperty("error");
  });

  it("refuses has() of an undeclared field, which is false on every event (a typo, not a test)", () => {
    expect(checkCel("has(event.nope)", fields)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/event has no field 'nope'/),
    });
    expect(evaluated("has(event.nope)")).toEqual({ type: "bool" });
  });

  it("reports an expression that does not parse as such", () => {
    expect(checkCel("event.user_id ==", fields)).toMatchObject({ ok: false, stage: "parse" });
  });
});
