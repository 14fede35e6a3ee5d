import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseSigningKey, SigningKeyError, signWebhook, verifyWebhook } from "./notify-signature.js";

// The Standard Webhooks libraries' own signing vector (libraries/go/webhook_test.go, TestWebhookSign).
const vector = {
  key: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const newKey = () => `whsec_${randomBytes(32).toString("base64")}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("signWebhook", () => {
  it("matches the Standard Webhooks test vector", () => {
    expect(signWebhook(vector.id, vector.timestamp, vector.body, [vector.key])).toEqual({
      "webhook-id": vector.id,
      "webhook-timestamp": String(vector.timestamp),
      "webhook-signature": vector.signature,
    });
  });

  it("signs with every key, in the order given, space-separated (rotation)", () => {
    const other = newKey();
    const headers = signWebhook(vector.id, vector.timestamp, vector.body, [other, vector.key]);
    const signatures = headers["webhook-signature"]?.split(" ") ?? [];
    expect(signatures).toHaveLength(2);
    expect(signatures[1]).toBe(vector.signature);
    expect(signatures[0]).not.toBe(vector.signature);
  });

  it("sends no signature header without keys", () => {
    expect(signWebhook("msg_1", 10, "{}", [])).toEqual({ "webhook-id": "msg_1", "webhook-timestamp": "10" });
  });

  it.each([
    ["an id with a dot", "a.b", 10],
    ["an empty id", "", 10],
    ["a fractional timestamp", "msg_1", 1.5],
    ["a negative timestamp", "msg_1", -1],
  ])("refuses %s", (_case, id, timestamp) => {
    expect(() => signWebhook(id, timestamp, "{}", [vector.key])).toThrow(SigningKeyError);
  });
});

describe("parseSigningKey", () => {
  it.each([
    ["no whsec_ prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", /does not start with whsec_/],
    ["not base64", "whsec_not*base64!", /not base64/],
    [
      "shorter than 24 bytes",
      `whsec_${Buffer.alloc(16).toString("base64")}`,
      /at least 24 random bytes.*holds 16/,
    ],
  ])("refuses a key with %s, without showing it", (_case, key, message) => {
    expect(() => parseSigningKey(key)).toThrow(message);
    try {
      parseSigningKey(key);
    } catch (error) {
      expect((error as Error).message).not.toContain(key.slice(6));
    }
  });

  it("reads the test vector key as its 24 bytes", () => {
    expect(parseSigningKey(vector.key)).toEqual(Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "base64"));
  });
});

describe("verifyWebhook", () => {
  const key = newKey();
  const body = JSON.stringify({ id: "msg_x", type: "alert.firing", data: { value: 3 } });
  const signedAt = (seconds: number, keys = [key]) => signWebhook("msg_x", seconds, body, keys);

  it("accepts the test vector at its own time", () => {
    const headers = signWebhook(vector.id, vector.timestamp, vector.body, [vector.key]);
    expect(verifyWebhook(headers, vector.body, vector.key, 300, vector.timestamp)).toEqual({ ok: true });
  });

  it("accepts a fresh delivery", () => {
    expect(verifyWebhook(signedAt(nowSeconds()), body, key, 300, nowSeconds())).toEqual({ ok: true });
  });

  it("accepts either key while both sign (rotation), among unknown signature versions", () => {
    const old = newKey();
    const headers = signedAt(nowSeconds(), [key, old]);
    const mixed = {
      ...headers,
      "webhook-signature": `v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${headers["webhook-signature"]}`,
    };
    expect(verifyWebhook(mixed, body, old, 300, nowSeconds()).ok).toBe(true);
    expect(verifyWebhook(mixed, body, key, 300, nowSeconds()).ok).toBe(true);
  });

  it("refuses a wrong key", () => {
    expect(verifyWebhook(signedAt(nowSeconds()), body, newKey(), 300, nowSeconds())).toMatchObject({
      ok: false,
      reason: "NoMatchingSignature",
    });
  });

  it("takes only v1 signatures as HMAC-SHA256 ones", () => {
    const headers = signedAt(nowSeconds());
    const relabelled = {
      ...headers,
      "webhook-signature": headers["webhook-signature"]?.replace(/^v1,/, "v1a,"),
    };
    expect(verifyWebhook(relabelled, body, key, 300, nowSeconds())).toMatchObject({
      ok: false,
      reason: "NoMatchingSignature",
    });
  });

  it("refuses a tampered body", () => {
    const tampered = body.replace('"value":3', '"value":4');
    expect(tampered).not.toBe(body);
    expect(verifyWebhook(signedAt(nowSeconds()), tampered, key, 300, nowSeconds())).toMatchObject({
      ok: false,
      reason: "NoMatchingSignature",
    });
  });

  it("refuses a signature moved to another id or timestamp", () => {
    const headers = signedAt(nowSeconds());
    const otherId = { ...headers, "webhook-id": "msg_y" };
    const otherTime = { ...headers, "webhook-timestamp": String(nowSeconds() - 1) };
    expect(verifyWebhook(otherId, body, key, 300, nowSeconds()).ok).toBe(false);
    expect(verifyWebhook(otherTime, body, key, 300, nowSeconds()).ok).toBe(false);
  });

  it("refuses an old timestamp and one from the future, beyond the tolerance only", () => {
    const now = nowSeconds();
    expect(verifyWebhook(signedAt(now - 301), body, key, 300, now)).toMatchObject({
      ok: false,
      reason: "TooOld",
    });
    expect(verifyWebhook(signedAt(now + 301), body, key, 300, now)).toMatchObject({
      ok: false,
      reason: "TooNew",
    });
    expect(verifyWebhook(signedAt(now - 300), body, key, 300, now).ok).toBe(true);
    expect(verifyWebhook(signedAt(now + 300), body, key, 300, now).ok).toBe(true);
  });

  it.each(["webhook-id", "webhook-timestamp", "webhook-signature"] as const)(
    "refuses a missing %s",
    (name) => {
      const headers: Record<string, string | undefined> = { ...signedAt(nowSeconds()) };
      delete headers[name];
      expect(verifyWebhook(headers, body, key, 300, nowSeconds())).toMatchObject({
        ok: false,
        reason: "MissingHeader",
      });
    },
  );

  it("refuses a timestamp that is not whole seconds", () => {
    const headers = { ...signedAt(nowSeconds()), "webhook-timestamp": "1e9" };
    expect(verifyWebhook(headers, body, key, 300, nowSeconds())).toMatchObject({
      ok: false,
      reason: "BadTimestamp",
    });
  });
});
