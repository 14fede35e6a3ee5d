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
  /** `earlier`: the figures of the benchmarks that ran before it in this run. */
  runBench(earlier: readonly BenchFigure[]): Promise<readonly BenchFigure[]>;
}

/** Benchmarks whose figures others use run first: the autoscaler replays traces at the runtime's measured capacity. */
const runFirst = ["stack.bench.ts", "runtime.bench.ts"];
const rank = (file: string) => (runFirst.includes(file) ? runFirst.indexOf(file) : runFirst.length);

const only = process.argv.slice(2);
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

let failures = 0;
const figures: BenchFigure[] = [];
for (const file of files) {
  console.log(`[bench] ${file}`);
  try {
    const module = (await import(pathToFileURL(join(import.meta.dirname, file)).href)) as BenchModule;
    for (const figure of await module.runBench(figures)) {
      figures.push(figure);
      console.log(formatFigure(figure));
    }
  } catch (error) {
    failures += 1;
    console.error(`[bench] ${file} failed:`, error instanceof Error ? error.message : error);
  }
}
process.exit(failures === 0 ? 0 : 1);
