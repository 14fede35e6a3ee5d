/**
 * A panel's answer as CSV (pure), RFC 4180: a header of the column names, CRLF line ends, a field
 * quoted when it holds a comma, a quote, a line break or edge spaces, quotes doubled. A text value that
 * a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe: dimension
 * values come from events anyone could send. Numbers are written as they are.
 */
import type { QueryResponse, ResultValue } from "../../../api/v1alpha1/query.js";

const formulaStart = /^[=+\-@\t\r]/;

export function csvField(value: ResultValue | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const text = formulaStart.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function responseToCsv(response: Pick<QueryResponse, "columns" | "rows">): string {
  const names = response.columns.map((c) => c.name);
  const lines = [names.map(csvField), ...response.rows.map((row) => names.map((n) => csvField(row[n])))];
  return `${lines.map((fields) => fields.join(",")).join("\r\n")}\r\n`;
}

/** A file name from the panel's name: letters, digits, _ and - only. */
export function csvFileName(dashboard: string, panel: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, "_");
  return `${safe(dashboard)}-${safe(panel)}.csv`;
}
