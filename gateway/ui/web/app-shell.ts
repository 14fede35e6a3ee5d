/**
 * What every page shares: the header (where you are, the namespace's pages, sign out), navigation by
 * the address after #, and what a refused token does anywhere (back to the token page, saying why).
 */
import { type ApiFailure, failureText } from "./api-failure.js";
import { h, onClick } from "./dom.js";
import { type PageRoute, routeHref } from "./page-route.js";
import { signOut } from "./session.js";

export type Page = Exclude<PageRoute, { page: "invalid" }>;
/** Renders a page into its container; returns what to undo when the page is left. */
export type PageView = (container: HTMLElement, route: never) => () => void;

export function navigate(route: Page): void {
  window.location.hash = routeHref(route);
}

/** A 401 on any call: the token is dropped and the token page shows the refusal. */
export function handleRefusedToken(failure: ApiFailure): boolean {
  if (failure.status !== 401) return false;
  signOut(failureText(failure));
  navigate({ page: "login" });
  return true;
}

export function header(namespace: string | undefined): HTMLElement {
  const links =
    namespace === undefined
      ? []
      : [
          h(
            "a",
            { href: routeHref({ page: "resources", namespace }), "data-testid": "nav-resources" },
            "Resources",
          ),
          h("a", { href: routeHref({ page: "query", namespace }), "data-testid": "nav-query" }, "Query"),
        ];
  const out = onClick(
    h("button", { type: "button", class: "link", "data-testid": "sign-out" }, "Sign out"),
    () => {
      signOut();
      navigate({ page: "login" });
    },
  );
  return h(
    "header",
    { class: "shell" },
    h("a", { class: "brand", href: routeHref({ page: "login" }) }, "Tally"),
    namespace === undefined ? null : h("span", { class: "namespace", "data-testid": "namespace" }, namespace),
    h("nav", {}, ...links),
    out,
  );
}
