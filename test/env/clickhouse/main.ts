/**
 * Runs the chdb-backed ClickHouse HTTP server (http-server.ts) for the local stack:
 *   tsx test/env/clickhouse/main.ts --port 8123 --data-dir DIR --user U --password P [--host H]
 * Each flag falls back to TALLY_CLICKHOUSE_PORT / _DATA_DIR / _USER / _PASSWORD, then to the
 * stack's defaults (test/env/config.ts). Prints one JSON line per request; SIGTERM/SIGINT finish
 * the requests in flight, close the chdb session (flushing the data) and exit.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stackConfig, stackPaths } from "../config.js";
import { type ClickhouseHttpServer, startClickhouseHttpServer } from "./http-server.js";

function log(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));
}

const { values } = parseArgs({
  options: {
    host: { type: "string", default: stackConfig.host },
    // config.ts already reads TALLY_CLICKHOUSE_PORT/_USER/_PASSWORD (validated) for its defaults.
    port: { type: "string", default: String(stackConfig.clickhousePort) },
    "data-dir": {
      type: "string",
      default: process.env.TALLY_CLICKHOUSE_DATA_DIR || join(stackPaths.data, "clickhouse"),
    },
    user: { type: "string", default: stackConfig.clickhouseUser },
    password: { type: "string", default: stackConfig.clickhousePassword },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port ${values.port} is not a TCP port (expected an integer 0..65535)`);
  process.exit(2);
}

let server: ClickhouseHttpServer;
try {
  server = await startClickhouseHttpServer({
    host: values.host,
    port,
    dataDir: values["data-dir"],
    user: values.user,
    password: values.password,
    onRequest: (entry) =>
      log({
        msg: "request",
        method: entry.method,
        path: entry.path,
        query_id: entry.queryId ?? null,
        status: entry.status,
        duration_ms: entry.durationMs,
        error_code: entry.errorCode ?? null,
      }),
  });
} catch (error) {
  const cause = error instanceof Error ? error.cause : undefined;
  log({ msg: "clickhouse failed to start", error: String(error), cause: String(cause) });
  process.exit(1);
}
log({ msg: "clickhouse listening", url: server.url, data_dir: values["data-dir"], user: values.user });

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) {
      log({ msg: "second signal, exiting without a clean shutdown", signal });
      process.exit(1);
    }
    stopping = true;
    log({ msg: "clickhouse stopping", signal });
    server.close().then(
      () => {
        log({ msg: "clickhouse stopped" });
        process.exit(0);
      },
      (error: unknown) => {
        log({ msg: "clickhouse stop failed", error: String(error) });
        process.exit(1);
      },
    );
  });
}
