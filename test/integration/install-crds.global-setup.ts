/**
 * Before any integration test: the CRDs of this checkout on the stack's API server. A fresh stack has none,
 * and which test file runs first is not fixed, so no test may rely on another having installed them.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { kubeconfigPath, stackConfig, stackPaths } from "../env/config.js";

export default function setup(): void {
  const kubectl = join(stackPaths.bin, "kubectl");
  const run = (args: string[]) =>
    execFileSync(kubectl, ["--kubeconfig", kubeconfigPath, ...args], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  run(["apply", "--server-side", "--force-conflicts", "-f", join(stackConfig.repoRoot, "crds")]);
  run(["wait", "--for=condition=Established", "--timeout=60s", "-f", join(stackConfig.repoRoot, "crds")]);
}
