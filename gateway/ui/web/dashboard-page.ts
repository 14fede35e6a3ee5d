/**
 * A dashboard, live: its panels over the gateway's stream (one connection for all of them), updated
 * in place on each snapshot. Drilled down, the stream carries the steps' filter and a breadcrumb leads
 * back to each earlier step. The connection's state is shown (connecting, live, reconnecting and why,
 * stopped and why); a refused token goes back to the token page.
 */
import { failureText } from "./api-failure.js";
import { handleRefusedToken, header, navigate } from "./app-shell.js";
import type { DrillKey } from "./chart-series.js";
import type { DashboardSnapshot } from "./dashboard-snapshot.js";
import { h, onClick, replaceContent } from "./dom.js";
import { addDrillSteps, type DrillStep, drillFilter } from "./drill-down.js";
import { failureView } from "./failure-view.js";
import { openLiveStream, type StreamState } from "./live-stream.js";
import { routeHref } from "./page-route.js";
import { PanelView } from "./panel-view.js";

interface DashboardRoute {
  readonly namespace: string;
  readonly name: string;
  readonly drill: readonly DrillStep[];
}

function breadcrumb(route: DashboardRoute): HTMLElement {
  const at = (drill: readonly DrillStep[]) =>
    routeHref({ page: "dashboard", namespace: route.namespace, name: route.name, drill });
  const crumbs: HTMLElement[] = [
    route.drill.length === 0
      ? h("span", { "aria-current": "page" }, route.name)
      : h("a", { href: at([]), "data-testid": "crumb" }, route.name),
  ];
  route.drill.forEach((step, i) => {
    const label = `${step.field} = ${String(step.value)}`;
    crumbs.push(
      i === route.drill.length - 1
        ? h("span", { "aria-current": "page", "data-testid": "crumb-current" }, label)
        : h("a", { href: at(route.drill.slice(0, i + 1)), "data-testid": "crumb" }, label),
    );
  });
  return h(
    "nav",
    { class: "breadcrumb", "data-testid": "breadcrumb" },
    h("a", { href: routeHref({ page: "resources", namespace: route.namespace }) }, "Dashboards"),
    ...crumbs.flatMap((c) => [" › ", c]),
  );
}

function stateText(state: StreamState): string {
  switch (state.kind) {
    case "connecting":
      return "Connecting…";
    case "live":
      return `Live · last message ${new Date(state.lastFrameAt).toLocaleTimeString()}`;
    case "retrying":
      return `Reconnecting in ${Math.round(state.inMs / 1000)} s: ${failureText(state.failure)}`;
    case "faulted":
      return `Connected; the dashboard cannot be served: ${failureText(state.failure)}`;
    case "stopped":
      return `Stopped: ${failureText(state.failure)}`;
  }
}

export function streamPath(route: DashboardRoute): string {
  const params = new URLSearchParams({ dashboard: route.name });
  const filter = drillFilter(route.drill);
  if (filter !== undefined) params.set("filter", JSON.stringify(filter));
  return `/api/v1/namespaces/${encodeURIComponent(route.namespace)}/stream?${params.toString()}`;
}

export function renderDashboardPage(container: HTMLElement, route: DashboardRoute): () => void {
  const status = h(
    "p",
    { class: "stream-state", role: "status", "data-testid": "stream-state" },
    "Connecting…",
  );
  const problem = h("div", {});
  const grid = h("div", { class: "panels", "data-testid": "panels" });
  const generated = h("span", { class: "muted", "data-testid": "generated-at" });
  const title = h("h1", {}, route.name);
  container.replaceChildren(
    header(route.namespace),
    h(
      "main",
      { "data-testid": "dashboard-page" },
      breadcrumb(route),
      title,
      h("div", { class: "toolbar" }, status, generated),
      problem,
      grid,
    ),
  );
  if (route.drill.length > 0)
    title.append(
      " ",
      onClick(
        h("button", { type: "button", class: "link", "data-testid": "clear-drill" }, "clear filter"),
        () => navigate({ page: "dashboard", namespace: route.namespace, name: route.name, drill: [] }),
      ),
    );

  const views = new Map<string, PanelView>();
  const drill = (key: readonly DrillKey[]) =>
    navigate({
      page: "dashboard",
      namespace: route.namespace,
      name: route.name,
      drill: addDrillSteps(route.drill, key),
    });
  const onSnapshot = (snapshot: DashboardSnapshot) => {
    replaceContent(problem);
    generated.textContent = ` · answers of ${new Date(snapshot.generatedAt).toLocaleTimeString()}`;
    const seen = new Set<string>();
    for (const panel of snapshot.panels) {
      seen.add(panel.name);
      let view = views.get(panel.name);
      if (view === undefined) {
        view = new PanelView(route.name, panel.name, drill);
        views.set(panel.name, view);
      }
      grid.append(view.element); // in the snapshot's order
      view.update(panel);
    }
    for (const [name, view] of views)
      if (!seen.has(name)) {
        view.destroy();
        view.element.remove();
        views.delete(name);
      }
  };
  const stream = openLiveStream(streamPath(route), {
    onSnapshot,
    onState(state) {
      status.textContent = stateText(state);
      status.dataset.state = state.kind;
      if (state.kind === "faulted")
        replaceContent(problem, failureView(state.failure, `Dashboard ${route.name}`));
      if (state.kind === "stopped") {
        if (handleRefusedToken(state.failure)) return;
        replaceContent(problem, failureView(state.failure, `Dashboard ${route.name}`));
      }
    },
  });
  return () => {
    stream.close();
    for (const view of views.values()) view.destroy();
  };
}
