// A pattern timeline: a trace's thinking as one strip, each segment a bar in its pattern's colour,
// placed by character offset (0 = start of the thinking). Live while streaming: characters go
// into a fixed number of bins (characters per bin doubles as the thinking grows), so an update
// costs O(new segments + bins). Hover names the segment; a click picks it.

import type { SegmentInfo } from "./protocol.generated";
import { bottomAxis, niceTicks } from "./axes";
import { PALETTE, clear, colourIndex, h, setText } from "./dom";

const BINS = 512;
const HEIGHT = 14;

export class PatternTimeline {
  readonly el: HTMLElement;
  private canvas: HTMLCanvasElement;
  private xBox: HTMLElement;
  private readout: HTMLElement;
  private colour = new Int8Array(BINS).fill(-1);
  private per = 1;
  private done = 0;
  private width = 0;
  private xKey = "";
  /** Thinking bounds in raw characters: start and current end. */
  private start = 0;
  private end = 0;

  constructor(
    private segments: () => readonly SegmentInfo[],
    private open: () => SegmentInfo | null,
    private labels: () => readonly string[],
    private onPick: (seg: SegmentInfo) => void,
  ) {
    this.canvas = h("canvas", { class: "wb-timeline-canvas" });
    this.canvas.height = HEIGHT;
    this.xBox = h("div", { class: "wb-timeline-x" });
    this.readout = h("span", { class: "wb-curve-readout" });
    this.el = h("div", { class: "wb-timeline", title: "thinking patterns along the trace; click a bar to go to its segment" }, [
      h("div", { class: "wb-curve-legend" }, [h("span", { class: "wb-axis-title", text: "patterns along the thinking", title: "segments by character offset in the thinking" }), this.readout]),
      this.canvas,
      this.xBox,
    ]);
    this.el.style.display = "none";
    this.canvas.addEventListener("mousemove", (ev) => {
      const seg = this.at(ev);
      setText(this.readout, seg ? `#${seg.index} ${seg.human_label ?? seg.label ?? "unlabelled"} · ${seg.end - seg.start} chars` : "");
    });
    this.canvas.addEventListener("click", (ev) => {
      const seg = this.at(ev);
      if (seg) this.onPick(seg);
    });
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

  private bin(offset: number): number {
    while (Math.floor(offset / this.per) >= BINS) {
      this.per *= 2;
      for (let i = 0; i < BINS / 2; i++) {
        const a = this.colour[2 * i];
        this.colour[i] = a >= 0 ? a : this.colour[2 * i + 1];
      }
      this.colour.fill(-1, BINS / 2);
    }
    return Math.floor(offset / this.per);
  }

  private paint(seg: SegmentInfo): void {
    const a = Math.max(0, seg.start - this.start);
    const b = Math.max(a + 1, seg.end - this.start);
    const last = this.bin(b - 1);
    const c = colourIndex(seg.human_label ?? seg.label, this.labels());
    for (let k = this.bin(a); k <= last; k++) this.colour[k] = c < 0 ? 12 : c;
  }

  /** Set the thinking's bounds (raw characters); a new start redraws everything. */
  setRange(start: number, end: number): void {
    if (start !== this.start) {
      this.start = start;
      this.rebuild();
    }
    this.end = Math.max(end, this.start);
    this.bin(Math.max(0, this.end - this.start - 1));
  }

  rebuild(): void {
    this.colour.fill(-1);
    this.per = 1;
    this.done = 0;
    this.sync();
  }

  /** Paint the segments closed since the last call, then redraw. */
  sync(): void {
    const segs = this.segments();
    for (; this.done < segs.length; this.done++) this.paint(segs[this.done]);
    this.el.style.display = segs.length || this.open() ? "" : "none";
    this.draw();
  }

  private at(ev: MouseEvent): SegmentInfo | null {
    const rect = this.canvas.getBoundingClientRect();
    const pos = this.start + ((ev.clientX - rect.left) / Math.max(1, rect.width)) * Math.max(1, this.end - this.start);
    const segs = this.segments();
    let lo = 0;
    let hi = segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid].end <= pos) lo = mid + 1;
      else hi = mid;
    }
    if (lo < segs.length && segs[lo].start <= pos) return segs[lo];
    const o = this.open();
    return o && o.start <= pos ? o : null;
  }

  draw(): void {
    if (this.el.style.display === "none") return;
    const W = this.width || 300;
    if (this.canvas.width !== W) this.canvas.width = W;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, W, HEIGHT);
    const n = Math.max(1, this.end - this.start);
    const used = Math.min(BINS, Math.ceil(n / this.per));
    const bw = (this.per * W) / n;
    for (let k = 0; k < used; k++) {
      const c = this.colour[k];
      if (c < 0) continue;
      ctx.fillStyle = PALETTE[c] ?? "#999";
      ctx.fillRect(Math.floor(k * bw), 0, Math.ceil(bw), HEIGHT);
    }
    const o = this.open();
    if (o) {
      const c = colourIndex(o.human_label ?? o.label, this.labels());
      ctx.globalAlpha = 0.45;
      ctx.fillStyle = PALETTE[c] ?? "#999";
      const x0 = ((o.start - this.start) / n) * W;
      ctx.fillRect(x0, 0, W - x0, HEIGHT);
      ctx.globalAlpha = 1;
    }
    // segment boundaries as thin gaps
    ctx.fillStyle = "rgba(255,255,255,0.7)";
    const segs = this.segments();
    if (segs.length <= W / 3) for (const s of segs) ctx.fillRect(Math.floor(((s.start - this.start) / n) * W), 0, 1, HEIGHT);
    const key = `${W}:${n}`;
    if (key !== this.xKey) {
      this.xKey = key;
      clear(this.xBox);
      this.xBox.appendChild(bottomAxis(W, niceTicks(0, n, Math.max(2, Math.floor(W / 90))), (v) => (v / n) * W, ""));
    }
  }
}
