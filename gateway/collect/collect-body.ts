/**
 * The collector's request body (pure): one event, or `{"events": [...]}`. An object whose only key is
 * `events` holding an array is a batch; any other object is one event (a batch of one), so an event
 * that itself has an `events` array among other fields is still one event.
 */
import { parseUtf8Json } from "../../contracts/events/json-event.js";
import type { CollectErrorBody } from "./collect-outcome.js";

export interface CollectLimits {
  readonly maxEvents: number;
  readonly maxBodyBytes: number;
}

export const collectLimits: CollectLimits = { maxEvents: 500, maxBodyBytes: 1024 * 1024 };

export type CollectBody =
  | { readonly kind: "events"; readonly events: readonly unknown[] }
  | { readonly kind: "refused"; readonly status: 400 | 413; readonly body: CollectErrorBody };

const shape = 'send one event (a JSON object) or {"events": [event, ...]}';

export function tooLargeBody(limits: CollectLimits = collectLimits): CollectErrorBody {
  return {
    error: "PayloadTooLarge",
    message: `The body is over the collector's limit of ${limits.maxBodyBytes} bytes (${limits.maxBodyBytes / 1024 / 1024} MiB); split the events over several requests.`,
    field: "body",
  };
}

export function parseCollectBody(bytes: Uint8Array, limits: CollectLimits = collectLimits): CollectBody {
  const parsed = parseCollectJson(bytes, shape, limits);
  if (parsed.kind === "refused") return parsed;
  const value = parsed.value;
  const keys = Object.keys(value);
  const events = value.events;
  if (keys.length !== 1 || keys[0] !== "events" || !Array.isArray(events))
    return { kind: "events", events: [value] };
  return checkBatch(events, limits);
}

type Refused = Extract<CollectBody, { kind: "refused" }>;

/** The body as a JSON object, or why not (`expected` says what to send); shared with the envelope. */
export function parseCollectJson(
  bytes: Uint8Array,
  expected: string,
  limits: CollectLimits = collectLimits,
): { readonly kind: "object"; readonly value: Record<string, unknown> } | Refused {
  if (bytes.length > limits.maxBodyBytes) return { kind: "refused", status: 413, body: tooLargeBody(limits) };
  const parsed = parseUtf8Json(bytes);
  if (parsed.kind === "invalid")
    return {
      kind: "refused",
      status: 400,
      body: { error: "InvalidJson", message: `The body is ${parsed.message}; ${expected}.`, field: "body" },
    };
  const value: unknown = parsed.value;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return {
      kind: "refused",
      status: 400,
      body: {
        error: "InvalidRequest",
        message: `The body is ${Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`}; ${expected}.`,
        field: "body",
      },
    };
  return { kind: "object", value: value as Record<string, unknown> };
}

/** A batch's size checks: not empty, at most `maxEvents`. */
export function checkBatch(events: readonly unknown[], limits: CollectLimits = collectLimits): CollectBody {
  if (events.length === 0)
    return {
      kind: "refused",
      status: 400,
      body: {
        error: "InvalidRequest",
        message: "The batch is empty: send at least one event.",
        field: "events",
      },
    };
  if (events.length > limits.maxEvents)
    return {
      kind: "refused",
      status: 413,
      body: {
        error: "PayloadTooLarge",
        message: `The batch holds ${events.length} events; the collector takes at most ${limits.maxEvents} per request: split it.`,
        field: "events",
      },
    };
  return { kind: "events", events };
}
