// The importance strip under a LiveTrace column's thinking: one bar per measured segment in
// thinking order, its height the measure (signed Δp around a zero line, or a KL), coloured by the
// segment's pattern, whiskers for the interval, faded where the Δp interval includes 0. Hover a
// bar: its numbers and text (as text, never HTML) and the segment highlighted in the trace; click:
// the trace goes to it. The trace's hover marks the bar of the segment under the pointer.

import type { ImportanceBar, ImportanceMsg } from "./protocol.generated";
import { leftAxis, niceTicks, text } from "./axes";
import { clear, colourIndex, h, setText, svg } from "./dom";

const HEIGHT = 130;
const AXIS_W = 52;
const PAD = 6;

export interface StripHooks {
  labels: () => readonly string[];
  /** The pointer is over a bar (null: it left the strip). */
  hover: (bar: ImportanceBar | null) => void;
  /** A bar was clicked. */
  pick: (bar: ImportanceBar) => void;
}

function signed(v: number, delta: boolean): string {
  const s = v.toFixed(2);
  return delta && v > 0 ? `+${s}` : s;
}

export class ImportanceStrip {
  readonly el: HTMLElement;
  private msg: ImportanceMsg | null = null;
  private yBox: HTMLElement;
  private plotBox: HTMLElement;
  private plot: SVGSVGElement;
  private xBox: HTMLElement;
  private tip: HTMLElement;
  private legendBox: HTMLElement;
  private rects: SVGRectElement[] = [];
  private width = 0;
  private band = 1;
  private hot = -1;
  private selected = -1;
  private pointer = -1;

  constructor(private hooks: StripHooks) {
    this.yBox = h("div", { class: "wb-imp-y" });
    this.plot = svg("svg", { height: HEIGHT }, "wb-imp-plot");
    this.plot.setAttribute("role", "img");
    this.xBox = h("div", { class: "wb-imp-x" });
    this.tip = h("div", { class: "wb-imp-tip", role: "tooltip" });
    this.plotBox = h("div", { class: "wb-imp-area" }, [this.plot, this.xBox, this.tip]);
    this.legendBox = h("div", { class: "wb-imp-legend" });
    this.el = h("div", { class: "wb-imp", title: "" }, [
      h("div", { class: "wb-pane-label", text: "importance per segment" }),
      h("div", { class: "wb-imp-grid" }, [this.yBox, this.plotBox]),
      this.legendBox,
    ]);
    this.el.style.display = "none";
    this.plot.addEventListener("mousemove", (ev) => this.move(ev));
    this.plot.addEventListener("mouseleave", () => this.leave());
    this.plot.addEventListener("click", (ev) => {
      const i = this.at(ev);
      const bar = this.msg?.bars[i];
      if (!bar) return;
      this.select(i);
      this.hooks.pick(bar);
    });
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => {
        const w = this.plotBox.clientWidth;
        if (w > 0 && w !== this.width) this.draw();
      }).observe(this.plotBox);
    }
  }

  /** Show a result (no bars: hide the strip). */
  set(msg: ImportanceMsg): void {
    this.msg = msg.bars.length ? msg : null;
    this.selected = -1;
    this.hot = -1;
    this.pointer = -1;
    this.el.style.display = this.msg ? "" : "none";
    this.renderLegend();
    this.draw();
  }

  /** The selected bar (a click), to restore the trace's highlight after a hover. */
  selectedBar(): ImportanceBar | null {
    return (this.selected >= 0 && this.msg?.bars[this.selected]) || null;
  }

  /** Mark the bar of the segment holding raw character `pos` (null: none), from the trace. */
  hoverChar(pos: number | null): void {
    const bars = this.msg?.bars ?? [];
    const i = pos === null ? -1 : bars.findIndex((b) => b.start <= pos && pos < b.end);
    if (i === this.hot) return;
    this.rects[this.hot]?.classList.remove("wb-imp-hot");
    this.hot = i;
    this.rects[i]?.classList.add("wb-imp-hot");
  }

  private select(i: number): void {
    this.rects[this.selected]?.classList.remove("wb-imp-selected");
    this.selected = i;
    this.rects[i]?.classList.add("wb-imp-selected");
  }

  private at(ev: MouseEvent): number {
    const n = this.msg?.bars.length ?? 0;
    const x = ev.clientX - this.plot.getBoundingClientRect().left;
    const i = Math.floor(x / this.band);
    return i >= 0 && i < n ? i : -1;
  }

  private move(ev: MouseEvent): void {
    const i = this.at(ev);
    if (i === this.pointer) return;
    this.pointer = i;
    const bar = i >= 0 ? this.msg?.bars[i] : undefined;
    if (!bar) {
      this.leave();
      return;
    }
    this.hoverChar(bar.start);
    this.showTip(bar, i);
    this.hooks.hover(bar);
  }

  private leave(): void {
    this.pointer = -1;
    this.tip.style.display = "none";
    this.hoverChar(null);
    this.hooks.hover(null);
  }

  private showTip(bar: ImportanceBar, i: number): void {
    const m = this.msg;
    if (!m) return;
    const delta = m.measure.endsWith("delta");
    clear(this.tip);
    const line = (s: string, cls = "") => this.tip.appendChild(h("div", { class: cls, text: s }));
    line(`#${bar.index} · ${bar.label ?? "unlabelled"}`, "wb-imp-tip-head");
    if (bar.value === null) line(`${m.axis}: not measured (too few different resamples)`);
    else {
      const ci = bar.lo !== null && bar.hi !== null ? `  [${m.interval} ${signed(bar.lo, delta)}, ${signed(bar.hi, delta)}]` : "";
      line(`${m.axis} ${signed(bar.value, delta)}${ci}`);
    }
    line(`p(correct) kept ${bar.p_keep.toFixed(2)} (n ${bar.n_keep}) · dropped ${bar.p_drop.toFixed(2)} (n ${bar.n_drop})`);
    line(bar.significant ? "Δp interval excludes 0" : "Δp interval includes 0 (faded)", "wb-imp-tip-note");
    line(`“${bar.preview}”`, "wb-imp-tip-text");
    this.tip.style.display = "block";
    const W = this.plotBox.clientWidth;
    const tw = Math.min(this.tip.offsetWidth, W);
    const cx = (i + 0.5) * this.band;
    const left = cx + 12 + tw <= W ? cx + 12 : Math.max(0, cx - 12 - tw);
    this.tip.style.left = `${Math.round(left)}px`;
  }

  private renderLegend(): void {
    clear(this.legendBox);
    const m = this.msg;
    if (!m) return;
    const item = (key: HTMLElement, s: string) => h("span", { class: "wb-legend-item" }, [key, h("span", { text: s })]);
    this.legendBox.appendChild(item(h("span", { class: "wb-imp-key" }), "Δp interval excludes 0"));
    this.legendBox.appendChild(item(h("span", { class: "wb-imp-key wb-imp-key-faded" }), m.faded));
    if (m.interval) this.legendBox.appendChild(item(h("span", { class: "wb-imp-whisker" }), `whiskers: ${m.interval}`));
    this.legendBox.appendChild(h("span", { class: "wb-imp-caption", text: m.caption }));
  }

  draw(): void {
    const m = this.msg;
    clear(this.plot);
    clear(this.yBox);
    clear(this.xBox);
    this.rects = [];
    if (!m) return;
    const W = this.plotBox.clientWidth || 300;
    this.width = W;
    this.plot.setAttribute("width", String(W));
    this.plot.setAttribute("viewBox", `0 0 ${W} ${HEIGHT}`);
    this.plot.setAttribute("aria-label", `${m.axis} per segment, ${m.bars.length} segments`);
    const delta = m.measure.endsWith("delta");
    let lo = 0;
    let hi = 0;
    for (const b of m.bars) {
      for (const v of [b.value, b.lo, b.hi]) {
        if (v === null) continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (hi - lo < 0.1) [lo, hi] = delta ? [Math.min(lo, -0.1), Math.max(hi, 0.1)] : [0, Math.max(hi, 0.1)];
    const pad = (hi - lo) * 0.04;
    const [dlo, dhi] = [lo < 0 ? lo - pad : 0, hi + pad];
    const ticks = niceTicks(dlo, dhi, 4);
    const y = (v: number) => PAD + ((dhi - v) / Math.max(1e-9, dhi - dlo)) * (HEIGHT - 2 * PAD);
    this.yBox.appendChild(leftAxis(HEIGHT, ticks, y, m.axis, AXIS_W));
    for (const t of ticks) {
      const yy = Math.round(y(t)) + 0.5;
      this.plot.appendChild(svg("line", { x1: 0, y1: yy, x2: W, y2: yy }, t === 0 ? "wb-imp-zero" : "wb-imp-grid-line"));
    }
    const n = m.bars.length;
    this.band = W / n;
    const bw = Math.max(1, Math.min(28, this.band * 0.72));
    const labels = this.hooks.labels();
    m.bars.forEach((b, i) => {
      const cx = (i + 0.5) * this.band;
      const x = cx - bw / 2;
      const c = colourIndex(b.label, labels);
      let cls = `wb-imp-bar ${c >= 0 ? `wb-c${c}` : "wb-imp-none"}`;
      if (!b.significant) cls += " wb-imp-faded";
      let rect: SVGRectElement;
      if (b.value === null) {
        rect = svg("rect", { x, y: y(0) - 3, width: bw, height: 6 }, `${cls} wb-imp-na`);
      } else {
        const top = y(Math.max(0, b.value));
        const height = Math.max(1, y(Math.min(0, b.value)) - top);
        rect = svg("rect", { x, y: top, width: bw, height }, cls);
      }
      rect.dataset.index = String(i);
      rect.dataset.segment = String(b.index);
      if (i === this.hot) rect.classList.add("wb-imp-hot");
      if (i === this.selected) rect.classList.add("wb-imp-selected");
      this.plot.appendChild(rect);
      this.rects.push(rect);
      if (b.value !== null && b.lo !== null && b.hi !== null) {
        const [y1, y2] = [y(b.hi), y(b.lo)];
        this.plot.appendChild(svg("line", { x1: cx, y1, x2: cx, y2 }, "wb-imp-ci"));
        if (this.band >= 5) {
          const cap = Math.min(bw, 8) / 2;
          for (const yy of [y1, y2]) this.plot.appendChild(svg("line", { x1: cx - cap, y1: yy, x2: cx + cap, y2: yy }, "wb-imp-ci"));
        }
      }
    });
    // x axis: segment numbers, as many as fit 36 px apart
    const axis = svg("svg", { width: W, height: 34, viewBox: `0 0 ${W} 34` }, "wb-axis wb-axis-x");
    axis.appendChild(svg("line", { x1: 0, y1: 0.5, x2: W, y2: 0.5 }, "wb-axis-line"));
    const every = Math.max(1, Math.ceil(36 / this.band));
    for (let i = 0; i < n; i += every) {
      const x = Math.round((i + 0.5) * this.band) + 0.5;
      axis.appendChild(svg("line", { x1: x, y1: 0, x2: x, y2: 4 }, "wb-axis-line"));
      const anchor = x < 12 ? "start" : x > W - 12 ? "end" : "middle";
      axis.appendChild(text(x, 15, `#${m.bars[i].index}`, "wb-tick", anchor));
    }
    axis.appendChild(text(W / 2, 31, "segment, in thinking order", "wb-axis-title"));
    this.xBox.appendChild(axis);
    setText(this.tip, "");
    this.tip.style.display = "none";
  }
}
