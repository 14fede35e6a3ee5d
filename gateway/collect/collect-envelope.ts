/**
 * The collector's text/plain envelope (pure): `{"token": "<write token>", "events": [event, ...]}`.
 * `navigator.sendBeacon` cannot set an Authorization header, and a request with one (or with
 * Content-Type: application/json) needs a CORS preflight; a text/plain POST is a CORS-simple request
 * that a beacon can send. So the token travels in the body, never in the URL (where proxies, access
 * logs and Referer headers would copy it). Only the collect route reads envelopes, and only the write
 * scope is accepted there, so a token sent this way can do nothing but add events.
 */
import {
  type CollectBody,
  type CollectLimits,
  checkBatch,
  collectLimits,
  parseCollectJson,
} from "./collect-body.js";

export type CollectEnvelope =
  | {
      readonly kind: "envelope";
      readonly token: string;
      readonly body: Extract<CollectBody, { kind: "events" }>;
    }
  | Extract<CollectBody, { kind: "refused" }>;

const shape = 'send {"token": "<write token>", "events": [event, ...]} as text/plain';

const invalid = (message: string, field: string): CollectEnvelope => ({
  kind: "refused",
  status: 400,
  body: { error: "InvalidRequest", message: `${message}; ${shape}.`, field },
});

export function parseCollectEnvelope(
  bytes: Uint8Array,
  limits: CollectLimits = collectLimits,
): CollectEnvelope {
  const parsed = parseCollectJson(bytes, shape, limits);
  if (parsed.kind === "refused") return parsed;
  const { token, events, ...rest } = parsed.value;
  const extra = Object.keys(rest);
  if (extra.length > 0)
    return invalid(`The envelope has unknown keys (${extra.join(", ")})`, extra[0] ?? "body");
  if (typeof token !== "string" || token === "") return invalid("The envelope has no token", "token");
  if (!Array.isArray(events)) return invalid("The envelope's events is not an array", "events");
  const body = checkBatch(events, limits);
  return body.kind === "refused" ? body : { kind: "envelope", token, body };
}

/** A request is an envelope when its media type is text/plain (what a beacon sends). */
export function isEnvelopeContentType(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === "text/plain";
}
