/**
 * The gateway as a local process against the local stack (as the operator runs in the tests): watches
 * one namespace, reads the named token Secrets, queries the stack's ClickHouse, caches in its Redis.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { clickhouseUrl, redisUrl, stackConfig, stackPaths } from "../env/config.js";
import { eventually } from "./eventually.js";
import { freePort } from "./free-port.js";

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** The API's base URL, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export async function startGateway(options: {
  namespace: string;
  /** `namespace/name` of each token Secret. */
  tokenSecrets: readonly string[];
}): Promise<GatewayProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const logDir = join(stackPaths.logs, "gateway");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.namespace}-${port}.log`);
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, ["--import", "tsx", join(stackConfig.repoRoot, "gateway/main.ts")], {
    cwd: stackConfig.repoRoot,
    env: {
      ...process.env,
      KUBECONFIG: join(stackConfig.stateDir, "kubeconfig"),
      TALLY_WATCH_NAMESPACE: options.namespace,
      // Alert rules (if any) campaign for their Leases in the test namespace, which exists.
      TALLY_GATEWAY_NAMESPACE: options.namespace,
      TALLY_GATEWAY_HOST: "127.0.0.1",
      TALLY_GATEWAY_PORT: String(port),
      TALLY_METRICS_HOST: "127.0.0.1",
      TALLY_METRICS_PORT: String(metricsPort),
      TALLY_GATEWAY_TOKEN_SECRETS: options.tokenSecrets.join(","),
      TALLY_CLICKHOUSE_URL: clickhouseUrl,
      TALLY_CLICKHOUSE_USERNAME: stackConfig.clickhouseUser,
      TALLY_CLICKHOUSE_PASSWORD: stackConfig.clickhousePassword,
      TALLY_REDIS_URL: redisUrl,
    },
    stdio: ["ignore", out, out],
  });
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}; see ${logFile}`);
    const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    if (!response.ok) throw new Error(`readyz ${response.status}: ${await response.text()}`);
  }, 30_000);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    logFile,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
