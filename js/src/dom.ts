// Safe DOM construction. Every string that comes from data (model output, prompts, files,
// annotations) goes into the page through textContent or a plain-text attribute (title,
// aria-label, placeholder, value): never innerHTML, never an href, never a style string.

export interface Attrs {
  class?: string;
  text?: string;
  title?: string;
  role?: string;
  label?: string; // aria-label
  tabindex?: number;
  type?: string; // for <button>/<input>: "button", "text"
  placeholder?: string;
  value?: string;
  disabled?: boolean;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  children: (Node | null | undefined)[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs.class) el.className = attrs.class;
  if (attrs.text !== undefined) el.textContent = attrs.text;
  if (attrs.title !== undefined) el.title = attrs.title;
  if (attrs.role) el.setAttribute("role", attrs.role);
  if (attrs.label !== undefined) el.setAttribute("aria-label", attrs.label);
  if (attrs.tabindex !== undefined) el.tabIndex = attrs.tabindex;
  if (attrs.type !== undefined) (el as HTMLInputElement).type = attrs.type;
  if (attrs.placeholder !== undefined) (el as HTMLInputElement).placeholder = attrs.placeholder;
  if (attrs.value !== undefined) (el as HTMLInputElement).value = attrs.value;
  if (attrs.disabled !== undefined) (el as HTMLButtonElement).disabled = attrs.disabled;
  for (const child of children) if (child) el.appendChild(child);
  return el;
}

export function button(text: string, title: string, onClick: () => void, cls = ""): HTMLButtonElement {
  const b = h("button", { class: `wb-btn ${cls}`.trim(), text, title, type: "button" });
  b.addEventListener("click", (ev) => {
    ev.stopPropagation();
    onClick();
  });
  return b;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with numeric geometry (or our own constant strings) only. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  geometry: Record<string, number | string> = {},
  cls = "",
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(geometry)) el.setAttribute(k, String(v));
  if (cls) el.setAttribute("class", cls);
  return el;
}

export const N_COLOURS = 12;

/** The pattern colours of the classes wb-c0..wb-c11 (styles.css), then grey for unlabelled. */
export const PALETTE: readonly string[] = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#b0b0b0",
];

/** Colour class index of a pattern label: its place in the taxonomy, or a stable hash. */
export function colourIndex(label: string | null, labels: readonly string[]): number {
  if (label === null) return -1;
  const i = labels.indexOf(label);
  if (i >= 0) return i % N_COLOURS;
  let hash = 0;
  for (let k = 0; k < label.length; k++) hash = (hash * 31 + label.charCodeAt(k)) | 0;
  return Math.abs(hash) % N_COLOURS;
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

export function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

/** Lower bound: the first index i with key(i) >= x in a sorted sequence of n items. */
export function lowerBound(n: number, key: (i: number) => number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(mid) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
