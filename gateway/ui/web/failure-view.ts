/** A refusal or failure on the page: headline, message and the field at fault, in an alert box. */
import type { ApiFailure } from "./api-failure.js";
import { h } from "./dom.js";

export function failureView(failure: ApiFailure, context?: string): HTMLElement {
  return h(
    "div",
    { class: "failure", role: "alert", "data-status": failure.status },
    h("strong", {}, context === undefined ? failure.headline : `${context}: ${failure.headline}`),
    h("span", { class: "failure-message" }, ` ${failure.message}`),
    failure.field === undefined ? null : h("span", { class: "failure-field" }, ` (field: ${failure.field})`),
  );
}

export function loadingView(what: string): HTMLElement {
  return h("div", { class: "loading", role: "status" }, `Loading ${what}…`);
}
