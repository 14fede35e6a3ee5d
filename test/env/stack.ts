/**
 * The local stack: `tsx test/env/stack.ts up|down|status [service ...]` (Makefile: stack-up,
 * stack-down, stack-status). Every service listens on 127.0.0.1; data, logs and pid files live
 * under `.tally-stack/` (TALLY_STACK_DIR). `up` is idempotent: a service already running and
 * ready is left alone. `restart` stops the named services (gracefully, as the service's own shutdown
 * does) and starts them on the same data: the e2e suite's infrastructure faults use it.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stackConfig, stackPaths } from "./config.js";
import { podRunnerService } from "./pod-runner/service.js";
import {
  describePortOwner,
  isAlive,
  logTail,
  readPid,
  removePidFile,
  startDetached,
  stopProcessGroup,
} from "./process-control.js";
import type { ServiceSpec } from "./service.js";
import { alertmanagerService } from "./services/alertmanager.js";
import { clickhouseService } from "./services/clickhouse.js";
import { kafkaService } from "./services/kafka.js";
import {
  etcdService,
  kubeApiserverService,
  kubeControllerManagerService,
  kubeSchedulerService,
  kwokService,
} from "./services/kubernetes.js";
import { prometheusService } from "./services/prometheus.js";
import { redisService } from "./services/redis.js";
import { webhookSinkService } from "./services/webhook-sink.js";

/** Start order; stop runs in reverse. Alertmanager delivers to the sink, Prometheus to Alertmanager. */
const stackServices: readonly ServiceSpec[] = [
  redisService,
  clickhouseService,
  kafkaService,
  webhookSinkService,
  alertmanagerService,
  prometheusService,
  // The Kubernetes control plane; each waits in prepare() for the one before it.
  etcdService,
  kubeApiserverService,
  kubeControllerManagerService,
  kubeSchedulerService,
  kwokService,
  // Real local processes for the pods of Tally's components (after kwok makes them Running).
  podRunnerService,
];

/** A failure the user can act on: printed as a message, never as a stack trace. */
class StackError extends Error {
  override readonly name = "StackError";
}

function pidFileOf(service: ServiceSpec): string {
  return join(stackPaths.pids, `${service.name}.pid`);
}

function logFileOf(service: ServiceSpec): string {
  return join(stackPaths.logs, `${service.name}.log`);
}

function progress(service: ServiceSpec, message: string): void {
  console.log(`[stack] ${service.name.padEnd(24)} ${message}`);
}

async function startService(service: ServiceSpec): Promise<void> {
  const pid = readPid(pidFileOf(service));
  if (pid !== undefined && isAlive(pid)) {
    if (await service.isReady()) {
      progress(service, `already running (pid ${pid}) at ${service.address}`);
      return;
    }
    progress(service, `running (pid ${pid}) but not answering; waiting for it`);
    await waitReady(service, pid);
    return;
  }
  const missing = await service.checkInstalled();
  if (missing !== undefined) {
    throw new StackError(`${service.name}: ${missing}. Run \`make setup\` first.`);
  }
  for (const port of service.ports) {
    const owner = await describePortOwner(stackConfig.host, port);
    if (owner !== undefined) {
      throw new StackError(
        `${service.name}: port ${stackConfig.host}:${port} is already in use by ${owner}.\n` +
          "Stop that process, or move this service with its TALLY_*_PORT variable (see test/env/config.ts).",
      );
    }
  }
  await service.prepare();
  const command = service.command();
  const started = startDetached({
    name: service.name,
    file: command.file,
    args: command.args,
    env: command.env,
    cwd: command.cwd,
    logDir: stackPaths.logs,
    pidDir: stackPaths.pids,
  });
  progress(service, `starting (pid ${started.pid}), log ${started.logFile}`);
  await waitReady(service, started.pid);
}

async function waitReady(service: ServiceSpec, pid: number): Promise<void> {
  const startedAt = Date.now();
  const deadline = startedAt + service.readyTimeoutMs;
  let nextNotice = startedAt + 10_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      removePidFile(stackPaths.pids, service.name);
      throw new StackError(
        `${service.name} exited during start-up. Last lines of ${logFileOf(service)}:\n${logTail(logFileOf(service))}`,
      );
    }
    if (await service.isReady()) {
      progress(service, `ready at ${service.address} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
      return;
    }
    if (Date.now() >= nextNotice) {
      progress(service, `still waiting (${Math.round((Date.now() - startedAt) / 1000)} s)`);
      nextNotice += 10_000;
    }
    await sleep(250);
  }
  throw new StackError(
    `${service.name} did not become ready within ${service.readyTimeoutMs / 1000} s (pid ${pid} is still running). ` +
      `Last lines of ${logFileOf(service)}:\n${logTail(logFileOf(service))}`,
  );
}

async function stopService(service: ServiceSpec): Promise<void> {
  const pid = readPid(pidFileOf(service));
  if (pid === undefined) {
    progress(service, "not running");
    return;
  }
  const outcome = await stopProcessGroup(pid, service.stopGraceMs);
  removePidFile(stackPaths.pids, service.name);
  const said = {
    stopped: "stopped",
    killed: "killed after the grace period",
    absent: "was not running",
  } as const;
  progress(service, `${said[outcome]} (pid ${pid})`);
}

async function statusOf(service: ServiceSpec): Promise<{ state: string; healthy: boolean }> {
  const pid = readPid(pidFileOf(service));
  if (pid === undefined || !isAlive(pid)) return { state: "stopped", healthy: false };
  return (await service.isReady())
    ? { state: `running (pid ${pid}), ready`, healthy: true }
    : { state: `running (pid ${pid}), NOT answering`, healthy: false };
}

function select(names: readonly string[]): readonly ServiceSpec[] {
  if (names.length === 0) return stackServices;
  return names.map((name) => {
    const found = stackServices.find((s) => s.name === name);
    if (!found) {
      throw new StackError(
        `unknown service "${name}"; known: ${stackServices.map((s) => s.name).join(", ")}`,
      );
    }
    return found;
  });
}

async function stackUp(names: readonly string[] = []): Promise<void> {
  const services = select(names);
  // Independent services start together; each one's failure is reported with its own log tail.
  const results = await Promise.allSettled(services.map((s) => startService(s)));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  if (failures.length > 0) {
    throw new StackError(failures.map((f) => (f instanceof Error ? f.message : String(f))).join("\n\n"));
  }
}

async function stackDown(names: readonly string[] = []): Promise<void> {
  for (const service of [...select(names)].reverse()) await stopService(service);
}

/**
 * Stops each named service and starts it again on the same data and ports; resolves once each is
 * ready, with how long it was down (from the stop signal to ready).
 */
export async function stackRestart(names: readonly string[]): Promise<Map<string, number>> {
  const downtime = new Map<string, number>();
  for (const service of select(names)) {
    const stoppedAt = Date.now();
    await stopService(service);
    await startService(service);
    downtime.set(service.name, Date.now() - stoppedAt);
  }
  return downtime;
}

async function stackStatus(names: readonly string[] = []): Promise<boolean> {
  let allHealthy = true;
  for (const service of select(names)) {
    const { state, healthy } = await statusOf(service);
    allHealthy &&= healthy;
    console.log(`${service.name.padEnd(24)} ${service.address.padEnd(52)} ${state}`);
  }
  return allHealthy;
}

async function main(argv: readonly string[]): Promise<number> {
  const [verb, ...names] = argv;
  switch (verb) {
    case "up":
      await stackUp(names);
      return 0;
    case "down":
      await stackDown(names);
      return 0;
    case "status":
      return (await stackStatus(names)) ? 0 : 1;
    case "restart":
      if (names.length === 0) {
        console.error("restart: name the services to restart (e.g. kafka clickhouse redis)");
        return 2;
      }
      await stackRestart(names);
      return 0;
    default:
      console.error("usage: tsx test/env/stack.ts up|down|status [service ...] | restart service ...");
      return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof StackError) {
        console.error(`[stack] ERROR: ${error.message}`);
      } else {
        console.error("[stack] unexpected failure:", error);
      }
      process.exit(1);
    },
  );
}
