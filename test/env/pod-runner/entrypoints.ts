import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";

/**
 * What each Tally component runs as a local process: component (the pod's `tally.dev/component`
 * label) → argv, run in the repository root; the container's `args` are appended. The container's
 * image and `command` are ignored: the image's entry point is this table.
 *
 * Overrides, later ones winning per key:
 *   1. env TALLY_POD_RUNNER_ENTRYPOINTS of the pod-runner (JSON object component → argv array);
 *   2. the file `.tally-stack/pod-runner/entrypoints.json` (same shape), re-read on every start,
 *      so tests can point a component at a script of their own while the runner is running.
 * A key may also be `<namespace>/<component>`: it applies to that namespace only and wins over the
 * plain component there, so a test can redirect its own pods without touching anyone else's.
 */
export type EntrypointTable = Readonly<Record<string, readonly string[]>>;

export const defaultEntrypoints: EntrypointTable = {
  "pipeline-worker": ["node", "--import", "tsx", "runtime/worker/main.ts"],
  gateway: ["node", "--import", "tsx", "gateway/main.ts"],
  operator: ["node", "--import", "tsx", "operator/main.ts"],
};

export const entrypointsEnvVar = "TALLY_POD_RUNNER_ENTRYPOINTS";

/** Parses an override table; the error names where it came from and what is wrong. */
export function parseEntrypoints(json: string, source: string): Record<string, string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`${source}: not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${source}: expected an object of component → argv array`);
  }
  const table: Record<string, string[]> = {};
  for (const [component, argv] of Object.entries(parsed)) {
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string" && a !== "")) {
      throw new Error(`${source}: "${component}" must be a non-empty array of non-empty strings`);
    }
    table[component] = argv as string[];
  }
  return table;
}

function mergeEntrypoints(...tables: EntrypointTable[]): EntrypointTable {
  return Object.assign({}, ...tables) as EntrypointTable;
}

/** The table in force now: defaults, then the env variable, then the file (if present). */
export function loadEntrypoints(env: NodeJS.ProcessEnv, file: string): EntrypointTable {
  const fromEnv = env[entrypointsEnvVar];
  const tables: EntrypointTable[] = [defaultEntrypoints];
  if (fromEnv !== undefined && fromEnv !== "") tables.push(parseEntrypoints(fromEnv, entrypointsEnvVar));
  let fileText: string | undefined;
  try {
    fileText = readFileSync(file, "utf8");
  } catch {
    fileText = undefined; // no override file
  }
  if (fileText !== undefined && fileText.trim() !== "") tables.push(parseEntrypoints(fileText, file));
  return mergeEntrypoints(...tables);
}

/** The argv for a pod's component: the namespace's own entry first, then the component's. */
export function entrypointFor(
  table: EntrypointTable,
  namespace: string,
  component: string,
): readonly string[] | undefined {
  return table[`${namespace}/${component}`] ?? table[component];
}

/**
 * The command to spawn: `node` means the Node.js running the pod-runner (same version as the
 * stack), and a relative script path resolves against the repository root (the working directory).
 */
export function commandLine(
  argv: readonly string[],
  containerArgs: readonly string[],
  nodeExecutable: string,
  repoRoot: string,
): { file: string; args: string[] } {
  const [first, ...rest] = argv;
  if (first === undefined) throw new Error("empty entry point");
  const file =
    first === "node"
      ? nodeExecutable
      : first.includes("/") && !isAbsolute(first)
        ? join(repoRoot, first)
        : first;
  return { file, args: [...rest, ...containerArgs] };
}
