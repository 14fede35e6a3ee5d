/**
 * What the tracker records without being asked: a page view on load and on every in-page navigation
 * (history.pushState, replaceState to another URL, the back and forward buttons), and a click on any
 * element marked `data-tally-event="<name>"` (or inside one), with its `data-tally-*` attributes as
 * properties. Each returns a function that undoes it.
 */
import { type JsonValue, propertiesOfAttributes } from "./event-shape.js";

export function capturePageViews(record: (url: string) => void): () => void {
  let last: string | undefined;
  const view = () => {
    const url = window.location.href;
    if (url === last) return; // a pushState to the page already shown is not a new view
    last = url;
    record(url);
  };
  const { pushState, replaceState } = window.history;
  // Patched on the instance, so the page's own calls (and a router's) are seen; the originals still run.
  window.history.pushState = function (this: History, ...args: Parameters<History["pushState"]>) {
    pushState.apply(this, args);
    view();
  };
  window.history.replaceState = function (this: History, ...args: Parameters<History["replaceState"]>) {
    replaceState.apply(this, args);
    view();
  };
  window.addEventListener("popstate", view);
  view();
  return () => {
    window.history.pushState = pushState;
    window.history.replaceState = replaceState;
    window.removeEventListener("popstate", view);
  };
}

export function captureMarkedClicks(
  record: (name: string, properties: Record<string, JsonValue>) => void,
): () => void {
  const onClick = (event: MouseEvent) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const marked = target.closest("[data-tally-event]");
    const name = marked?.getAttribute("data-tally-event");
    if (marked === null || name === null || name === undefined || name === "") return;
    record(name, propertiesOfAttributes(Array.from(marked.attributes)));
  };
  // Capture phase: seen even when the page stops the click's propagation.
  document.addEventListener("click", onClick, true);
  return () => document.removeEventListener("click", onClick, true);
}
