/**
 * /healthz, /readyz and /metrics on their own port, apart from the API (no auth, no rate limit, and
 * a probe never queues behind queries).
 */
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export function startHealthServer(options: {
  readonly port: number;
  readonly host: string;
  readonly registry: Registry;
  /** Why the gateway is not ready, or undefined when it is. */
  readonly notReady: () => string | undefined;
}): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split("?")[0];
    if (path === "/healthz") {
      response.end("ok\n");
    } else if (path === "/readyz") {
      const reason = options.notReady();
      response.statusCode = reason === undefined ? 200 : 503;
      response.end(reason === undefined ? "ok\n" : `not ready: ${reason}\n`);
    } else if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => {
          response.setHeader("content-type", options.registry.contentType);
          response.end(text);
        },
        (error: unknown) => {
          response.statusCode = 500;
          response.end(String(error));
        },
      );
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
