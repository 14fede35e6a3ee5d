import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { restartDelayMs } from "./desired.js";

/**
 * One pod's local process, supervised like a container with restartPolicy Always: started in its
 * own process group with its output appended to the pod's log file, restarted with a growing delay
 * when it exits, stopped with SIGTERM and then SIGKILL after the grace period.
 */

export interface Launch {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** Resolves the command and environment at each start (entry points and Secrets may have changed). */
type PrepareLaunch = () => Promise<{ ok: true; launch: Launch } | { ok: false; reason: string }>;

type ProcessState = "starting" | "waiting" | "running" | "backoff" | "stopping" | "stopped";

interface ProcessSnapshot {
  readonly uid: string;
  readonly component: string;
  readonly port: number;
  /** The gateway's API port (TALLY_GATEWAY_PORT); absent for the other components. */
  readonly apiPort: number | undefined;
  readonly pid: number | undefined;
  readonly state: ProcessState;
  readonly restarts: number;
  readonly startedAt: string | undefined;
  readonly lastExit: string | undefined;
  readonly reason: string | undefined;
  readonly logFile: string;
}

/** A run that lasted this long resets the restart delay, as the kubelet's back-off does. */
const stableRunMs = 10_000;
/** Marks every process the pod-runner starts, so leftovers of a crashed runner can be recognised. */
export const podMarkerEnv = "TALLY_POD_RUNNER_POD";

export class PodProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopRequested = false;
  private stopping: Promise<"stopped" | "killed" | "absent"> | undefined;
  private failures = 0;
  private state: ProcessState = "starting";
  private restarts = 0;
  private starts = 0;
  private startedAt: number | undefined;
  private lastExit: string | undefined;
  private reason: string | undefined;

  constructor(
    readonly key: string,
    readonly uid: string,
    readonly component: string,
    readonly port: number,
    readonly apiPort: number | undefined,
    private readonly logFile: string,
    private readonly prepare: PrepareLaunch,
    private readonly onChange: () => void,
  ) {
    mkdirSync(dirname(logFile), { recursive: true });
  }

  start(): void {
    void this.launch();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  snapshot(): ProcessSnapshot {
    return {
      uid: this.uid,
      component: this.component,
      port: this.port,
      apiPort: this.apiPort,
      pid: this.child?.pid,
      state: this.state,
      restarts: this.restarts,
      startedAt: this.startedAt === undefined ? undefined : new Date(this.startedAt).toISOString(),
      lastExit: this.lastExit,
      reason: this.reason,
      logFile: this.logFile,
    };
  }

  private note(message: string): void {
    try {
      appendFileSync(this.logFile, `[pod-runner ${new Date().toISOString()}] ${message}\n`);
    } catch {
      // The log directory was removed under us; the runner's own log still has the event.
    }
  }

  private setState(state: ProcessState, reason?: string): void {
    this.state = state;
    this.reason = reason;
    this.onChange();
  }

  private async launch(): Promise<void> {
    this.timer = undefined;
    if (this.stopRequested) return;
    this.setState("starting");
    let prepared: Awaited<ReturnType<PrepareLaunch>>;
    try {
      prepared = await this.prepare();
    } catch (error) {
      prepared = { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    if (this.stopRequested) return;
    if (!prepared.ok) {
      this.note(`cannot start ${this.component} yet: ${prepared.reason}`);
      this.scheduleRestart("waiting", prepared.reason);
      return;
    }
    const { launch } = prepared;
    this.starts += 1;
    this.note(`start #${this.starts} (${this.component}): ${[launch.file, ...launch.args].join(" ")}`);
    const out = openSync(this.logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(launch.file, [...launch.args], {
        cwd: launch.cwd,
        env: { ...launch.env },
        // Own process group, like a container: SIGTERM/SIGKILL reach everything it started.
        detached: true,
        stdio: ["ignore", out, out],
      });
    } finally {
      closeSync(out);
    }
    this.child = child;
    this.startedAt = Date.now();
    let settle: () => void = () => undefined;
    this.exited = new Promise<void>((resolve) => {
      settle = resolve;
    });
    let gone = false;
    const onGone = (description: string) => {
      if (gone) return;
      gone = true;
      const pid = child.pid;
      if (pid !== undefined) signalGroup(pid, "SIGKILL"); // whatever it left behind in its group
      this.child = undefined;
      this.lastExit = `${description} at ${new Date().toISOString()}`;
      this.note(`process ${pid ?? "(not started)"} ${description}`);
      settle();
      if (this.stopRequested) {
        this.setState("stopped");
        return;
      }
      const ran = Date.now() - (this.startedAt ?? Date.now());
      if (ran >= stableRunMs) this.failures = 0;
      this.restarts += 1;
      this.scheduleRestart("backoff", description);
    };
    child.once("error", (error) => onGone(`failed: ${error.message}`));
    child.once("exit", (code, signal) =>
      onGone(signal ? `was killed by ${signal}` : `exited with code ${code ?? "?"}`),
    );
    if (child.pid !== undefined) this.setState("running");
  }

  private scheduleRestart(state: "waiting" | "backoff", reason: string): void {
    const delay = restartDelayMs(this.failures);
    this.failures += 1;
    this.setState(state, `${reason}; next try in ${delay / 1000} s`);
    this.timer = setTimeout(() => void this.launch(), delay);
  }

  /**
   * SIGTERM to the process group, SIGKILL after the grace period; resolves once it is gone. A
   * second call while stopping can only shorten the grace period.
   */
  stop(graceMs: number): Promise<"stopped" | "killed" | "absent"> {
    if (this.stopping === undefined) {
      this.stopping = this.terminate(graceMs);
    } else {
      const pid = this.child?.pid;
      const timer = setTimeout(() => {
        if (pid !== undefined) signalGroup(pid, "SIGKILL");
      }, graceMs);
      void this.stopping.finally(() => clearTimeout(timer));
    }
    return this.stopping;
  }

  private async terminate(graceMs: number): Promise<"stopped" | "killed" | "absent"> {
    this.stopRequested = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const pid = this.child?.pid;
    if (pid === undefined) {
      this.setState("stopped");
      return "absent";
    }
    this.setState("stopping", `SIGTERM, SIGKILL after ${graceMs / 1000} s`);
    this.note(`stopping process ${pid}: SIGTERM, SIGKILL after ${graceMs / 1000} s`);
    signalGroup(pid, "SIGTERM");
    const inTime = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (inTime) return "stopped";
    this.note(`process ${pid} did not stop within ${graceMs / 1000} s: SIGKILL`);
    signalGroup(pid, "SIGKILL");
    await this.exited;
    return "killed";
  }
}

/** Signals a process group (each pod process leads its own); no-op once the group is empty. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone. Never fall back to the bare pid: it may have been reused.
  }
}

/** True when pid is alive and carries our marker for this pod (so a reused pid is never killed). */
export function isOurProcess(pid: number, key: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return environ.includes(`${podMarkerEnv}=${key}`);
  } catch {
    return false;
  }
}
