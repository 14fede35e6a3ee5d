/**
 * An object's status as the operator would leave it, for tests where no operator runs: a Ready=True
 * condition (with `message`) merged into the status subresource beside any other status fields.
 */
import { kubectlOk } from "./kube.js";

export async function markReady(
  kind: string,
  name: string,
  namespace: string,
  options: { readonly message?: string; readonly status?: Record<string, unknown> } = {},
): Promise<void> {
  const ready = {
    type: "Ready",
    status: "True",
    reason: "Ready",
    message: options.message ?? "",
    // metav1.Time: whole seconds.
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
  await kubectlOk([
    "patch",
    kind,
    name,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { ...options.status, conditions: [ready] } }),
  ]);
}
