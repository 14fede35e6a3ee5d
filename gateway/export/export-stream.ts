/**
 * An answer's rows as CSV or JSON Lines text, produced as the rows arrive (pure over an async
 * iterable): one line per row, never the whole answer in memory. At most `rowCap` rows are written;
 * when the source has more, a last line says so (CSV: `# truncated: …`, JSON Lines:
 * `{"_tally":{"truncated":true,"rowCap":N}}`), so a reader can tell a cut answer from a complete one.
 */
import type { ResultValue } from "../../api/v1alpha1/query.js";
import { csvLine } from "./csv-encode.js";
import type { ExportFormat } from "./export-format.js";

/** PostHog's cap on exported rows. */
export const defaultExportRowCap = 300_000;

export interface ExportTable {
  readonly columns: readonly string[];
  readonly rows: AsyncIterable<Record<string, ResultValue>> | Iterable<Record<string, ResultValue>>;
}

export function truncationLine(format: Exclude<ExportFormat, "json">, rowCap: number): string {
  return format === "csv"
    ? `# truncated: the export stops at its cap of ${rowCap} rows\r\n`
    : `${JSON.stringify({ _tally: { truncated: true, rowCap } })}\n`;
}

export async function* exportLines(
  format: Exclude<ExportFormat, "json">,
  table: ExportTable,
  rowCap: number,
): AsyncGenerator<string> {
  if (format === "csv") yield csvLine(table.columns);
  let written = 0;
  for await (const row of table.rows) {
    if (written === rowCap) {
      yield truncationLine(format, rowCap);
      return;
    }
    written += 1;
    if (format === "csv") yield csvLine(table.columns.map((c) => row[c]));
    else {
      const ordered: Record<string, ResultValue> = {};
      for (const c of table.columns) ordered[c] = row[c] ?? null;
      yield `${JSON.stringify(ordered)}\n`;
    }
  }
}

/** Lines joined into chunks of about `bytes` (one write per chunk instead of one per row). */
export async function* chunked(lines: AsyncIterable<string>, bytes = 16_384): AsyncGenerator<string> {
  let pending = "";
  for await (const line of lines) {
    pending += line;
    if (pending.length >= bytes) {
      yield pending;
      pending = "";
    }
  }
  if (pending !== "") yield pending;
}
