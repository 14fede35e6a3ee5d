import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stackConfig } from "../env/config.js";
import { isAlive, readPid } from "../env/process-control.js";
import { freePort } from "../support/free-port.js";

// The stack scripts as a user meets them: run as a separate process with overridden ports and
// folders, so these tests never touch the stack the other integration tests use.

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function stack(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(stackConfig.repoRoot, "test/env/stack.ts"), ...args],
      { cwd: stackConfig.repoRoot, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === "number" ? error.code : error ? 1 : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

function tempStack(): string {
  return mkdtempSync(join(tmpdir(), "tally-stack-test-"));
}

describe("stack scripts", () => {
  it("reports a taken port with its owner and no stack trace", async () => {
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    if (address === null || typeof address === "string") throw new Error("no port");

    const run = await stack(["up", "redis"], {
      TALLY_STACK_DIR: tempStack(),
      TALLY_REDIS_PORT: String(address.port),
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`port 127.0.0.1:${address.port} is already in use`);
    expect(run.stderr).toContain("TALLY_*_PORT");
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it("reports a service that dies at start-up with the tail of its log", async () => {
    const dir = tempStack();
    // A corrupt append-only manifest makes redis-server refuse to start.
    mkdirSync(join(dir, "data", "redis", "appendonlydir"), { recursive: true });
    writeFileSync(
      join(dir, "data", "redis", "appendonlydir", "appendonly.aof.manifest"),
      "this is not a manifest\n",
    );

    const run = await stack(["up", "redis"], {
      TALLY_STACK_DIR: dir,
      TALLY_REDIS_PORT: String(await freePort()),
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain("redis exited during start-up");
    expect(run.stderr).toMatch(/manifest/i);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it("names the missing cache and the command that fills it", async () => {
    const run = await stack(["up", "kafka"], {
      TALLY_STACK_DIR: tempStack(),
      TALLY_CACHE_DIR: tempStack(),
      TALLY_KAFKA_PORT: String(await freePort()),
      TALLY_KAFKA_CONTROLLER_PORT: String(await freePort()),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Kafka jars are missing");
    expect(run.stderr).toContain("make setup");
  });

  it("starts a service once however often `up` runs, and `down` leaves no process", async () => {
    const dir = tempStack();
    const env = { TALLY_STACK_DIR: dir, TALLY_REDIS_PORT: String(await freePort()) };

    const first = await stack(["up", "redis"], env);
    expect(first.code, first.stderr).toBe(0);
    const pid = readPid(join(dir, "pids", "redis.pid"));
    expect(pid).toBeDefined();

    const second = await stack(["up", "redis"], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`already running (pid ${pid})`);

    const status = await stack(["status", "redis"], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("ready");

    const down = await stack(["down", "redis"], env);
    expect(down.code).toBe(0);
    expect(pid !== undefined && isAlive(pid)).toBe(false);
    const after = await stack(["status", "redis"], env);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain("stopped");
  });
});
