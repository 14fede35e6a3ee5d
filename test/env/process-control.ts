import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runCommand } from "./run-command.js";

/**
 * Detached processes with a pid file and a log file each: the stack's services outlive the
 * `make stack-up` that started them, and `make stack-down` finds them again by pid file.
 */

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but belongs to someone else; still alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

interface StartedProcess {
  readonly pid: number;
  readonly logFile: string;
}

export function startDetached(options: {
  name: string;
  file: string;
  args: readonly string[];
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  logDir: string;
  pidDir: string;
}): StartedProcess {
  mkdirSync(options.logDir, { recursive: true });
  mkdirSync(options.pidDir, { recursive: true });
  const logFile = join(options.logDir, `${options.name}.log`);
  const out = openSync(logFile, "a");
  const child = spawn(options.file, [...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    // Own process group: stop signals reach the service and its children, and the service
    // does not die with the shell that started it.
    detached: true,
    stdio: ["ignore", out, out],
  });
  if (child.pid === undefined) {
    throw new Error(`${options.name}: could not spawn ${options.file} (is it installed? run \`make setup\`)`);
  }
  child.unref();
  writeFileSync(join(options.pidDir, `${options.name}.pid`), `${child.pid}\n`);
  return { pid: child.pid, logFile };
}

/** SIGTERM to the process group, SIGKILL after the grace period; resolves once it is gone. */
export async function stopProcessGroup(
  pid: number,
  graceMs: number,
): Promise<"stopped" | "killed" | "absent"> {
  if (!isAlive(pid)) return "absent";
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return "stopped";
    await sleep(100);
  }
  signalGroup(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(50);
  return "killed";
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone between the check and the signal.
    }
  }
}

export function removePidFile(pidDir: string, name: string): void {
  rmSync(join(pidDir, `${name}.pid`), { force: true });
}

/** The last lines of a log file, for failure messages. */
export function logTail(logFile: string, lines = 40): string {
  try {
    const all = readFileSync(logFile, "utf8").trimEnd().split("\n");
    return all.slice(-lines).join("\n");
  } catch {
    return "(no log written)";
  }
}

/** Resolves undefined when host:port can be bound, else a description of who holds it. */
export async function describePortOwner(host: string, port: number): Promise<string | undefined> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
  if (free) return undefined;
  const ss = await runCommand("ss", ["-Hltnp", `sport = :${port}`]).catch(() => undefined);
  const owner = ss?.stdout.match(/users:\(\("([^"]+)",pid=(\d+)/);
  return owner
    ? `${owner[1]} (pid ${owner[2]})`
    : "another process (ss shows no owner; it may belong to another user)";
}
