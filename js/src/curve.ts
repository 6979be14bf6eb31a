// Per-token curves of one sample: logprob and entropy over the trace, with the segment starts,
// keyword hits and the thinking/answer boundary marked. Live while tokens stream: tokens go into
// a fixed number of bins (tokens per bin doubles as the trace grows), so a flush costs
// O(new tokens + bins) whatever the length so far. Dragging over the curve brushes a token range.

import { bottomAxis, leftAxis, niceExtent, niceTicks } from "./axes";
import { clear, h, setText } from "./dom";
import type { SampleData } from "./textpane";

const BINS = 512;
const HEIGHT = 64;
const AXIS_W = 40;

class Series {
  sum = new Float64Array(BINS);
  lo = new Float64Array(BINS).fill(Infinity);
  hi = new Float64Array(BINS).fill(-Infinity);
  cnt = new Uint32Array(BINS);

  reset(): void {
    this.sum.fill(0);
    this.lo.fill(Infinity);
    this.hi.fill(-Infinity);
    this.cnt.fill(0);
  }

  add(bin: number, v: number): void {
    if (!Number.isFinite(v)) return;
    this.sum[bin] += v;
    this.cnt[bin] += 1;
    if (v < this.lo[bin]) this.lo[bin] = v;
    if (v > this.hi[bin]) this.hi[bin] = v;
  }

  /** Halve the resolution: bins 2i and 2i+1 become bin i. */
  merge(): void {
    for (let i = 0; i < BINS / 2; i++) {
      const a = 2 * i;
      const b = a + 1;
      this.sum[i] = this.sum[a] + this.sum[b];
      this.cnt[i] = this.cnt[a] + this.cnt[b];
      this.lo[i] = Math.min(this.lo[a], this.lo[b]);
      this.hi[i] = Math.max(this.hi[a], this.hi[b]);
    }
    this.sum.fill(0, BINS / 2);
    this.cnt.fill(0, BINS / 2);
    this.lo.fill(Infinity, BINS / 2);
    this.hi.fill(-Infinity, BINS / 2);
  }
}

export class TokenCurve {
  readonly el: HTMLElement;
  private canvas: HTMLCanvasElement;
  private yBox: HTMLElement;
  private xBox: HTMLElement;
  private readout: HTMLElement;
  private brushEl: HTMLElement;
  private per = 1;
  private tokens = 0;
  private segDone = 0;
  private hitDone = 0;
  private lp = new Series();
  private ent = new Series();
  private segMarks = new Uint8Array(BINS);
  private hitMarks = new Uint16Array(BINS);
  private width = 0;
  private yKey = "";
  private xKey = "";
  private domain: [number, number] = [-1, 1];
  private drag: number | null = null;
  answerToken: number | null = null;

  constructor(
    private data: SampleData,
    private onBrush: (start: number, end: number, first: number, last: number) => void,
    actions: HTMLElement | null = null,
  ) {
    this.canvas = h("canvas", { class: "wb-curve-canvas" });
    this.brushEl = h("div", { class: "wb-brush" });
    this.yBox = h("div", { class: "wb-curve-y" });
    this.xBox = h("div", { class: "wb-curve-x" });
    this.readout = h("span", { class: "wb-curve-readout" });
    const key = (cls: string, label: string) => h("span", { class: "wb-key" }, [h("span", { class: `wb-line-key ${cls}` }), h("span", { text: label })]);
    this.el = h("div", { class: "wb-curve", title: "per-token logprob and entropy (nats); drag to highlight tokens in the trace" }, [
      h("div", { class: "wb-curve-legend" }, [
        key("wb-line-lp", "logprob (nats)"), key("wb-line-ent", "entropy (nats)"),
        key("wb-line-seg", "segment start"), key("wb-line-hit", "keyword hit"), key("wb-line-bound", "answer starts"),
        this.readout, actions,
      ]),
      h("div", { class: "wb-curve-grid" }, [this.yBox, h("div", { class: "wb-curve-plot" }, [this.canvas, this.brushEl]), h("span"), this.xBox]),
    ]);
    this.el.style.display = "none";
    this.canvas.height = HEIGHT;
    this.canvas.addEventListener("mousemove", (ev) => this.hover(ev));
    this.canvas.addEventListener("mousedown", (ev) => {
      ev.preventDefault();
      this.drag = this.tokenAt(ev);
    });
    this.canvas.addEventListener("mouseup", (ev) => this.up(ev));
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => {
        const w = this.canvas.clientWidth;
        if (w > 0 && w !== this.width) {
          this.width = w;
          this.xKey = "";
          this.draw();
        }
      }).observe(this.canvas);
    }
  }

  private bin(i: number): number {
    while (Math.floor(i / this.per) >= BINS) {
      this.per *= 2;
      this.lp.merge();
      this.ent.merge();
      for (let k = 0; k < BINS / 2; k++) {
        this.segMarks[k] = this.segMarks[2 * k] | this.segMarks[2 * k + 1];
        this.hitMarks[k] = Math.min(65535, this.hitMarks[2 * k] + this.hitMarks[2 * k + 1]);
      }
      this.segMarks.fill(0, BINS / 2);
      this.hitMarks.fill(0, BINS / 2);
    }
    return Math.floor(i / this.per);
  }

  /** Start over from the sample's data (a snapshot or a final message). */
  rebuild(): void {
    this.per = 1;
    this.tokens = 0;
    this.segDone = 0;
    this.hitDone = 0;
    this.lp.reset();
    this.ent.reset();
    this.segMarks.fill(0);
    this.hitMarks.fill(0);
    this.sync();
  }

  /** Take in what the sample gained since the last call, then redraw. */
  sync(): void {
    const t = this.data.tokens;
    const lps = t.logprobs;
    const ents = t.entropies;
    if (!lps && !ents) {
      this.el.style.display = "none";
      return;
    }
    this.el.style.display = "";
    for (let i = this.tokens; i < t.n; i++) {
      const b = this.bin(i);
      if (lps) this.lp.add(b, lps[i]);
      if (ents) this.ent.add(b, ents[i]);
    }
    this.tokens = t.n;
    const deco = this.data.deco;
    for (; this.segDone < deco.segments.length; this.segDone++) {
      const tok = t.firstAfter(deco.segments[this.segDone].start);
      if (tok < t.n) this.segMarks[this.bin(tok)] = 1;
    }
    for (; this.hitDone < deco.hits.length; this.hitDone++) {
      const tok = t.firstAfter(deco.hits[this.hitDone].start);
      if (tok < t.n) {
        const b = this.bin(tok);
        this.hitMarks[b] = Math.min(65535, this.hitMarks[b] + 1);
      }
    }
    this.draw();
  }

  private axes(W: number): void {
    const t = this.data.tokens;
    let lo = 0;
    let hi = 0;
    const used = Math.min(BINS, Math.ceil(this.tokens / this.per));
    for (let b = 0; b < used; b++) {
      if (t.logprobs && this.lp.cnt[b]) lo = Math.min(lo, this.lp.sum[b] / this.lp.cnt[b]);
      if (t.entropies && this.ent.cnt[b]) hi = Math.max(hi, this.ent.sum[b] / this.ent.cnt[b]);
    }
    const ext = niceExtent(Math.min(lo, -0.5), Math.max(hi, t.entropies ? 0.5 : 0), 3);
    const ticks = ext.ticks;
    const dom: [number, number] = [ext.lo, ext.hi];
    const yKey = `${dom[0]}:${dom[1]}`;
    if (yKey !== this.yKey) {
      this.yKey = yKey;
      this.domain = dom;
      clear(this.yBox);
      this.yBox.appendChild(leftAxis(HEIGHT, ticks, (v) => this.y(v), "nats", AXIS_W));
    }
    const xt = niceTicks(0, Math.max(1, this.tokens), Math.max(2, Math.floor(W / 80)));
    const xKey = `${W}:${this.tokens}`;
    if (xKey !== this.xKey) {
      this.xKey = xKey;
      clear(this.xBox);
      this.xBox.appendChild(bottomAxis(W, xt.filter((v) => v <= this.tokens), (v) => (v / Math.max(1, this.tokens)) * W, "token"));
    }
  }

  private y(v: number): number {
    const [lo, hi] = this.domain;
    return HEIGHT - 2 - ((v - lo) / Math.max(1e-9, hi - lo)) * (HEIGHT - 4);
  }

  draw(): void {
    if (this.el.style.display === "none") return;
    const W = this.width || 300;
    if (this.canvas.width !== W) this.canvas.width = W;
    this.axes(W);
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, W, HEIGHT);
    const n = Math.max(1, this.tokens);
    const used = Math.min(BINS, Math.ceil(this.tokens / this.per));
    const x = (b: number) => ((b + 0.5) * this.per * W) / n;
    const bw = Math.max(1, (this.per * W) / n);
    ctx.fillStyle = "rgba(127,127,127,0.45)";
    for (let b = 0; b < used; b++) if (this.segMarks[b]) ctx.fillRect(Math.floor(x(b) - bw / 2), 0, 1, HEIGHT);
    const zero = Math.round(this.y(0)) + 0.5;
    ctx.fillStyle = "rgba(127,127,127,0.6)";
    ctx.fillRect(0, zero, W, 1);
    const line = (s: Series, stroke: string, band: string) => {
      ctx.fillStyle = band;
      for (let b = 0; b < used; b++) if (s.cnt[b]) {
        const y0 = this.y(s.hi[b]);
        ctx.fillRect(x(b) - bw / 2, y0, bw, Math.max(1, this.y(s.lo[b]) - y0));
      }
      ctx.strokeStyle = stroke;
      ctx.lineWidth = 1.25;
      ctx.beginPath();
      let started = false;
      for (let b = 0; b < used; b++) {
        if (!s.cnt[b]) continue;
        const yy = this.y(s.sum[b] / s.cnt[b]);
        if (started) ctx.lineTo(x(b), yy);
        else ctx.moveTo(x(b), yy);
        started = true;
      }
      ctx.stroke();
    };
    if (this.data.tokens.logprobs) line(this.lp, "#1f77b4", "rgba(31,119,180,0.18)");
    if (this.data.tokens.entropies) line(this.ent, "#ff7f0e", "rgba(255,127,14,0.18)");
    ctx.fillStyle = "#d62728";
    for (let b = 0; b < used; b++) if (this.hitMarks[b]) ctx.fillRect(Math.floor(x(b)) - 1, 0, 2, 6);
    if (this.answerToken !== null && this.answerToken < this.tokens) {
      ctx.fillStyle = "#ff3b30";
      ctx.fillRect(Math.round((this.answerToken / n) * W) - 1, 0, 2, HEIGHT);
    }
  }

  private tokenAt(ev: MouseEvent): number {
    const rect = this.canvas.getBoundingClientRect();
    const f = (ev.clientX - rect.left) / Math.max(1, rect.width);
    return Math.max(0, Math.min(this.tokens - 1, Math.floor(f * this.tokens)));
  }

  private hover(ev: MouseEvent): void {
    const t = this.data.tokens;
    if (!t.n) return;
    const i = this.tokenAt(ev);
    const parts = [`token ${i}`];
    if (t.logprobs) parts.push(`logprob ${t.logprobs[i].toFixed(3)}`);
    if (t.entropies) parts.push(`entropy ${t.entropies[i].toFixed(3)}`);
    setText(this.readout, parts.join(" · "));
    if (this.drag !== null) this.showBrush(this.drag, i);
  }

  private showBrush(a: number, b: number): void {
    const W = this.canvas.clientWidth;
    const n = Math.max(1, this.tokens);
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    this.brushEl.style.display = "block";
    this.brushEl.style.left = `${(lo / n) * W}px`;
    this.brushEl.style.width = `${Math.max(2, ((hi - lo + 1) / n) * W)}px`;
  }

  private up(ev: MouseEvent): void {
    const a = this.drag;
    this.drag = null;
    if (a === null || !this.tokens) return;
    const b = this.tokenAt(ev);
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    this.showBrush(lo, hi);
    const t = this.data.tokens;
    this.onBrush(t.starts[lo], t.ends[hi], lo, hi);
  }
}
