/**
 * A webhook receiver for the local stack: Alertmanager (and, later, the gateway's webhook
 * channel) POSTs notifications here; tests read them back.
 *   POST /<any path>      records { path, receivedAt, body } (body parsed as JSON when it is)
 *   GET  /received        every record so far, oldest first (?path=/alerts filters)
 *   DELETE /received      forgets them
 *   GET  /healthz         "ok"
 * Records are also appended to a JSON-lines file so they survive a restart of the sink.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

interface WebhookRecord {
  readonly path: string;
  readonly receivedAt: string;
  readonly body: unknown;
}

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: process.env.TALLY_WEBHOOK_SINK_PORT ?? "9096" },
    "record-file": { type: "string" },
  },
});
const recordFile = values["record-file"];
const records: WebhookRecord[] = [];
if (recordFile && existsSync(recordFile)) {
  for (const line of readFileSync(recordFile, "utf8").split("\n")) {
    if (line.trim() !== "") records.push(JSON.parse(line) as WebhookRecord);
  }
}

function parseBody(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://sink");
  if (request.method === "GET" && url.pathname === "/healthz") {
    response.end("ok\n");
    return;
  }
  if (url.pathname === "/received" && request.method === "GET") {
    const path = url.searchParams.get("path");
    const selected = path === null ? records : records.filter((r) => r.path === path);
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(selected));
    return;
  }
  if (url.pathname === "/received" && request.method === "DELETE") {
    records.length = 0;
    response.statusCode = 204;
    response.end();
    return;
  }
  if (request.method !== "POST") {
    response.statusCode = 405;
    response.end("POST a notification, GET /received to read them\n");
    return;
  }
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const record: WebhookRecord = {
      path: url.pathname,
      receivedAt: new Date().toISOString(),
      body: parseBody(Buffer.concat(chunks).toString("utf8")),
    };
    records.push(record);
    if (recordFile) appendFileSync(recordFile, `${JSON.stringify(record)}\n`);
    console.log(JSON.stringify({ msg: "webhook received", path: record.path, at: record.receivedAt }));
    response.statusCode = 200;
    response.end("ok\n");
  });
});

server.listen(Number(values.port), values.host, () => {
  console.log(
    JSON.stringify({ msg: "webhook sink listening", host: values.host, port: Number(values.port) }),
  );
});
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
