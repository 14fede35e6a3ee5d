import { type KubeClient, type KubeObject, resourceTypes } from "../../lib/kube/kube-client.js";

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** A Secret or key the spec names is missing: the user can fix it, so it is retried, not refused. */
export class SecretNotFoundError extends Error {
  override readonly name = "SecretNotFoundError";
}

/** Reads named keys of a Secret; the error names the Secret, the key, and which field asked for it. */
export async function readSecretKeys<K extends string>(
  client: KubeClient,
  namespace: string,
  name: string,
  keys: readonly K[],
  forField: string,
): Promise<Record<K, string>> {
  const secret = await client.find<Secret>(resourceTypes.secret, namespace, name);
  if (secret === undefined)
    throw new SecretNotFoundError(`${forField}: Secret ${namespace}/${name} does not exist`);
  const out = {} as Record<K, string>;
  for (const key of keys) {
    const value = secret.data?.[key];
    if (value === undefined) {
      throw new SecretNotFoundError(
        `${forField}: Secret ${namespace}/${name} has no key "${key}" (needs: ${keys.join(", ")})`,
      );
    }
    out[key] = Buffer.from(value, "base64").toString("utf8");
  }
  return out;
}
