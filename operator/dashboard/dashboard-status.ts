/**
 * What a Dashboard's status says (pure): every panel validated and checked against the namespace's
 * catalogue on its own, so one bad panel is reported with its field paths while the others stay
 * served; Ready=False (InvalidPanels) names the bad ones. Only a fault outside the panels (a missing
 * title, too many panels) refuses the whole dashboard (InvalidSpec).
 */
import type { DashboardPanelStatus, DashboardStatus } from "../../api/v1alpha1/dashboard.js";
import { identifierPattern } from "../../api/v1alpha1/schema-kit.js";
import {
  formatProblems,
  type SpecProblem,
  validateDashboardPanel,
  validateDashboardSpec,
} from "../../api/v1alpha1/validation.js";
import { checkPanel } from "../../contracts/catalogue/check-panel.js";
import type { NamespaceCatalogue } from "../../contracts/catalogue/source-catalogue.js";
import { type DesiredCondition, reasons, setConditions } from "../core/conditions.js";

export interface PanelVerdict {
  readonly name: string;
  /** Empty when the panel can be served. */
  readonly problems: readonly SpecProblem[];
  /** InvalidSpec: the panel breaks the schema; InvalidPanel: its sources cannot answer it. */
  readonly reason: "InvalidSpec" | "InvalidPanel";
}

export type DashboardVerdict =
  | { readonly kind: "invalidSpec"; readonly problems: readonly SpecProblem[] }
  | { readonly kind: "panels"; readonly panels: readonly PanelVerdict[] };

const panelPath = /^spec\.panels\[\d+\]/;

/** A panel's name as the status can hold it, even from a panel the schema refuses. */
function panelName(raw: unknown, index: number): string {
  const name = (raw as { name?: unknown } | null)?.name;
  return typeof name === "string" && new RegExp(identifierPattern).test(name) ? name : `panel_${index}`;
}

export function judgeDashboard(spec: unknown, catalogue: NamespaceCatalogue): DashboardVerdict {
  const whole = validateDashboardSpec(spec);
  const check = (panel: Parameters<typeof checkPanel>[1], at: string): PanelVerdict => ({
    name: panel.name,
    problems: checkPanel(catalogue, panel, at),
    reason: "InvalidPanel",
  });
  if (whole.ok)
    return { kind: "panels", panels: whole.value.panels.map((p, i) => check(p, `spec.panels[${i}]`)) };
  const raw = (spec as { panels?: unknown } | null)?.panels;
  if (!Array.isArray(raw) || whole.problems.some((p) => !panelPath.test(p.path)))
    return { kind: "invalidSpec", problems: whole.problems };
  // Only panels are at fault (e.g. a malformed filter, which the CRD keeps as written): judge each alone.
  return {
    kind: "panels",
    panels: raw.map((panel: unknown, i) => {
      const at = `spec.panels[${i}]`;
      const checked = validateDashboardPanel(panel, at);
      return checked.ok
        ? check(checked.value, at)
        : { name: panelName(panel, i), problems: checked.problems, reason: "InvalidSpec" };
    }),
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function panelStatus(verdict: PanelVerdict): DashboardPanelStatus {
  const [first] = verdict.problems;
  if (first === undefined) return { name: verdict.name, ready: true };
  return {
    name: verdict.name,
    ready: false,
    reason: verdict.reason,
    message: clip(formatProblems(verdict.problems), 4096),
    field: clip(first.path, 512),
  };
}

/** The Ready and Degraded conditions of a verdict, with one message saying what is wrong where. */
function conditionsOf(verdict: DashboardVerdict): DesiredCondition[] {
  if (verdict.kind === "invalidSpec") {
    const message = clip(formatProblems(verdict.problems), 32_768);
    return [
      { type: "Ready", status: "False", reason: reasons.InvalidSpec, message },
      { type: "Degraded", status: "True", reason: reasons.InvalidSpec, message },
    ];
  }
  const bad = verdict.panels.filter((p) => p.problems.length > 0);
  const total = verdict.panels.length;
  if (bad.length === 0) {
    return [
      {
        type: "Ready",
        status: "True",
        reason: reasons.Reconciled,
        message: `all ${total} panels check out against the namespace's sources`,
      },
      { type: "Degraded", status: "False", reason: reasons.Reconciled, message: "" },
    ];
  }
  const served = total - bad.length;
  const message = clip(
    `${bad.length} of ${total} panels are invalid (${bad.map((p) => p.name).join(", ")})${
      served > 0 ? `; the other ${served} are served` : ""
    }: ${bad.map((p) => formatProblems(p.problems)).join("; ")}`,
    32_768,
  );
  return [
    { type: "Ready", status: "False", reason: reasons.InvalidPanels, message },
    { type: "Degraded", status: "True", reason: reasons.InvalidPanels, message },
  ];
}

export function dashboardStatus(
  verdict: DashboardVerdict,
  previous: DashboardStatus | undefined,
  generation: number,
  now: Date,
): DashboardStatus {
  const conditions = setConditions(previous?.conditions, conditionsOf(verdict), generation, now);
  if (verdict.kind === "invalidSpec") return { observedGeneration: generation, conditions };
  const panels = verdict.panels.map(panelStatus);
  return {
    observedGeneration: generation,
    conditions,
    readyPanels: `${panels.filter((p) => p.ready).length}/${panels.length}`,
    panels,
  };
}
