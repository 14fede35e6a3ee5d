/**
 * The worker's HTTP endpoint on TALLY_METRICS_HOST:TALLY_METRICS_PORT: /metrics (Prometheus), /healthz
 * and /readyz (probes).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

interface ProbeState {
  /** Liveness: the process is not wedged. */
  healthy(): boolean;
  /** Readiness: joined the consumer group and not draining. */
  ready(): boolean;
}

export async function startHttpServer(
  host: string,
  port: number,
  registry: Registry,
  probes: ProbeState,
): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      response.writeHead(status, { "content-type": type });
      response.end(body);
    };
    if (path === "/metrics") {
      registry
        .metrics()
        .then((text) => reply(200, text, registry.contentType))
        .catch((error: unknown) => reply(500, String(error)));
    } else if (path === "/healthz") {
      reply(probes.healthy() ? 200 : 503, probes.healthy() ? "ok\n" : "unhealthy\n");
    } else if (path === "/readyz") {
      reply(probes.ready() ? 200 : 503, probes.ready() ? "ready\n" : "not ready\n");
    } else {
      reply(404, "not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
