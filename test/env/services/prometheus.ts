import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alertmanagerUrl, prometheusUrl, stackConfig, stackPaths } from "../config.js";
import { httpOk } from "../probes.js";
import type { ServiceSpec } from "../service.js";
import { findExecutable } from "./find-executable.js";

const configDir = join(stackConfig.stateDir, "prometheus");
const configFile = join(configDir, "prometheus.yml");
const dataDir = join(stackPaths.data, "prometheus");

export const prometheusService: ServiceSpec = {
  name: "prometheus",
  address: prometheusUrl,
  ports: [stackConfig.prometheusPort],
  readyTimeoutMs: 30_000,
  stopGraceMs: 15_000,
  async checkInstalled() {
    return (await findExecutable("prometheus")) ? undefined : "prometheus is not installed";
  },
  async prepare() {
    await mkdir(configDir, { recursive: true });
    await mkdir(dataDir, { recursive: true });
    const alertmanagerHost = new URL(alertmanagerUrl).host;
    await writeFile(
      configFile,
      [
        "global:",
        "  scrape_interval: 5s",
        "  evaluation_interval: 5s",
        "alerting:",
        "  alertmanagers:",
        "    - static_configs:",
        `        - targets: ['${alertmanagerHost}']`,
        "scrape_configs:",
        "  - job_name: prometheus",
        "    static_configs:",
        `      - targets: ['${new URL(prometheusUrl).host}']`,
        "  - job_name: alertmanager",
        "    static_configs:",
        `      - targets: ['${alertmanagerHost}']`,
        "",
      ].join("\n"),
    );
  },
  command() {
    return {
      file: "prometheus",
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=${stackConfig.host}:${stackConfig.prometheusPort}`,
        "--web.enable-lifecycle",
      ],
    };
  },
  isReady: () => httpOk(`${prometheusUrl}/-/ready`),
};
