// A stand-in for a Tally component in pod-runner tests. It records how it was started (args and
// the env the pod resolved to) in $SLEEPER_OUT_DIR/<pod>.<pid>.json, answers HTTP on
// TALLY_METRICS_PORT with the same record, and sleeps until SIGTERM, which it records in
// <pod>.<pid>.stopped before exiting. SLEEPER_IGNORE_SIGTERM=1 makes it ignore SIGTERM (tests the
// SIGKILL after the grace period); SLEEPER_EXIT_AFTER_MS makes it exit on its own (tests restarts).
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const outDir = process.env.SLEEPER_OUT_DIR;
const pod = process.env.TALLY_POD_NAME ?? process.env.HOSTNAME ?? "unknown";
const record = {
  pid: process.pid,
  pod,
  argv: process.argv.slice(2),
  env: Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k.startsWith("TALLY_") || k.startsWith("SLEEPER_") || k === "HOSTNAME" || k === "KUBECONFIG",
    ),
  ),
  startedAt: new Date().toISOString(),
};
const base = outDir ? join(outDir, `${pod}.${process.pid}`) : undefined;
if (base) writeFileSync(`${base}.json`, JSON.stringify(record, null, 2));
console.log(`sleeper ${process.pid} started for ${pod} with args ${JSON.stringify(record.argv)}`);

const port = Number(process.env.TALLY_METRICS_PORT);
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(record));
});
if (Number.isInteger(port) && port > 0) server.listen(port, "127.0.0.1");

process.on("SIGTERM", () => {
  console.log(`sleeper ${process.pid} got SIGTERM`);
  if (base) writeFileSync(`${base}.stopped`, new Date().toISOString());
  if (process.env.SLEEPER_IGNORE_SIGTERM === "1") return;
  server.close();
  process.exit(0);
});

const exitAfter = Number(process.env.SLEEPER_EXIT_AFTER_MS);
if (Number.isFinite(exitAfter) && exitAfter > 0) {
  setTimeout(() => {
    console.log(`sleeper ${process.pid} exiting on its own`);
    process.exit(3);
  }, exitAfter);
}
setInterval(() => undefined, 60_000);
