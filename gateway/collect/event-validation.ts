/**
 * Every event of a batch checked as the runtime checks it (contracts/events/json-event.ts): a JSON
 * object satisfying the pipeline's JSON Schema. Pure given the compiled validator. Problems are named
 * `events[i]` plus the JSON pointer inside the event; a missing required property is named by its own
 * pointer (`events[2]/ts`), so every problem points at where the fix goes.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { notAnObject } from "../../contracts/events/json-event.js";
import type { EventProblem } from "./collect-outcome.js";

/** At most this many problems are listed; the count of the rest is said. */
export const maxListedProblems = 100;

const escapePointer = (segment: string) => segment.replaceAll("~", "~0").replaceAll("/", "~1");

function problemOf(index: number, error: ErrorObject): EventProblem {
  if (error.keyword === "required")
    return {
      path: `events[${index}]${error.instancePath}/${escapePointer(String(error.params.missingProperty))}`,
      message: "is required",
    };
  return { path: `events[${index}]${error.instancePath}`, message: error.message ?? error.keyword };
}

export interface BatchCheck {
  /** How many events are invalid. */
  readonly invalid: number;
  /** Their problems, in event order, at most maxListedProblems. */
  readonly problems: readonly EventProblem[];
  /** Problems found beyond those listed. */
  readonly unlisted: number;
}

export function checkEvents(events: readonly unknown[], validate: ValidateFunction | undefined): BatchCheck {
  const problems: EventProblem[] = [];
  let invalid = 0;
  let found = 0;
  events.forEach((event, index) => {
    const shape = notAnObject(event);
    const eventProblems =
      shape !== undefined
        ? [{ path: `events[${index}]`, message: shape }]
        : validate === undefined || validate(event)
          ? []
          : (validate.errors ?? []).map((e) => problemOf(index, e));
    if (eventProblems.length === 0) return;
    invalid++;
    found += eventProblems.length;
    problems.push(...eventProblems.slice(0, maxListedProblems - problems.length));
  });
  return { invalid, problems, unlisted: found - problems.length };
}
