import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { stackConfig, stackPaths, webhookSinkUrl } from "../config.js";
import { httpOk } from "../probes.js";
import type { ServiceSpec } from "../service.js";
import { tsxCommand } from "./node-entry.js";

const dataDir = join(stackPaths.data, "webhook-sink");

export const webhookSinkService: ServiceSpec = {
  name: "webhook-sink",
  address: webhookSinkUrl,
  ports: [stackConfig.webhookSinkPort],
  readyTimeoutMs: 20_000,
  stopGraceMs: 5_000,
  async checkInstalled() {
    return undefined;
  },
  async prepare() {
    await mkdir(dataDir, { recursive: true });
  },
  command() {
    return {
      ...tsxCommand("test/env/webhook-sink/main.ts", [
        "--host",
        stackConfig.host,
        "--port",
        String(stackConfig.webhookSinkPort),
        "--record-file",
        join(dataDir, "received.jsonl"),
      ]),
      cwd: stackConfig.repoRoot,
    };
  },
  isReady: () => httpOk(`${webhookSinkUrl}/healthz`),
};
