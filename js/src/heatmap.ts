// ConstraintHeatmap: where a trace's attention to the instruction's constraints goes.
// Two views: layer × token (columns may bin several tokens) and segment × constraint. Hover shows
// the token text, constraint and value; the thinking/answer boundary is marked; a click asks the
// kernel to scroll the linked trace there.

import type { HeatmapMsg } from "./protocol.generated";
import { Channel, float32, type Model } from "./channel";
import { clear, clip, h, setText } from "./dom";

// viridis, 9 stops
const RAMP: [number, number, number][] = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [253, 231, 37],
];

function colour(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i];
  const b = RAMP[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

export class HeatmapView {
  readonly root: HTMLElement;
  private data: HeatmapMsg | null = null;
  private mass: Float32Array | null = null;
  private segMass: Float32Array | null = null;
  private canvas: HTMLCanvasElement;
  private wrap: HTMLElement;
  private readout: HTMLElement;
  private modeSel: HTMLSelectElement;
  private consSel: HTMLSelectElement;
  private header: HTMLElement;
  private cell = { w: 2, h: 8, left: 0, top: 0 };

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
    this.wrap = h("div", { class: "wb-heat-wrap" }, [this.canvas]);
    this.readout = h("div", { class: "wb-readout", role: "status", text: "hover the map" });
    this.header = h("div", { class: "wb-heat-head" });
    this.root = h("div", { class: "wb-heat" }, [
      h("div", { class: "wb-toolbar" }, [this.modeSel, this.consSel, this.header]),
      this.wrap,
      this.readout,
      ch.errorEl,
    ]);
    this.canvas.addEventListener("mousemove", (ev) => this.hover(ev, false));
    this.canvas.addEventListener("click", (ev) => this.hover(ev, true));
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
      this.consSel.appendChild(h("option", { text: "all constraints", value: "-1" }));
      msg.constraints.forEach((c, i) => this.consSel.appendChild(h("option", { text: clip(c, 60), value: String(i) })));
      setText(this.header, `${msg.tokens} tokens · ${msg.layers} layers · ${msg.constraints.length} constraints` +
        (msg.tokens_per_column > 1 ? ` · ${msg.tokens_per_column} tokens per column` : ""));
      this.draw();
    });
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

  draw(): void {
    const d = this.data;
    if (!d || !this.mass) return;
    const c = Number(this.consSel.value || -1);
    const mode = this.modeSel.value;
    const width = Math.max(300, this.wrap.clientWidth || 800);
    if (mode === "segments") {
      const S = d.segments.length;
      const C = d.constraints.length;
      const left = 60;
      const top = 4;
      const w = Math.max(24, Math.floor((width - left) / Math.max(1, C)));
      const rh = 14;
      this.cell = { w, h: rh, left, top };
      this.canvas.style.width = "";
      this.canvas.style.height = "";
      this.canvas.width = left + w * C;
      this.canvas.height = top + rh * Math.max(1, S);
      const ctx = this.canvas.getContext("2d");
      if (!ctx || !this.segMass) return;
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
      let max = 0;
      for (const v of this.segMass) if (Number.isFinite(v)) max = Math.max(max, v);
      const img = ctx.createImageData(w * C, rh * Math.max(1, S));
      for (let s = 0; s < S; s++) for (let k = 0; k < C; k++) {
        const v = this.segMass[s * C + k];
        const [r, g, b] = Number.isFinite(v) ? colour(max > 0 ? v / max : 0) : [220, 220, 220];
        for (let y = 0; y < rh - 1; y++) for (let x = 0; x < w - 1; x++) {
          const p = ((s * rh + y) * w * C + k * w + x) * 4;
          img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
        }
      }
      ctx.putImageData(img, left, top);
      ctx.fillStyle = "#555";
      ctx.font = "10px sans-serif";
      for (let s = 0; s < S; s++) ctx.fillText(`#${d.segments[s].index}`, 4, top + s * rh + 11);
      return;
    }
    const cols = d.columns;
    const L = d.layers;
    const w = Math.max(1, Math.floor(width / Math.max(1, cols)));
    const lh = Math.max(4, Math.min(14, Math.floor(320 / Math.max(1, L))));
    this.cell = { w, h: lh, left: 0, top: 0 };
    this.canvas.width = cols * w;
    this.canvas.height = L * lh;
    // stretch narrow maps to the width (pixelated); hover maps back through the scale
    this.canvas.style.width = cols * w < width ? "100%" : "";
    this.canvas.style.height = `${L * lh}px`;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    let max = 0;
    for (let col = 0; col < cols; col++) for (let l = 0; l < L; l++) max = Math.max(max, this.value(col, l, c));
    const img = ctx.createImageData(cols * w, L * lh);
    for (let col = 0; col < cols; col++) for (let l = 0; l < L; l++) {
      const [r, g, b] = colour(max > 0 ? this.value(col, l, c) / max : 0);
      for (let y = 0; y < lh; y++) for (let x = 0; x < w; x++) {
        // layer 0 at the bottom
        const p = (((L - 1 - l) * lh + y) * cols * w + col * w + x) * 4;
        img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    if (d.boundary !== null) {
      const x = Math.floor(d.boundary / d.tokens_per_column) * w;
      ctx.fillStyle = "#ff3b30";
      ctx.fillRect(Math.max(0, x - 1), 0, 2, L * lh);
    }
  }

  private hover(ev: MouseEvent, click: boolean): void {
    const d = this.data;
    if (!d || !this.mass) return;
    const rect = this.canvas.getBoundingClientRect();
    const sx = this.canvas.width / Math.max(1, rect.width);
    const sy = this.canvas.height / Math.max(1, rect.height);
    const x = (ev.clientX - rect.left) * sx - this.cell.left;
    const y = (ev.clientY - rect.top) * sy - this.cell.top;
    const c = Number(this.consSel.value || -1);
    if (this.modeSel.value === "segments") {
      const s = Math.floor(y / this.cell.h);
      const k = Math.floor(x / this.cell.w);
      const seg = d.segments[s];
      if (!seg || k < 0 || k >= d.constraints.length || !this.segMass) return;
      const v = this.segMass[s * d.constraints.length + k];
      setText(this.readout, `segment ${seg.index} (${seg.label ?? "unlabelled"}) · constraint “${clip(d.constraints[k], 80)}” · mass ${Number.isFinite(v) ? v.toFixed(4) : "–"}`);
      if (click) this.ch.send({ type: "select_token", token: -1, char: seg.start });
      return;
    }
    const col = Math.floor(x / this.cell.w);
    const layer = d.layers - 1 - Math.floor(y / this.cell.h);
    if (col < 0 || col >= d.columns || layer < 0 || layer >= d.layers) return;
    const first = col * d.tokens_per_column;
    const last = Math.min(d.tokens, first + d.tokens_per_column) - 1;
    const which = c >= 0 ? `constraint “${clip(d.constraints[c], 80)}”` : "all constraints";
    const part = d.boundary !== null && first >= d.boundary ? "answer" : "thinking";
    const tok = first === last ? `token ${first}` : `tokens ${first}–${last}`;
    setText(this.readout, `${tok} “${clip((d.column_text[col] ?? "").replace(/\s+/g, " "), 80)}” (${part}) · layer ${layer} · ${which} · mass ${this.value(col, layer, c).toFixed(4)}`);
    if (click) this.ch.send({ type: "select_token", token: first, char: d.column_start[col] ?? 0 });
  }
}

export function renderHeatmap(model: Model, el: HTMLElement): () => void {
  const ch = new Channel(model);
  const view = new HeatmapView(ch, model);
  el.appendChild(view.root);
  const onResize = () => view.draw();
  window.addEventListener("resize", onResize);
  ch.addCleanup(() => window.removeEventListener("resize", onResize));
  if (ch.protocolOk()) ch.ready();
  return () => ch.dispose();
}
