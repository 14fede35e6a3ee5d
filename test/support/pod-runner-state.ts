/**
 * What the stack's pod-runner says about the pods it runs as local processes (its state file), the
 * gateway pods' API addresses, and the per-namespace entry point overrides a test uses to run its own
 * checkout's programs in its pods (the running pod-runner belongs to whichever checkout started the stack).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { podRunnerPaths, stackConfig } from "../env/config.js";

export interface PodProcessEntry {
  /** `<namespace>/<pod>`. */
  readonly key: string;
  readonly uid: string;
  readonly component: string;
  /** TALLY_METRICS_PORT: /healthz, /readyz, /metrics. */
  readonly port: number;
  /** A gateway's TALLY_GATEWAY_PORT (absent from a pod-runner started before it recorded it). */
  readonly apiPort?: number;
  readonly pid?: number;
  readonly state: string;
  readonly restarts: number;
  readonly logFile: string;
}

/** Every process (running, restarting or stopping) of pods in these namespaces. */
export function podProcesses(namespaces: readonly string[]): PodProcessEntry[] {
  let all: Record<string, Omit<PodProcessEntry, "key">>;
  try {
    all = JSON.parse(readFileSync(podRunnerPaths.processes, "utf8")) as typeof all;
  } catch {
    return [];
  }
  return Object.entries(all)
    .filter(([key]) => namespaces.some((ns) => key.startsWith(`${ns}/`)))
    .map(([key, entry]) => ({ key, ...entry }));
}

export function podNameOf(entry: Pick<PodProcessEntry, "key">): string {
  return entry.key.slice(entry.key.indexOf("/") + 1);
}

/**
 * The API port of a gateway pod's process: `apiPort` in the state file, or, from a pod-runner started
 * before it recorded it, the port of the newest "gateway listening" line of the pod's log.
 */
export function gatewayApiPort(entry: PodProcessEntry): number | undefined {
  if (entry.apiPort !== undefined) return entry.apiPort;
  let log: string;
  try {
    log = readFileSync(entry.logFile, "utf8");
  } catch {
    return undefined;
  }
  const lines = log.split("\n").filter((line) => line.includes('"msg":"gateway listening"'));
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  const port = (JSON.parse(last) as { port?: unknown }).port;
  return typeof port === "number" ? port : undefined;
}

/** Read-modify-write of the shared override file (other tests keep their own namespaces' keys). */
function editEntrypoints(edit: (table: Record<string, string[]>) => void): void {
  let table: Record<string, string[]> = {};
  if (existsSync(podRunnerPaths.entrypoints)) {
    table = JSON.parse(readFileSync(podRunnerPaths.entrypoints, "utf8")) as Record<string, string[]>;
  }
  edit(table);
  if (Object.keys(table).length === 0) rmSync(podRunnerPaths.entrypoints, { force: true });
  else writeFileSync(podRunnerPaths.entrypoints, `${JSON.stringify(table, null, 2)}\n`);
}

const programs = {
  operator: "operator/main.ts",
  gateway: "gateway/main.ts",
  "pipeline-worker": "runtime/worker/main.ts",
} as const;

/**
 * Pods of Tally's components in these namespaces run this checkout's programs, whichever checkout
 * started the stack; returns the undo.
 */
export function runThisCheckoutIn(namespaces: readonly string[]): () => void {
  const keys = namespaces.flatMap((ns) =>
    Object.entries(programs).map(([component, file]) => ({
      key: `${ns}/${component}`,
      argv: ["node", "--import", "tsx", join(stackConfig.repoRoot, file)],
    })),
  );
  editEntrypoints((table) => {
    for (const { key, argv } of keys) table[key] = argv;
  });
  return () =>
    editEntrypoints((table) => {
      for (const { key } of keys) delete table[key];
    });
}
