import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { stackConfig, stackPaths } from "../config.js";
import { tcpExchange } from "../probes.js";
import type { ServiceSpec } from "../service.js";
import { findExecutable } from "./find-executable.js";

const dataDir = join(stackPaths.data, "redis");

export const redisService: ServiceSpec = {
  name: "redis",
  address: `redis://${stackConfig.host}:${stackConfig.redisPort}`,
  ports: [stackConfig.redisPort],
  readyTimeoutMs: 15_000,
  stopGraceMs: 10_000,
  async checkInstalled() {
    return (await findExecutable("redis-server")) ? undefined : "redis-server is not installed";
  },
  async prepare() {
    await mkdir(dataDir, { recursive: true });
  },
  command() {
    return {
      file: "redis-server",
      args: [
        "--bind",
        stackConfig.host,
        "--port",
        String(stackConfig.redisPort),
        "--dir",
        dataDir,
        // Append-only file so a restart keeps the live metrics; fault tests restart Redis.
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
      ],
    };
  },
  async isReady() {
    return (await tcpExchange(stackConfig.host, stackConfig.redisPort, "PING\r\n")) === "+PONG\r\n";
  },
};
