/**
 * CSV lines as RFC 4180 writes them (pure): fields separated by commas, a field quoted when it holds a
 * comma, a quote, CR or LF (or starts or ends with a space, so no reader trims it), quotes doubled,
 * lines ended by CRLF. null is the empty field; numbers and booleans as JSON writes them.
 */
import type { ResultValue } from "../../api/v1alpha1/query.js";

export function csvField(value: ResultValue | undefined): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly (ResultValue | undefined)[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
