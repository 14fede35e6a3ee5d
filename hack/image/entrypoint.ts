/**
 * The image's one entry point: `tally operator | gateway | pipeline-worker [args]` (the container args the
 * chart and the operator's renderer give). It loads the program's bundle beside it; process.argv is left as
 * it is, so each program parses its own command as when it runs from source.
 */
const programs: Readonly<Record<string, string>> = {
  operator: "./operator.mjs",
  gateway: "./gateway.mjs",
  "pipeline-worker": "./worker.mjs",
};

const command = process.argv[2];
const bundle = command === undefined ? undefined : programs[command];
if (bundle === undefined) {
  process.stderr.write(
    `tally: unknown command ${JSON.stringify(command ?? "")} (expected one of: ${Object.keys(programs).join(", ")})\n`,
  );
  process.exit(2);
}
await import(bundle);
