/**
 * The live stream's snapshot (api/v1alpha1/stream.ts: one frame = every panel's current answer or error)
 * and a structural check of a frame's JSON before the page trusts it (pure).
 */
import type { DashboardSnapshot } from "../../../api/v1alpha1/stream.js";

export type { DashboardSnapshot, PanelSnapshot } from "../../../api/v1alpha1/stream.js";

export type SnapshotParse =
  | { readonly ok: true; readonly snapshot: DashboardSnapshot }
  | { readonly ok: false; readonly message: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function panelProblem(panel: unknown, i: number): string | undefined {
  if (!isObject(panel)) return `panels[${i}] is not an object`;
  if (typeof panel.name !== "string") return `panels[${i}].name is not a string`;
  if (typeof panel.visualization !== "string") return `panels[${i}].visualization is not a string`;
  if (panel.status === "ok") {
    const r = panel.response;
    if (!isObject(r) || !Array.isArray(r.columns) || !Array.isArray(r.rows) || !isObject(r.explain))
      return `panels[${i}].response is not a QueryResponse`;
    return undefined;
  }
  if (panel.status === "error") {
    const e = panel.error;
    if (!isObject(e) || typeof e.message !== "string") return `panels[${i}].error is not an ErrorResponse`;
    return undefined;
  }
  return `panels[${i}].status is neither ok nor error`;
}

export function parseSnapshot(data: string): SnapshotParse {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, message: "the snapshot is not JSON" };
  }
  if (!isObject(value) || !Array.isArray(value.panels))
    return { ok: false, message: "the snapshot has no panels list" };
  for (const [i, panel] of value.panels.entries()) {
    const problem = panelProblem(panel, i);
    if (problem !== undefined) return { ok: false, message: problem };
  }
  return { ok: true, snapshot: value as unknown as DashboardSnapshot };
}
