/**
 * The runtime pods' entry point:
 *   node --import tsx runtime/worker/main.ts pipeline-worker                  (in a pod; see settings.ts)
 *   node --import tsx runtime/worker/main.ts --config pipeline.yaml [--create-tables]   (locally)
 * Exit codes: 0 after a drain (SIGTERM/SIGINT), 2 for a missing setting or a bad configuration (one line
 * on stderr naming it), 1 for anything else.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../pipeline/pipeline-plan.js";
import { startPipelineWorker } from "./pipeline-worker.js";
import { parseWorkerSettings, SettingsError } from "./settings.js";

function isConfigurationError(error: unknown): boolean {
  return error instanceof SettingsError || error instanceof ConfigError;
}

async function main(): Promise<void> {
  let settings: ReturnType<typeof parseWorkerSettings>;
  try {
    settings = parseWorkerSettings(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
  } catch (error) {
    process.stderr.write(`tally-runtime: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(isConfigurationError(error) ? 2 : 1);
  }
  let worker: Awaited<ReturnType<typeof startPipelineWorker>>;
  try {
    worker = await startPipelineWorker(settings, process.env, (error) => {
      process.stderr.write(
        `tally-runtime: kafka consumer stopped: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    });
  } catch (error) {
    process.stderr.write(`tally-runtime: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(isConfigurationError(error) ? 2 : 1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`tally-runtime: ${signal}: draining\n`);
    worker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `tally-runtime: drain failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await main();
