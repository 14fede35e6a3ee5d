/**
 * Building the page's elements. Text goes in as text nodes and attributes through setAttribute, never
 * as HTML: every value shown (dimension values, messages) may come from events anyone could send.
 */
export type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "number" ? String(child) : child);
  }
}

/** Replaces an element's content. */
export function replaceContent(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

export function onClick<E extends HTMLElement>(element: E, handler: (event: MouseEvent) => void): E {
  element.addEventListener("click", handler);
  return element;
}

const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

/** A number as the page shows it (grouped, at most 3 decimals); a missing value as an em dash. */
export function formatNumber(value: number | null): string {
  return value === null ? "—" : numberFormat.format(value);
}

/** "5 min ago" for an ISO instant, against now. */
export function since(iso: string, nowMs: number): string {
  const ms = nowMs - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}
