// Axes, ticks and colour bars for the canvas views (heatmap, per-token curves). They are SVG
// elements with text nodes, so a reader (and a test) finds the numbers and titles as text; the
// data underneath stays on a canvas, which is what keeps 32k tokens × 64 layers fast.

import { svg } from "./dom";

/** About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const step = niceStep(lo, hi, count);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** The 1, 2, 2.5, 5 × 10^k step giving about `count` intervals over [lo, hi]. */
export function niceStep(lo: number, hi: number, count = 5): number {
  const raw = Math.abs(hi - lo) / Math.max(1, count) || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** Round ticks and a domain that reaches out to the ticks just past [lo, hi]. */
export function niceExtent(lo: number, hi: number, count = 4): { ticks: number[]; lo: number; hi: number } {
  const step = niceStep(lo, hi, count);
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = a; v <= b + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { ticks, lo: a, hi: b };
}

/** A tick label: integers as integers, small numbers with enough digits to differ. */
export function tickLabel(v: number, ticks: readonly number[]): string {
  if (Number.isInteger(v) && Math.abs(v) >= 1) return String(v);
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(v) || 1;
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step)) + (step / 10 ** Math.floor(Math.log10(step)) === 2.5 ? 1 : 0)));
  return v.toFixed(digits);
}

export function text(x: number, y: number, s: string, cls: string, anchor = "middle", extra: Record<string, number | string> = {}): SVGTextElement {
  const t = svg("text", { x, y, "text-anchor": anchor, ...extra }, cls);
  t.textContent = s;
  return t;
}

/** A horizontal axis: a line, ticks at `pos(v)`, labels, and a title under them. */
export function bottomAxis(width: number, ticks: readonly number[], pos: (v: number) => number, title: string): SVGSVGElement {
  const H = title ? 34 : 20;
  const root = svg("svg", { width, height: H, viewBox: `0 0 ${width} ${H}` }, "wb-axis wb-axis-x");
  root.appendChild(svg("line", { x1: 0, y1: 0.5, x2: width, y2: 0.5 }, "wb-axis-line"));
  for (const v of ticks) {
    const x = Math.round(pos(v)) + 0.5;
    if (x < -1 || x > width + 1) continue;
    root.appendChild(svg("line", { x1: x, y1: 0, x2: x, y2: 5 }, "wb-axis-line"));
    const anchor = x < 14 ? "start" : x > width - 14 ? "end" : "middle";
    root.appendChild(text(x, 16, tickLabel(v, ticks), "wb-tick", anchor));
  }
  if (title) root.appendChild(text(width / 2, 31, title, "wb-axis-title"));
  return root;
}

/** A vertical axis on the left of a plot `height` px tall: labels right-aligned to the line. */
export function leftAxis(height: number, ticks: readonly number[], pos: (v: number) => number, title: string, width = 46): SVGSVGElement {
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}` }, "wb-axis wb-axis-y");
  root.appendChild(svg("line", { x1: width - 0.5, y1: 0, x2: width - 0.5, y2: height }, "wb-axis-line"));
  for (const v of ticks) {
    const y = Math.round(pos(v)) + 0.5;
    if (y < -1 || y > height + 1) continue;
    root.appendChild(svg("line", { x1: width - 5, y1: y, x2: width, y2: y }, "wb-axis-line"));
    const base = Math.min(height - 2, Math.max(9, y + 4));
    root.appendChild(text(width - 7, base, tickLabel(v, ticks), "wb-tick", "end"));
  }
  root.appendChild(text(10, height / 2, title, "wb-axis-title", "middle", { transform: `rotate(-90 10 ${height / 2})` }));
  return root;
}
