/**
 * The page's address after `#` ↔ which page to show (pure). The namespace, the dashboard and the
 * drill-down steps are in it (so a view can be reloaded or shared); the token never is.
 *   #/                                  → the token page
 *   #/ns/<ns>                           → the namespace's resources and their status
 *   #/ns/<ns>/dashboards/<name>[?drill=…] → a dashboard, optionally drilled down
 *   #/ns/<ns>/query                     → the query builder
 */
import { type DrillStep, decodeDrill, encodeDrill } from "./drill-down.js";

export type PageRoute =
  | { readonly page: "login" }
  | { readonly page: "resources"; readonly namespace: string }
  | {
      readonly page: "dashboard";
      readonly namespace: string;
      readonly name: string;
      readonly drill: readonly DrillStep[];
    }
  | { readonly page: "query"; readonly namespace: string }
  | { readonly page: "invalid"; readonly message: string };

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const objectName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseRoute(hash: string): PageRoute {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?", 2);
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  if (parts.length === 0) return { page: "login" };
  const [root, namespace, section, name] = parts;
  if (root !== "ns" || namespace === undefined) return { page: "invalid", message: `No page at ${path}.` };
  if (!dnsLabel.test(namespace) || namespace.length > 63)
    return { page: "invalid", message: `namespace "${namespace}" is not a DNS label.` };
  if (section === undefined && parts.length === 2) return { page: "resources", namespace };
  if (section === "query" && parts.length === 3) return { page: "query", namespace };
  if (section === "dashboards" && name !== undefined && parts.length === 4) {
    if (!objectName.test(name))
      return { page: "invalid", message: `dashboard "${name}" is not an object name.` };
    const drill = decodeDrill(new URLSearchParams(search).get("drill") ?? "");
    if (!drill.ok) return { page: "invalid", message: drill.message };
    return { page: "dashboard", namespace, name, drill: drill.steps };
  }
  return { page: "invalid", message: `No page at ${path}.` };
}

export function routeHref(route: Exclude<PageRoute, { page: "invalid" }>): string {
  switch (route.page) {
    case "login":
      return "#/";
    case "resources":
      return `#/ns/${encodeURIComponent(route.namespace)}`;
    case "query":
      return `#/ns/${encodeURIComponent(route.namespace)}/query`;
    case "dashboard": {
      const base = `#/ns/${encodeURIComponent(route.namespace)}/dashboards/${encodeURIComponent(route.name)}`;
      const drill = encodeDrill(route.drill);
      return drill === "" ? base : `${base}?${new URLSearchParams({ drill }).toString()}`;
    }
  }
}
