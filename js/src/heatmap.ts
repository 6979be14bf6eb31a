// ConstraintHeatmap: where a trace's attention to the instruction's constraints goes.
// Two views: layer × token (columns may bin several tokens) and segment × constraint. The cells
// are a canvas (32k tokens × 64 layers stay fast); the axes, the colour bar with its numeric
// scale, the thinking/answer boundary and the segment labels are SVG text. Hover shows the token
// text, layer, constraint and value; a click scrolls the linked trace there and a drag over a
// token range highlights that range in the trace.

import type { HeatmapMsg } from "./protocol.generated";
import { bottomAxis, leftAxis, niceTicks, text, tickLabel } from "./axes";
import { Channel, float32, type Model } from "./channel";
import { FigureExport } from "./charts";
import { clear, clip, colourIndex, h, setText, svg } from "./dom";

// viridis, 9 stops
const RAMP: [number, number, number][] = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [253, 231, 37],
];

export function colour(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i];
  const b = RAMP[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

const AXIS_W = 46;
const BAR_W = 78;
const SEG_LABEL_W = 170;

/** A vertical colour bar for [0, max] with its ticks and title. */
function colourBar(height: number, max: number, title: string): HTMLElement {
  const ramp = h("canvas", { class: "wb-cbar-ramp" });
  ramp.width = 1;
  ramp.height = 256;
  const ctx = ramp.getContext("2d");
  if (ctx) {
    const img = ctx.createImageData(1, 256);
    for (let y = 0; y < 256; y++) {
      const [r, g, b] = colour(1 - y / 255);
      img.data.set([r, g, b, 255], y * 4);
    }
    ctx.putImageData(img, 0, 0);
  }
  ramp.style.height = `${height}px`;
  const ticks = max > 0 ? niceTicks(0, max, Math.max(2, Math.floor(height / 40))) : [0];
  const axis = svg("svg", { width: BAR_W - 14, height, viewBox: `0 0 ${BAR_W - 14} ${height}` }, "wb-axis");
  for (const v of ticks) {
    const y = max > 0 ? Math.round(height - (v / max) * height) + 0.5 : height - 0.5;
    axis.appendChild(svg("line", { x1: 0, y1: y, x2: 4, y2: y }, "wb-axis-line"));
    axis.appendChild(text(6, Math.min(height - 2, Math.max(9, y + 4)), tickLabel(v, ticks), "wb-tick", "start"));
  }
  axis.appendChild(text(BAR_W - 20, height / 2, title, "wb-axis-title", "middle", { transform: `rotate(-90 ${BAR_W - 20} ${height / 2})` }));
  return h("div", { class: "wb-cbar", title: `colour scale: ${title}, 0 to ${max.toPrecision(3)}` }, [ramp, axis]);
}

export class HeatmapView {
  readonly root: HTMLElement;
  private data: HeatmapMsg | null = null;
  private mass: Float32Array | null = null;
  private segMass: Float32Array | null = null;
  private canvas: HTMLCanvasElement;
  private plot: HTMLElement;
  private scroller: HTMLElement;
  private readout: HTMLElement;
  private tip: HTMLElement;
  private brushEl: HTMLElement;
  private modeSel: HTMLSelectElement;
  private consSel: HTMLSelectElement;
  private header: HTMLElement;
  private titleEl: HTMLElement;
  private cell = { w: 2, h: 8 };
  private group = 1;
  private drag: { x0: number; col0: number } | null = null;

  constructor(private ch: Channel, private model: Model) {
    this.modeSel = h("select", { class: "wb-select", label: "heatmap view" });
    this.modeSel.appendChild(h("option", { text: "layer × token", value: "tokens" }));
    this.modeSel.appendChild(h("option", { text: "segment × constraint", value: "segments" }));
    this.modeSel.value = String(model.get("mode") ?? "tokens");
    this.consSel = h("select", { class: "wb-select", label: "constraint" });
    this.modeSel.addEventListener("change", () => {
      this.model.set("mode", this.modeSel.value);
      this.model.save_changes();
      this.draw();
    });
    this.consSel.addEventListener("change", () => this.draw());
    this.canvas = h("canvas", { class: "wb-heat-canvas" });
    this.brushEl = h("div", { class: "wb-brush" });
    this.tip = h("div", { class: "wb-tip", role: "tooltip" });
    this.scroller = h("div", { class: "wb-heat-scroll" });
    this.plot = h("div", { class: "wb-heat-plot" });
    this.readout = h("div", { class: "wb-readout", role: "status", text: "hover the map; drag over tokens to highlight them in the trace" });
    this.header = h("span", { class: "wb-heat-head" });
    this.titleEl = h("div", { class: "wb-chart-title" });
    const figures = new FigureExport(ch, model);
    const save = figures.buttons(
      () => ({ sample: 0, mode: this.modeSel.value, constraint: this.modeSel.value === "segments" ? -1 : this.constraint() }),
      "this map",
    );
    this.root = h("div", { class: "wb-heat" }, [
      h("div", { class: "wb-toolbar" }, [this.modeSel, this.consSel, this.header, save]),
      this.titleEl,
      this.plot,
      this.readout,
      ch.errorEl,
    ]);
    this.canvas.addEventListener("mousemove", (ev) => this.hover(ev));
    this.canvas.addEventListener("mouseleave", () => { this.tip.style.display = "none"; });
    this.canvas.addEventListener("mousedown", (ev) => this.down(ev));
    this.canvas.addEventListener("mouseup", (ev) => this.up(ev));
    ch.onChange("mode", () => {
      this.modeSel.value = String(this.model.get("mode") ?? "tokens");
      this.draw();
    });
    ch.onMessage((msg, buffers) => {
      if (msg.type !== "heatmap" || (msg.view && msg.view !== this.ch.viewId)) return;
      this.data = msg;
      this.mass = float32(buffers, msg.mass);
      this.segMass = float32(buffers, msg.segment_mass);
      clear(this.consSel);
      this.consSel.appendChild(h("option", { text: "all constraints (sum)", value: "-1" }));
      msg.constraints.forEach((c, i) => this.consSel.appendChild(h("option", { text: clip(c, 60), value: String(i) })));
      setText(this.header, `${msg.tokens} tokens · ${msg.layers} layers · ${msg.constraints.length} constraints` +
        (msg.tokens_per_column > 1 ? ` · ${msg.tokens_per_column} tokens per column (mean)` : ""));
      this.draw();
    });
  }

  private constraint(): number {
    return Number(this.consSel.value || -1);
  }

  private value(col: number, layer: number, c: number): number {
    const d = this.data!;
    const C = d.constraints.length;
    const base = (col * d.layers + layer) * C;
    if (c >= 0) return this.mass![base + c];
    let s = 0;
    for (let k = 0; k < C; k++) s += this.mass![base + k];
    return s;
  }

  private labels(): string[] {
    return (this.model.get("labels") as string[] | undefined) ?? [];
  }

  draw(): void {
    const d = this.data;
    if (!d || !this.mass) return;
    clear(this.plot);
    clear(this.scroller);
    this.tip.style.display = "none";
    this.brushEl.style.display = "none";
    const avail = Math.max(240, (this.root.clientWidth || this.plot.clientWidth || 800) - BAR_W - 8);
    if (this.modeSel.value === "segments") this.drawSegments(d, avail);
    else this.drawTokens(d, avail);
  }

  private drawTokens(d: HeatmapMsg, avail: number): void {
    const c = this.constraint();
    const L = d.layers;
    const plotW = avail - AXIS_W;
    // more columns than pixels: show the mean of `group` adjacent columns, so the map fits
    const group = Math.max(1, Math.ceil(d.columns / Math.max(1, plotW)));
    const cols = Math.ceil(d.columns / group);
    const w = Math.max(1, Math.floor(plotW / Math.max(1, cols)));
    const lh = Math.max(4, Math.min(14, Math.floor(320 / Math.max(1, L))));
    const H = L * lh;
    this.cell = { w, h: lh };
    this.group = group;
    // a map narrower than the plot is stretched (pixelated); hover maps back through the scale
    const cssW = cols * w < plotW ? plotW : cols * w;
    this.canvas.width = Math.max(1, cols * w);
    this.canvas.height = Math.max(1, H);
    this.canvas.style.width = `${cssW}px`;
    this.canvas.style.height = `${H}px`;
    const which = c >= 0 ? `“${clip(d.constraints[c], 40)}”` : "all constraints";
    setText(this.titleEl, `Constraint attention mass per layer and token (${which})`);
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    let max = 0;
    const vals = new Float32Array(cols * L);
    for (let col = 0; col < cols; col++) for (let l = 0; l < L; l++) {
      let v = 0;
      let n = 0;
      for (let k = col * group; k < Math.min(d.columns, (col + 1) * group); k++) {
        const x = this.value(k, l, c);
        if (Number.isFinite(x)) {
          v += x;
          n++;
        }
      }
      v = n ? v / n : 0;
      vals[col * L + l] = v;
      if (v > max) max = v;
    }
    const W = cols * w;
    const img = ctx.createImageData(W, H);
    const px = new Uint32Array(img.data.buffer);
    const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    for (let col = 0; col < cols; col++) for (let l = 0; l < L; l++) {
      const [r, g, b] = colour(max > 0 ? vals[col * L + l] / max : 0);
      const word = little ? (255 << 24) | (b << 16) | (g << 8) | r : (r << 24) | (g << 16) | (b << 8) | 255;
      for (let y = 0; y < lh; y++) {
        const row = ((L - 1 - l) * lh + y) * W + col * w; // layer 0 at the bottom
        px.fill(word >>> 0, row, row + w);
      }
    }
    ctx.putImageData(img, 0, 0);
    const scale = cssW / Math.max(1, d.tokens);
    const xAxis = bottomAxis(cssW, niceTicks(0, d.tokens, Math.max(2, Math.floor(cssW / 90))), (v) => v * scale,
      cssW < 340 ? "token" : d.tokens_per_column * group > 1 ? `token (generation order; ${d.tokens_per_column * group} per column)` : "token (generation order)");
    const area = h("div", { class: "wb-heat-area" }, [this.canvas, this.brushEl]);
    if (d.boundary !== null) {
      const x = Math.floor(d.boundary / d.tokens_per_column / group) * w;
      ctx.fillStyle = "#ff3b30";
      ctx.fillRect(Math.max(0, x - 1), 0, 2, H);
      const bx = x * (cssW / Math.max(1, cols * w));
      // "◂ thinking | answer ▸" at the boundary, kept inside the map near its edges
      const mark = h("div", { class: "wb-boundary-label", text: "answer ▸", title: `the answer starts at token ${d.boundary}` });
      const mark2 = h("div", { class: "wb-boundary-label wb-boundary-left", text: "◂ thinking" });
      const room = 64;
      const at = Math.max(room, Math.min(cssW - room, bx));
      mark.style.left = `${Math.round(at) + 3}px`;
      mark2.style.right = `${Math.round(cssW - at) + 3}px`;
      area.appendChild(mark2);
      area.appendChild(mark);
    }
    area.appendChild(this.tip);
    this.scroller.appendChild(area);
    this.scroller.appendChild(xAxis);
    const step = Math.max(1, Math.ceil(14 / lh));
    const layerTicks = lh >= 12 ? Array.from({ length: L }, (_, l) => l)
      : niceTicks(0, L - 1, Math.max(2, Math.floor(H / 22))).filter((v) => Number.isInteger(v) && v % step === 0);
    const yAxis = leftAxis(H, layerTicks, (v) => (L - 1 - v) * lh + lh / 2, "layer", AXIS_W);
    this.plot.appendChild(h("div", { class: "wb-heat-grid" }, [yAxis, this.scroller, colourBar(H, max, c >= 0 ? "mass" : "mass (sum)")]));
  }

  private drawSegments(d: HeatmapMsg, avail: number): void {
    const S = d.segments.length;
    const C = d.constraints.length;
    const plotW = avail - SEG_LABEL_W;
    const w = Math.max(48, Math.floor(plotW / Math.max(1, C)));
    const rh = 16;
    const H = rh * Math.max(1, S);
    this.cell = { w, h: rh };
    this.canvas.width = w * Math.max(1, C);
    this.canvas.height = H;
    this.canvas.style.width = `${w * Math.max(1, C)}px`;
    this.canvas.style.height = `${H}px`;
    setText(this.titleEl, "Constraint attention mass per segment and constraint (mean over layers and the segment's tokens)");
    const ctx = this.canvas.getContext("2d");
    if (!ctx || !this.segMass) return;
    let max = 0;
    for (const v of this.segMass) if (Number.isFinite(v)) max = Math.max(max, v);
    for (let s = 0; s < S; s++) for (let k = 0; k < C; k++) {
      const v = this.segMass[s * C + k];
      const [r, g, b] = Number.isFinite(v) ? colour(max > 0 ? v / max : 0) : [200, 200, 200];
      ctx.fillStyle = `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
      ctx.fillRect(k * w, s * rh, w - 1, rh - 1);
    }
    // constraint names over the columns (clipped to the column; the full text on hover)
    const head = svg("svg", { width: w * C, height: 22, viewBox: `0 0 ${w * C} 22` }, "wb-axis wb-col-head");
    d.constraints.forEach((name, k) => {
      const t = text(k * w + w / 2, 15, clip(name, Math.max(3, Math.floor(w / 7))), "wb-tick", "middle");
      const tip = svg("title");
      tip.textContent = name;
      t.appendChild(tip);
      head.appendChild(t);
    });
    // segment labels with their pattern colour beside the rows
    const labels = this.labels();
    const rows = svg("svg", { width: SEG_LABEL_W, height: H, viewBox: `0 0 ${SEG_LABEL_W} ${H}` }, "wb-axis wb-seg-axis");
    d.segments.forEach((seg, s) => {
      const label = seg.human_label ?? seg.label;
      const ci = colourIndex(label, labels);
      rows.appendChild(svg("rect", { x: 2, y: s * rh + 3, width: 10, height: rh - 6 }, ci >= 0 ? `wb-c${ci}` : "wb-swatch-none"));
      const t = text(16, s * rh + rh - 4, clip(`#${seg.index} ${label ?? "unlabelled"}`, 24), "wb-tick", "start");
      const tip = svg("title");
      tip.textContent = `segment ${seg.index}: ${label ?? "unlabelled"}`;
      t.appendChild(tip);
      rows.appendChild(t);
    });
    const area = h("div", { class: "wb-heat-area" }, [this.canvas, this.tip]);
    this.scroller.appendChild(head);
    this.scroller.appendChild(area);
    this.scroller.appendChild(h("div", { class: "wb-axis-title wb-axis-caption", text: "constraint" }));
    const rowBox = h("div", { class: "wb-seg-rows" }, [h("div", { class: "wb-axis-title wb-seg-rows-title", text: "segment (pattern)" }), rows]);
    this.plot.appendChild(h("div", { class: "wb-heat-grid wb-heat-seg" }, [rowBox, this.scroller, colourBar(Math.max(120, Math.min(H, 320)), max, "mass")]));
  }

  /** The cell under a mouse event: column (or constraint) and layer (or segment). */
  private at(ev: MouseEvent): { x: number; y: number; px: number } {
    const rect = this.canvas.getBoundingClientRect();
    const sx = this.canvas.width / Math.max(1, rect.width);
    const sy = this.canvas.height / Math.max(1, rect.height);
    const px = (ev.clientX - rect.left) * sx;
    return { x: Math.floor(px / this.cell.w), y: Math.floor(((ev.clientY - rect.top) * sy) / this.cell.h), px: ev.clientX - rect.left };
  }

  private showTip(lines: string[], ev: MouseEvent): void {
    setText(this.readout, lines.join(" · "));
    setText(this.tip, lines.join("\n"));
    const rect = this.canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    this.tip.style.display = "block";
    const right = x > rect.width - 260;
    this.tip.style.left = right ? "" : `${x + 14}px`;
    this.tip.style.right = right ? `${rect.width - x + 14}px` : "";
    this.tip.style.top = `${Math.max(0, y + 12)}px`;
  }

  private hover(ev: MouseEvent): void {
    const d = this.data;
    if (!d || !this.mass) return;
    const { x, y } = this.at(ev);
    if (this.drag) this.brush(this.drag.col0, x);
    const c = this.constraint();
    if (this.modeSel.value === "segments") {
      const seg = d.segments[y];
      if (!seg || x < 0 || x >= d.constraints.length || !this.segMass) return;
      const v = this.segMass[y * d.constraints.length + x];
      this.showTip([
        `segment ${seg.index} (${seg.human_label ?? seg.label ?? "unlabelled"})`,
        `constraint “${clip(d.constraints[x], 80)}”`,
        `mass ${Number.isFinite(v) ? v.toFixed(4) : "–"}`,
      ], ev);
      return;
    }
    const layer = d.layers - 1 - y;
    const col = x * this.group;
    if (x < 0 || col >= d.columns || layer < 0 || layer >= d.layers) return;
    const lastCol = Math.min(d.columns, col + this.group) - 1;
    const first = col * d.tokens_per_column;
    const last = Math.min(d.tokens, (lastCol + 1) * d.tokens_per_column) - 1;
    let v = 0;
    for (let k = col; k <= lastCol; k++) v += this.value(k, layer, c);
    const text = (d.column_text.slice(col, lastCol + 1).join("")).replace(/\s+/g, " ");
    const which = c >= 0 ? `constraint “${clip(d.constraints[c], 80)}”` : "all constraints (sum)";
    const part = d.boundary !== null && first >= d.boundary ? "answer" : "thinking";
    const tok = first === last ? `token ${first}` : `tokens ${first}–${last}`;
    this.showTip([
      `${tok} “${clip(text, 80)}” (${part})`,
      `layer ${layer}`,
      which,
      `mass ${(v / (lastCol - col + 1)).toFixed(4)}${lastCol > col ? " (mean)" : ""}`,
    ], ev);
  }

  private down(ev: MouseEvent): void {
    if (this.modeSel.value !== "tokens" || !this.data) return;
    ev.preventDefault();
    this.drag = { x0: ev.clientX, col0: this.at(ev).x };
  }

  private brush(a: number, b: number): void {
    const d = this.data!;
    const lo = Math.max(0, Math.min(a, b));
    const cols = Math.ceil(d.columns / this.group);
    const hi = Math.min(cols - 1, Math.max(a, b));
    const scale = this.canvas.getBoundingClientRect().width / Math.max(1, cols);
    this.brushEl.style.display = "block";
    this.brushEl.style.left = `${lo * scale}px`;
    this.brushEl.style.width = `${Math.max(2, (hi - lo + 1) * scale)}px`;
  }

  private up(ev: MouseEvent): void {
    const d = this.data;
    if (!d) return;
    const drag = this.drag;
    this.drag = null;
    const { x, y } = this.at(ev);
    if (this.modeSel.value === "segments") {
      const seg = d.segments[y];
      if (seg) this.ch.send({ type: "select_token", token: -1, char: seg.start });
      return;
    }
    const cols = Math.ceil(d.columns / this.group);
    if (x < 0 || x >= cols) return;
    if (drag && Math.abs(ev.clientX - drag.x0) > 4) {
      this.brush(drag.col0, x);
      const lo = Math.max(0, Math.min(drag.col0, x)) * this.group;
      const hi = Math.min(d.columns - 1, (Math.max(drag.col0, x) + 1) * this.group - 1);
      const first = lo * d.tokens_per_column;
      const last = Math.min(d.tokens, (hi + 1) * d.tokens_per_column) - 1;
      setText(this.readout, `tokens ${first}–${last} selected: highlighted in the trace`);
      this.ch.send({ type: "select_range", first, last, start: d.column_start[lo] ?? 0, end: d.column_end[hi] ?? 0 });
      return;
    }
    this.brushEl.style.display = "none";
    const col = x * this.group;
    this.ch.send({ type: "select_token", token: col * d.tokens_per_column, char: d.column_start[col] ?? 0 });
  }
}

export function renderHeatmap(model: Model, el: HTMLElement): () => void {
  const ch = new Channel(model);
  const view = new HeatmapView(ch, model);
  el.appendChild(view.root);
  let last = 0;
  const onResize = () => {
    const w = view.root.clientWidth;
    if (w !== last) {
      last = w;
      view.draw();
    }
  };
  const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(onResize) : null;
  ro?.observe(view.root);
  window.addEventListener("resize", onResize);
  ch.addCleanup(() => {
    window.removeEventListener("resize", onResize);
    ro?.disconnect();
  });
  if (ch.protocolOk()) ch.ready();
  return () => ch.dispose();
}
