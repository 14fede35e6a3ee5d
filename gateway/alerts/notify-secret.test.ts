import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { WebhookChannel } from "./notification.js";
import { webhookTarget } from "./notify-secret.js";

const channel: WebhookChannel = {
  type: "webhook",
  name: "oncall",
  urlSecretRef: { name: "hooks", key: "url" },
};
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const key = () => `whsec_${randomBytes(32).toString("base64")}`;
const secretUrl = "https://hooks.example/T0KEN-abc?x=1";

describe("webhookTarget", () => {
  it("reads the URL and the signing keys, newest first, separated by spaces, commas or newlines", () => {
    const [a, b, c] = [key(), key(), key()];
    expect(
      webhookTarget("shop", channel, { url: b64(`${secretUrl}\n`), signingKeys: b64(`${a}, ${b}\n${c}`) }),
    ).toEqual({
      ok: true,
      url: secretUrl,
      keys: [a, b, c],
    });
  });

  it("sends unsigned without signingKeys", () => {
    expect(webhookTarget("shop", channel, { url: b64(secretUrl) })).toEqual({
      ok: true,
      url: secretUrl,
      keys: [],
    });
  });

  it.each([
    ["no Secret", undefined, /Secret shop\/hooks does not exist/],
    ["no URL key", { other: b64("x") }, /has no key "url"/],
    ["an empty URL", { url: b64("  ") }, /has no key "url" \(the webhook URL\) or it is empty/],
    ["not a URL", { url: b64("hooks.example/T0KEN-abc") }, /key "url" is not a URL/],
    ["an ftp URL", { url: b64("ftp://hooks.example/T0KEN-abc") }, /is a ftp URL: expected http or https/],
    [
      "a malformed second key",
      { url: b64(secretUrl), signingKeys: b64(`${key()} whsec_T0KEN-short`) },
      /key "signingKeys" entry 2: .*not base64/,
    ],
    ["a key without prefix", { url: b64(secretUrl), signingKeys: b64("T0KEN") }, /entry 1: .*whsec_/],
  ])("refuses %s, naming the channel and Secret but no value", (_case, data, message) => {
    const target = webhookTarget("shop", channel, data);
    expect(target.ok).toBe(false);
    if (target.ok) return;
    expect(target.message).toMatch(message);
    expect(target.message).toContain("channel oncall");
    expect(target.message).not.toContain("T0KEN");
  });
});
