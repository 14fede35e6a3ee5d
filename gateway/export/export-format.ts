/**
 * Which form an answer takes (pure): `?format=` wins over the Accept header; JSON unless either asks
 * for CSV (`text/csv`) or JSON Lines (`application/x-ndjson`, `application/jsonl`).
 */
export type ExportFormat = "json" | "csv" | "jsonl";

export const exportFormats = ["json", "csv", "jsonl"] as const;

export function exportFormatOf(accept: string | undefined, format: string | undefined): ExportFormat {
  if (format === "csv" || format === "jsonl" || format === "json") return format;
  const types = (accept ?? "").split(",").map((t) => t.split(";")[0]?.trim().toLowerCase());
  if (types.includes("text/csv")) return "csv";
  if (types.includes("application/x-ndjson") || types.includes("application/jsonl")) return "jsonl";
  return "json";
}

export const exportContentTypes = {
  csv: "text/csv; charset=utf-8",
  jsonl: "application/x-ndjson; charset=utf-8",
} as const satisfies Record<Exclude<ExportFormat, "json">, string>;

/** `attachment; filename="…"` with a name made only of safe characters. */
export function contentDisposition(stem: string, format: Exclude<ExportFormat, "json">): string {
  const safe = stem.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100);
  return `attachment; filename="${safe}.${format}"`;
}
