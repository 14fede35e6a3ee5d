/**
 * `make bench`: runs every benchmark in this folder (`*.bench.ts`, each exporting `runBench`)
 * against the local stack and prints each figure as `BENCH <name>=<value> <unit>`. Targets are
 * ratios against baselines measured in the same run, since absolute times are noisy here.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type BenchFigure, formatFigure } from "./bench-figure.js";

interface BenchModule {
  runBench(): Promise<readonly BenchFigure[]>;
}

const only = process.argv.slice(2);
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort();

let failures = 0;
for (const file of files) {
  console.log(`[bench] ${file}`);
  try {
    const module = (await import(pathToFileURL(join(import.meta.dirname, file)).href)) as BenchModule;
    for (const figure of await module.runBench()) console.log(formatFigure(figure));
  } catch (error) {
    failures += 1;
    console.error(`[bench] ${file} failed:`, error instanceof Error ? error.message : error);
  }
}
process.exit(failures === 0 ? 0 : 1);
