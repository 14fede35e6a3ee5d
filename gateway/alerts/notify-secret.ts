/**
 * Where a webhook channel's URL and signing keys come from (pure): the Secret its `urlSecretRef`
 * names, in the AlertRule's namespace.
 *   <urlSecretRef.key>  the URL (http or https; it may embed a token, so no message shows it)
 *   signingKeys         optional: Standard Webhooks keys `whsec_<base64>`, separated by spaces,
 *                       commas or newlines; every key signs each delivery, so during a rotation
 *                       list the new key and the old one, then drop the old one once receivers
 *                       verify with the new. Without it deliveries carry webhook-id and
 *                       webhook-timestamp but no webhook-signature.
 * Keeping both in one Secret keeps the CRD as it is and lets one RBAC grant cover the channel.
 */
import type { WebhookChannel } from "./notification.js";
import { parseSigningKey, SigningKeyError } from "./notify-signature.js";

export const signingKeysKey = "signingKeys";

export type WebhookTarget =
  | { readonly ok: true; readonly url: string; readonly keys: readonly string[] }
  | { readonly ok: false; readonly message: string };

function decoded(data: Readonly<Record<string, string>>, key: string): string | undefined {
  const value = data[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8").trim();
}

/**
 * The channel's URL and keys from the Secret's `data` (base64 values; undefined: no such Secret),
 * or what is wrong, naming the Secret and key but never showing a value.
 */
export function webhookTarget(
  namespace: string,
  channel: WebhookChannel,
  data: Readonly<Record<string, string>> | undefined,
): WebhookTarget {
  const ref = channel.urlSecretRef;
  const where = `channel ${channel.name}: Secret ${namespace}/${ref.name}`;
  if (data === undefined) return { ok: false, message: `${where} does not exist` };
  const url = decoded(data, ref.key);
  if (url === undefined || url === "")
    return { ok: false, message: `${where} has no key "${ref.key}" (the webhook URL) or it is empty` };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, message: `${where} key "${ref.key}" is not a URL: expected http(s)://…` };
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    return {
      ok: false,
      message: `${where} key "${ref.key}" is a ${parsed.protocol.replace(/:$/, "")} URL: expected http or https`,
    };
  const keys = (decoded(data, signingKeysKey) ?? "").split(/[\s,]+/).filter((k) => k !== "");
  for (const [index, key] of keys.entries()) {
    try {
      parseSigningKey(key);
    } catch (error) {
      if (!(error instanceof SigningKeyError)) throw error;
      return { ok: false, message: `${where} key "${signingKeysKey}" entry ${index + 1}: ${error.message}` };
    }
  }
  return { ok: true, url, keys };
}
