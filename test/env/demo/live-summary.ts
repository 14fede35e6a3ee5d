/**
 * The live demo's terminal summary: what it shows (pure, from one snapshot and the one before) and how it
 * is redrawn in place (ANSI cursor-up and clear-line, no dependency), then reading a snapshot from the
 * running system (the Pipeline's and AlertRules' status, the minute rollup's row count).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { qualifiedName } from "../../../contracts/clickhouse/sql.js";
import { kubectlOk } from "../../support/kube.js";

export interface SummarySnapshot {
  readonly atMs: number;
  /** Messages the traffic generator has sent so far. */
  readonly produced: number;
  readonly lag: number | undefined;
  readonly processingRate: number | undefined;
  readonly replicas: {
    readonly ready: number;
    readonly current: number;
    readonly desired: number | undefined;
  };
  readonly alerts: readonly { readonly name: string; readonly state: string }[];
  readonly rollupRows: number | undefined;
  /** Why a reading is missing (a failed kubectl or query), shown instead of hiding it. */
  readonly problems: readonly string[];
}

const show = (n: number | undefined, digits = 0): string => (n === undefined ? "-" : n.toFixed(digits));

/** The summary's lines; events/s is the produced delta over the time since the previous snapshot. */
export function summaryLines(now: SummarySnapshot, previous: SummarySnapshot | undefined): string[] {
  const seconds = previous === undefined ? 0 : (now.atMs - previous.atMs) / 1000;
  const rate =
    previous === undefined || seconds <= 0 ? undefined : (now.produced - previous.produced) / seconds;
  const { ready, current, desired } = now.replicas;
  return [
    `produced   ${show(rate)} events/s (${now.produced} in all)`,
    `pipeline   lag ${show(now.lag)} messages, processing ${show(now.processingRate)} events/s`,
    `replicas   ${ready}/${current} ready, desired ${show(desired)}`,
    `alerts     ${now.alerts.map((a) => `${a.name}=${a.state}`).join("  ") || "-"}`,
    `rollup     clicks-per-minute: ${show(now.rollupRows)} rows`,
    ...now.problems.map((p) => `  (${p})`),
    "Ctrl-C stops the traffic and tears the demo down",
  ];
}

/**
 * The bytes that replace the previously drawn block with `lines`: up to its first line, then each line
 * cleared and rewritten; left-over old lines are cleared too so a shorter block leaves no residue.
 */
export function redrawInPlace(previousLineCount: number, lines: readonly string[]): string {
  const up = previousLineCount > 0 ? `\x1b[${previousLineCount}A` : "";
  const body = lines.map((line) => `\r\x1b[2K${line}\n`).join("");
  const extra = Math.max(0, previousLineCount - lines.length);
  const clear = extra > 0 ? `${"\r\x1b[2K\n".repeat(extra)}\x1b[${extra}A` : "";
  return up + body + clear;
}

interface PipelineStatusView {
  lag?: number;
  processingRate?: number;
  replicas?: number;
  readyReplicas?: number;
  desiredReplicas?: number;
}

/** One reading of the running demo; a failed reading becomes a problem line, never a crash. */
export async function readSnapshot(options: {
  readonly namespace: string;
  readonly pipeline: string;
  readonly rollup: string;
  readonly clickhouse: ClickHouseClient;
  readonly produced: number;
}): Promise<SummarySnapshot> {
  const problems: string[] = [];
  const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      return undefined;
    }
  };
  const pipeline = await attempt("pipeline status", async () => {
    const out = await kubectlOk([
      "get",
      "pipeline",
      options.pipeline,
      "-n",
      options.namespace,
      "-o",
      "jsonpath={.status}",
    ]);
    return JSON.parse(out || "{}") as PipelineStatusView;
  });
  const alerts = await attempt("alert rules", async () => {
    const list = JSON.parse(
      await kubectlOk(["get", "alertrules", "-n", options.namespace, "-o", "json"]),
    ) as { items: { metadata: { name: string }; status?: { state?: string } }[] };
    return list.items.map((r) => ({ name: r.metadata.name, state: r.status?.state ?? "Pending" }));
  });
  const rollupRows = await attempt("rollup rows", async () => {
    const status = JSON.parse(
      (await kubectlOk([
        "get",
        "rollup",
        options.rollup,
        "-n",
        options.namespace,
        "-o",
        "jsonpath={.status}",
      ])) || "{}",
    ) as { database?: string; table?: string };
    if (status.database === undefined || status.table === undefined) throw new Error("no table yet");
    const result = await options.clickhouse.query({
      // FINAL: the rows as merged; a plain count() also counts the not yet merged parts' partial rows.
      query: `SELECT count() AS n FROM ${qualifiedName(status.database, status.table, "rollup status.table")} FINAL`,
      format: "JSONEachRow",
    });
    const [row] = await result.json<{ n: string }>();
    return Number(row?.n ?? 0);
  });
  return {
    atMs: Date.now(),
    produced: options.produced,
    lag: pipeline?.lag,
    processingRate: pipeline?.processingRate,
    replicas: {
      ready: pipeline?.readyReplicas ?? 0,
      current: pipeline?.replicas ?? 0,
      desired: pipeline?.desiredReplicas,
    },
    alerts: alerts ?? [],
    rollupRows,
    problems,
  };
}
