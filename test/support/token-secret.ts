/**
 * A gateway token as the gateway reads it: a Secret whose `token` the gateway's token table serves for
 * `namespaces` (comma-separated or `*`) with `scopes` (default read). The gateway process or watch is
 * told its namespace/name.
 */
import { kubectlOk } from "./kube.js";

export interface TokenSecretData {
  readonly token: string;
  readonly namespaces: string;
  readonly scopes?: string;
}

export async function applyTokenSecret(
  namespace: string,
  name: string,
  data: TokenSecretData,
): Promise<void> {
  await kubectlOk(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, stringData: data }),
  );
}
