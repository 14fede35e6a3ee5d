/**
 * Drill-down (pure): each click adds the clicked dimension values as steps; the dashboard's stream is
 * filtered by every step (eq filters ANDed, sent as the stream's `filter`), and the breadcrumb goes back
 * to any earlier step. The steps live in the page's address (after #), so back/forward and reload keep
 * them; that text is user-editable, so it is checked when read.
 */
import type { QueryFilter } from "../../../api/v1alpha1/query.js";
import type { DrillKey } from "./chart-series.js";

export type DrillStep = DrillKey;

/** The steps plus a click's values: a field already drilled keeps its step (its value is the only one left). */
export function addDrillSteps(steps: readonly DrillStep[], key: readonly DrillKey[]): DrillStep[] {
  const drilled = new Set(steps.map((s) => s.field));
  return [...steps, ...key.filter((k) => !drilled.has(k.field))];
}

/** The stream's filter for the steps: one eq, or the eqs ANDed; none without steps. */
export function drillFilter(steps: readonly DrillStep[]): QueryFilter | undefined {
  const leaves = steps.map((s): QueryFilter => ({ op: "eq", field: s.field, value: s.value }));
  if (leaves.length === 0) return undefined;
  return leaves.length === 1 ? leaves[0] : { op: "and", filters: leaves };
}

export function encodeDrill(steps: readonly DrillStep[]): string {
  return steps.length === 0 ? "" : JSON.stringify(steps.map((s) => [s.field, s.value]));
}

export type DrillDecoding =
  | { readonly ok: true; readonly steps: DrillStep[] }
  | { readonly ok: false; readonly message: string };

const fieldPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function decodeDrill(text: string): DrillDecoding {
  if (text === "") return { ok: true, steps: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, message: "drill: not JSON" };
  }
  if (!Array.isArray(parsed)) return { ok: false, message: "drill: must be a list of [field, value] pairs" };
  const steps: DrillStep[] = [];
  for (const [i, pair] of parsed.entries()) {
    const [field, value] = Array.isArray(pair) ? (pair as unknown[]) : [];
    if (typeof field !== "string" || !fieldPattern.test(field))
      return { ok: false, message: `drill[${i}]: the field must be a field name` };
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
      return { ok: false, message: `drill[${i}]: the value must be a string, number or boolean` };
    steps.push({ field, value });
  }
  return { ok: true, steps };
}
