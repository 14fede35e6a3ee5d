import { describe, expect, it } from "vitest";
import { compileEventSchema } from "../../contracts/events/json-event.js";
import { checkEvents, maxListedProblems } from "./event-validation.js";

const schema = {
  type: "object",
  required: ["event_id", "ts"],
  properties: {
    event_id: { type: "string", minLength: 1 },
    ts: { type: "string", format: "date-time" },
    "a/b": { type: "object", properties: { n: { type: "number", minimum: 0 } } },
  },
};
const validate = compileEventSchema(schema, "spec.format.jsonSchema", { allErrors: true });
const ts = new Date(Date.now() - 60_000).toISOString();

describe("collector event check", () => {
  it("passes valid events", () => {
    expect(checkEvents([{ event_id: "a", ts }], validate)).toEqual({ invalid: 0, problems: [], unlisted: 0 });
  });

  it("names every problem of every invalid event by events[i] and its JSON pointer", () => {
    const check = checkEvents(
      [{ event_id: "a", ts }, { ts: "yesterday" }, [1], { event_id: "b", ts, "a/b": { n: -1 } }],
      validate,
    );
    expect(check).toEqual({
      invalid: 3,
      unlisted: 0,
      problems: [
        { path: "events[1]/event_id", message: "is required" },
        { path: "events[1]/ts", message: 'must match format "date-time"' },
        { path: "events[2]", message: "expected a JSON object, got an array" },
        { path: "events[3]/a~1b/n", message: "must be >= 0" },
      ],
    });
  });

  it("lists at most maxListedProblems and counts the rest", () => {
    const check = checkEvents(
      Array.from({ length: maxListedProblems + 5 }, () => ({})),
      validate,
    );
    expect(check.invalid).toBe(maxListedProblems + 5);
    expect(check.problems).toHaveLength(maxListedProblems);
    expect(check.unlisted).toBe(2 * (maxListedProblems + 5) - maxListedProblems);
  });

  it("without a schema, takes any object and refuses anything else", () => {
    expect(checkEvents([{}, { x: [1] }], undefined).invalid).toBe(0);
    expect(checkEvents(["x", null], undefined).problems).toEqual([
      { path: "events[0]", message: "expected a JSON object, got string" },
      { path: "events[1]", message: "expected a JSON object, got object" },
    ]);
  });
});
