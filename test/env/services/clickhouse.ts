import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { clickhouseUrl, stackConfig, stackPaths } from "../config.js";
import { httpOk } from "../probes.js";
import type { ServiceSpec } from "../service.js";
import { tsxCommand } from "./node-entry.js";

/** The ClickHouse engine from the chdb npm package behind ClickHouse's HTTP interface (test/env/clickhouse/). */
const dataDir = join(stackPaths.data, "clickhouse");

export const clickhouseService: ServiceSpec = {
  name: "clickhouse",
  address: `${clickhouseUrl} (chdb engine, user ${stackConfig.clickhouseUser})`,
  ports: [stackConfig.clickhousePort],
  readyTimeoutMs: 60_000,
  stopGraceMs: 20_000,
  async checkInstalled() {
    return existsSync(join(stackConfig.repoRoot, "node_modules", "chdb"))
      ? undefined
      : "the chdb npm package is not installed";
  },
  async prepare() {
    await mkdir(dataDir, { recursive: true });
  },
  command() {
    return {
      ...tsxCommand("test/env/clickhouse/main.ts", [
        "--port",
        String(stackConfig.clickhousePort),
        "--data-dir",
        dataDir,
        "--user",
        stackConfig.clickhouseUser,
        "--password",
        stackConfig.clickhousePassword,
      ]),
      cwd: stackConfig.repoRoot,
    };
  },
  isReady: () => httpOk(`${clickhouseUrl}/ping`),
};
