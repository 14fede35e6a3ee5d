/**
 * The status page: the namespace's Pipelines, Rollups, AlertRules and Dashboards, each with the status
 * fields kubectl shows and its conditions as `kubectl describe` lists them (type, status, reason,
 * message, since); a dashboard's panels with what is wrong with each. Kinds the gateway could not list
 * are said so. Reloaded every 10 s while open.
 */
import type { ResourceSummary, ResourcesResponse } from "../resources-response.js";
import { api } from "./api-client.js";
import { handleRefusedToken, header } from "./app-shell.js";
import { h, replaceContent, since } from "./dom.js";
import { failureView, loadingView } from "./failure-view.js";
import { routeHref } from "./page-route.js";

const kindTitles = {
  Pipeline: "Pipelines",
  Rollup: "Rollups",
  AlertRule: "Alert rules",
  Dashboard: "Dashboards",
} as const;

function conditionsTable(resource: ResourceSummary, now: number): HTMLElement {
  if (resource.conditions.length === 0)
    return h("p", { class: "muted" }, "No conditions yet (not reconciled).");
  return h(
    "table",
    { class: "conditions" },
    h(
      "thead",
      {},
      h("tr", {}, ...["Type", "Status", "Reason", "Message", "Since"].map((c) => h("th", {}, c))),
    ),
    h(
      "tbody",
      {},
      ...resource.conditions.map((c) =>
        h(
          "tr",
          { "data-condition": c.type },
          h("td", {}, c.type),
          h("td", { class: `status-${c.status}` }, c.status),
          h("td", {}, c.reason),
          h("td", { class: "message" }, c.message),
          h("td", { title: c.since ?? "" }, c.since === undefined ? "—" : since(c.since, now)),
        ),
      ),
    ),
  );
}

function panelsTable(resource: ResourceSummary): HTMLElement | null {
  if (resource.panels === undefined || resource.panels.length === 0) return null;
  return h(
    "table",
    { class: "panels-status" },
    h(
      "thead",
      {},
      h("tr", {}, ...["Panel", "Ready", "Reason", "Field", "Message"].map((c) => h("th", {}, c))),
    ),
    h(
      "tbody",
      {},
      ...resource.panels.map((p) =>
        h(
          "tr",
          {},
          h("td", {}, p.name),
          h("td", { class: p.ready ? "status-True" : "status-False" }, p.ready ? "yes" : "no"),
          h("td", {}, p.reason ?? ""),
          h("td", {}, p.field ?? ""),
          h("td", { class: "message" }, p.message ?? ""),
        ),
      ),
    ),
  );
}

function resourceCard(namespace: string, resource: ResourceSummary, now: number): HTMLElement {
  const name =
    resource.kind === "Dashboard"
      ? h(
          "a",
          { href: routeHref({ page: "dashboard", namespace, name: resource.name, drill: [] }) },
          resource.name,
        )
      : resource.name;
  return h(
    "section",
    { class: "resource", "data-kind": resource.kind, "data-name": resource.name },
    h(
      "h3",
      {},
      name,
      resource.title === undefined ? null : h("span", { class: "muted" }, ` ${resource.title}`),
      h(
        "span",
        { class: `badge status-${resource.ready}`, "data-testid": "ready" },
        `Ready: ${resource.ready}`,
      ),
      resource.stale ? h("span", { class: "badge muted" }, "status behind spec") : null,
    ),
    h(
      "dl",
      {},
      ...resource.details.flatMap((d) => [h("dt", {}, d.name), h("dd", {}, d.value)]),
      ...(resource.created === undefined
        ? []
        : [h("dt", {}, "Age"), h("dd", { title: resource.created }, since(resource.created, now))]),
    ),
    conditionsTable(resource, now),
    panelsTable(resource),
  );
}

function render(answer: ResourcesResponse, now: number): HTMLElement[] {
  const sections = (Object.keys(kindTitles) as (keyof typeof kindTitles)[]).map((kind) => {
    const ofKind = answer.resources.filter((r) => r.kind === kind);
    return h(
      "section",
      { class: "kind", "data-kind": kind },
      h("h2", {}, `${kindTitles[kind]} (${ofKind.length})`),
      ofKind.length === 0 ? h("p", { class: "muted" }, "None.") : null,
      ...ofKind.map((r) => resourceCard(answer.namespace, r, now)),
    );
  });
  const unavailable = answer.unavailable.map((u) =>
    failureView({ status: 0, headline: `${kindTitles[u.kind]} not shown`, message: u.message }),
  );
  return [...unavailable, ...sections];
}

export function renderResourcesPage(container: HTMLElement, route: { namespace: string }): () => void {
  const body = h(
    "main",
    { "data-testid": "resources-page" },
    loadingView(`the resources of ${route.namespace}`),
  );
  container.replaceChildren(header(route.namespace), body);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const load = async () => {
    const answer = await api.get<ResourcesResponse>(route.namespace, "resources");
    if (stopped) return;
    if (!answer.ok) {
      if (handleRefusedToken(answer.failure)) return;
      replaceContent(body, failureView(answer.failure, `Resources of ${route.namespace}`));
    } else
      replaceContent(body, h("h1", {}, `Namespace ${route.namespace}`), ...render(answer.value, Date.now()));
    timer = setTimeout(() => void load(), 10_000);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
