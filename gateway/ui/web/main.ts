/**
 * The web UI's entry: shows the page the address (after #) names, replacing the previous one (whose
 * stream and timers are stopped). Without a token every page but the token page sends there.
 */
import type { Page } from "./app-shell.js";
import { renderDashboardPage } from "./dashboard-page.js";
import { h } from "./dom.js";
import { renderLoginPage } from "./login-page.js";
import { parseRoute, routeHref } from "./page-route.js";
import { renderQueryPage } from "./query-page.js";
import { renderResourcesPage } from "./resources-page.js";
import { tokenOf } from "./session.js";

const root = document.getElementById("app") ?? document.body;
let leave: () => void = () => undefined;

function render(page: Page): () => void {
  switch (page.page) {
    case "login":
      return renderLoginPage(root);
    case "resources":
      return renderResourcesPage(root, page);
    case "dashboard":
      return renderDashboardPage(root, page);
    case "query":
      return renderQueryPage(root, page);
  }
}

function show(): void {
  leave();
  const route = parseRoute(window.location.hash);
  if (route.page === "invalid") {
    root.replaceChildren(
      h(
        "main",
        {},
        h("p", { class: "failure", role: "alert" }, route.message),
        h("a", { href: routeHref({ page: "login" }) }, "Start again"),
      ),
    );
    leave = () => undefined;
    return;
  }
  if (route.page !== "login" && tokenOf() === null) {
    window.location.hash = routeHref({ page: "login" });
    return;
  }
  leave = render(route);
}

window.addEventListener("hashchange", show);
show();
