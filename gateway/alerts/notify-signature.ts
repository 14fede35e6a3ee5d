/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric scheme), pure:
 * `webhook-signature` is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per key,
 * space-separated, so a receiver keeps verifying while keys rotate. Keys are written
 * `whsec_<base64 of at least 24 random bytes>`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
}

// A type, not an interface: a type literal is assignable to the received-headers record verifyWebhook reads.
export type WebhookHeaders = {
  readonly "webhook-id": string;
  readonly "webhook-timestamp": string;
  /** Absent when the channel has no signing keys. */
  readonly "webhook-signature"?: string;
};

export type Verification =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: "MissingHeader" | "BadTimestamp" | "TooOld" | "TooNew" | "NoMatchingSignature";
      readonly message: string;
    };

const keyPrefix = "whsec_";
const minKeyBytes = 24;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The key's bytes; the error says what is wrong without showing the key. */
export function parseSigningKey(key: string): Buffer {
  if (!key.startsWith(keyPrefix))
    throw new SigningKeyError(
      `a signing key must be written ${keyPrefix}<base64>; this one does not start with ${keyPrefix}`,
    );
  const encoded = key.slice(keyPrefix.length);
  if (!base64.test(encoded))
    throw new SigningKeyError(
      `a signing key must be ${keyPrefix}<base64>; the part after ${keyPrefix} is not base64`,
    );
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.length < minKeyBytes)
    throw new SigningKeyError(
      `a signing key must hold at least ${minKeyBytes} random bytes (Standard Webhooks); this one holds ${bytes.length}`,
    );
  return bytes;
}

function signature(id: string, timestamp: string, body: string, key: Buffer): Buffer {
  return createHmac("sha256", key).update(`${id}.${timestamp}.${body}`, "utf8").digest();
}

/** The three headers for one attempt: every key signs, the newest first. */
export function signWebhook(
  id: string,
  timestampSeconds: number,
  body: string,
  keys: readonly string[],
): WebhookHeaders {
  // "." separates the signed parts: an id holding one could pass for another id and timestamp.
  if (id === "" || id.includes("."))
    throw new SigningKeyError(`webhook-id ${JSON.stringify(id)} must be non-empty and hold no "."`);
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0)
    throw new SigningKeyError(`webhook-timestamp ${timestampSeconds} must be whole seconds since the epoch`);
  const headers = { "webhook-id": id, "webhook-timestamp": String(timestampSeconds) };
  if (keys.length === 0) return headers;
  const signatures = keys.map(
    (key) =>
      `v1,${signature(id, headers["webhook-timestamp"], body, parseSigningKey(key)).toString("base64")}`,
  );
  return { ...headers, "webhook-signature": signatures.join(" ") };
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string) {
  const value = headers[name];
  return Array.isArray(value) ? value.join(" ") : value;
}

/**
 * What a receiver does: the timestamp within `toleranceSeconds` of now (replays of old deliveries
 * are refused), then any `v1` signature matching the key, compared in constant time.
 */
export function verifyWebhook(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  key: string,
  toleranceSeconds: number,
  nowSeconds: number,
): Verification {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (id === undefined || timestamp === undefined || signatures === undefined)
    return {
      ok: false,
      reason: "MissingHeader",
      message: "webhook-id, webhook-timestamp and webhook-signature are all required",
    };
  if (!/^[0-9]{1,15}$/.test(timestamp))
    return {
      ok: false,
      reason: "BadTimestamp",
      message: `webhook-timestamp ${timestamp} is not whole seconds`,
    };
  const seconds = Number(timestamp);
  if (nowSeconds - seconds > toleranceSeconds)
    return { ok: false, reason: "TooOld", message: `webhook-timestamp is ${nowSeconds - seconds} s old` };
  if (seconds - nowSeconds > toleranceSeconds)
    return { ok: false, reason: "TooNew", message: `webhook-timestamp is ${seconds - nowSeconds} s ahead` };
  // The signed content holds the header as sent, not a re-formatted number.
  const expected = signature(id, timestamp, body, parseSigningKey(key));
  const matches = signatures.split(" ").some((candidate) => {
    if (!candidate.startsWith("v1,")) return false;
    const given = Buffer.from(candidate.slice(3), "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches
    ? { ok: true }
    : { ok: false, reason: "NoMatchingSignature", message: "no v1 signature matches the key" };
}
