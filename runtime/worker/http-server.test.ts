import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startHttpServer } from "./http-server.js";

const probes = { healthy: () => true, ready: () => false };
let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

async function start(host: string) {
  const { server, port } = await startHttpServer(host, 0, new Registry(), probes);
  close = () => new Promise((resolve) => server.close(() => resolve()));
  return { address: (server.address() as AddressInfo).address, port };
}

describe("startHttpServer", () => {
  it("binds only the address it is given", async () => {
    const { address, port } = await start("127.0.0.1");
    expect(address).toBe("127.0.0.1");
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
  });

  it("binds every address for a pod's Service when given 0.0.0.0", async () => {
    expect((await start("0.0.0.0")).address).toBe("0.0.0.0");
  });
});
