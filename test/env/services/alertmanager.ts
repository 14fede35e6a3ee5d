import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alertmanagerUrl, stackConfig, stackPaths, webhookSinkUrl } from "../config.js";
import { httpOk } from "../probes.js";
import type { ServiceSpec } from "../service.js";
import { findExecutable } from "./find-executable.js";

const configDir = join(stackConfig.stateDir, "alertmanager");
const configFile = join(configDir, "alertmanager.yml");
const dataDir = join(stackPaths.data, "alertmanager");

export const alertmanagerService: ServiceSpec = {
  name: "alertmanager",
  address: alertmanagerUrl,
  ports: [stackConfig.alertmanagerPort],
  readyTimeoutMs: 20_000,
  stopGraceMs: 10_000,
  async checkInstalled() {
    return (await findExecutable("prometheus-alertmanager"))
      ? undefined
      : "prometheus-alertmanager is not installed";
  },
  async prepare() {
    await mkdir(configDir, { recursive: true });
    await mkdir(dataDir, { recursive: true });
    // Short waits so tests see a notification within seconds, not the production default minutes.
    await writeFile(
      configFile,
      [
        "route:",
        "  receiver: tally-webhook-sink",
        "  group_by: ['alertname']",
        "  group_wait: 1s",
        "  group_interval: 2s",
        "  repeat_interval: 1h",
        "receivers:",
        "  - name: tally-webhook-sink",
        "    webhook_configs:",
        `      - url: ${webhookSinkUrl}/alertmanager`,
        "        send_resolved: true",
        "",
      ].join("\n"),
    );
  },
  command() {
    return {
      file: "prometheus-alertmanager",
      args: [
        `--config.file=${configFile}`,
        `--storage.path=${dataDir}`,
        `--web.listen-address=${stackConfig.host}:${stackConfig.alertmanagerPort}`,
        // No gossip: a single instance, and its default port 9094 would collide with Kafka's controller.
        "--cluster.listen-address=",
      ],
    };
  },
  isReady: () => httpOk(`${alertmanagerUrl}/-/ready`),
};
