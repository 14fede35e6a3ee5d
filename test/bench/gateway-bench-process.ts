/**
 * gateway-bench-server.ts as a child process, for the benches that measure the gateway out of their own
 * process (gateway.bench.ts, collect.bench.ts, sse.bench.ts): started on its config (written to a temporary
 * file it reads at start-up, removed once it listens or failed to), asked for its usage, stopped.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { stackConfig } from "../env/config.js";
import {
  type BenchServerConfig,
  type BenchServerReady,
  type ServerUsage,
  usagePath,
} from "./gateway-bench-shared.js";

export class GatewayServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly ready: BenchServerReady,
    private readonly stderr: readonly string[],
  ) {}

  static async start(config: BenchServerConfig): Promise<GatewayServer> {
    const dir = mkdtempSync(join(tmpdir(), "tally-gateway-bench-"));
    const configPath = join(dir, "config.json");
    writeFileSync(configPath, JSON.stringify(config));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "gateway-bench-server.ts"), configPath],
      { cwd: stackConfig.repoRoot, stdio: ["ignore", "pipe", "pipe"] },
    );
    const stderr: string[] = [];
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
    try {
      const ready = await new Promise<BenchServerReady>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("printed no ports within 60 s")), 60_000);
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`exited with ${code ?? signal} before listening`));
        });
        if (child.stdout === null) throw new Error("no stdout");
        createInterface({ input: child.stdout }).once("line", (line) => {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(line) as BenchServerReady);
          } catch {
            reject(new Error(`printed ${JSON.stringify(line)}, expected its ports as JSON`));
          }
        });
      });
      return new GatewayServer(child, ready, stderr);
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(
        `gateway bench server: ${error instanceof Error ? error.message : String(error)}; stderr: ${stderr.join("").slice(-2_000)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** GET on the control port, as JSON. */
  async control<T>(path: string): Promise<T> {
    const url = `http://127.0.0.1:${this.ready.controlPort}${path}`;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    return (await response.json()) as T;
  }

  usage(): Promise<ServerUsage> {
    return this.control<ServerUsage>(usagePath);
  }

  /** SIGTERM, and how it ended (with its stderr if it had already died). */
  async stop(): Promise<string> {
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return `had exited with ${this.child.exitCode ?? this.child.signalCode}; stderr: ${this.stderr.join("").slice(-2_000)}`;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (stopped) return "stopped";
    this.child.kill("SIGKILL");
    await exited;
    return "killed after 10 s without exiting on SIGTERM";
  }
}
