/**
 * A snapshot's version (pure): a hash of what the panels show (names, titles, columns, rows, errors),
 * leaving out how the answer was produced (explain's timings, cache status, generatedAt). A read that
 * finds the same answer sends nothing, and the same data gives the same version on every gateway pod, so
 * a client reconnecting elsewhere with `Last-Event-ID` is not sent what it already has.
 */
import { createHash } from "node:crypto";
import type { PanelSnapshot } from "../../api/v1alpha1/stream.js";

export function snapshotVersion(panels: readonly PanelSnapshot[]): string {
  const shown = panels.map((p) => [
    p.name,
    p.title ?? null,
    p.visualization,
    p.status === "ok" ? [p.response.columns, p.response.rows] : p.error,
  ]);
  return createHash("sha256").update(JSON.stringify(shown)).digest("hex").slice(0, 24);
}
