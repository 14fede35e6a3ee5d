/**
 * The live stream's payload (GET /api/v1/namespaces/{ns}/stream): one full snapshot of a dashboard (or
 * of one ad-hoc panel), each panel's answer exactly as POST /query gives it, or its error. One TypeBox
 * source for the gateway, the web UI and the OpenAPI document.
 */
import { type Static, Type } from "@sinclair/typebox";
import { visualizations } from "./dashboard.js";
import { ErrorResponse, QueryResponse } from "./query.js";

const panelCommon = {
  name: Type.String({ description: "The panel's name (`query` for an ad-hoc panel)." }),
  title: Type.Optional(Type.String()),
  visualization: Type.Union(
    visualizations.map((v) => Type.Literal(v)),
    { description: "How the panel is drawn (an ad-hoc panel: table)." },
  ),
};

export const PanelSnapshot = Type.Union(
  [
    Type.Object({ ...panelCommon, status: Type.Literal("ok"), response: QueryResponse }),
    Type.Object({ ...panelCommon, status: Type.Literal("error"), error: ErrorResponse }),
  ],
  { description: "One panel: its answer, or why it has none (the other panels still serve)." },
);
export type PanelSnapshot = Static<typeof PanelSnapshot>;

export const DashboardSnapshot = Type.Object(
  {
    dashboard: Type.Union([Type.String(), Type.Null()], {
      description: "The Dashboard's name; null for an ad-hoc query.",
    }),
    generatedAt: Type.String({ format: "date-time", description: "When the newest panel answer was read." }),
    panels: Type.Array(PanelSnapshot, { description: "In the dashboard's order." }),
  },
  {
    description:
      "The data of an SSE `snapshot` frame: every panel, in full (so a reconnect after any gap misses nothing).",
  },
);
export type DashboardSnapshot = Static<typeof DashboardSnapshot>;
