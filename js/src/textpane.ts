// A scrolling, virtualised view of a range of a sample's raw text (its thinking or its answer):
// one row per text chunk, decorated with pattern segments, keyword hits and token shading.

import type { SegmentInfo } from "./protocol.generated";
import { colourIndex, h } from "./dom";
import { Decorations, TextStore, TokenStore } from "./textstore";
import { VirtualList } from "./vlist";

export type Shade = "none" | "logprob" | "entropy";

export interface SampleData {
  text: TextStore;
  tokens: TokenStore;
  deco: Decorations;
}

export interface PaneOptions {
  labels: () => readonly string[];
  shade: () => Shade;
  selected?: () => string | null;
  /** A raw-text range to highlight (a token range brushed in a chart). */
  highlight?: () => readonly [number, number] | null;
  onSegmentClick?: (seg: SegmentInfo) => void;
  /** A click on the text: the raw-text position under the pointer (no click on a selection). */
  onTextClick?: (pos: number, ev: MouseEvent) => void;
  /** Ranges [start, end) drawn with a class (a fork's forced text, a branch point). */
  marks?: () => readonly (readonly [number, number, string])[];
}

/** The raw-text position under a click in a pane row (rows carry their start as data-start). */
function positionAt(ev: MouseEvent): number | null {
  const doc = document as Document & { caretPositionFromPoint?: (x: number, y: number) => { offsetNode: Node; offset: number } | null };
  let node: Node | null = null;
  let offset = 0;
  if (doc.caretPositionFromPoint) {
    const p = doc.caretPositionFromPoint(ev.clientX, ev.clientY);
    if (p) [node, offset] = [p.offsetNode, p.offset];
  } else if (document.caretRangeFromPoint) {
    const r = document.caretRangeFromPoint(ev.clientX, ev.clientY);
    if (r) [node, offset] = [r.startContainer, r.startOffset];
  }
  if (!node || node.nodeType !== Node.TEXT_NODE) return null;
  const row = (node.parentElement as HTMLElement | null)?.closest<HTMLElement>("[data-start]");
  if (!row) return null;
  let pos = Number(row.dataset.start);
  const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (t === node) return pos + offset;
    pos += (t.textContent ?? "").length;
  }
  return null;
}

const SHADES = 8;

function shadeClass(data: SampleData, shade: Shade, t: number): string {
  if (shade === "logprob" && data.tokens.logprobs) {
    // surprise: 0 for a sure token, saturating at 6 nats
    const v = Math.min(1, Math.max(0, -data.tokens.logprobs[t] / 6));
    return `wb-shade-${Math.min(SHADES - 1, Math.floor(v * SHADES))}`;
  }
  if (shade === "entropy" && data.tokens.entropies) {
    const v = Math.min(1, Math.max(0, data.tokens.entropies[t] / 4));
    return `wb-shade-${Math.min(SHADES - 1, Math.floor(v * SHADES))}`;
  }
  return "";
}

export class TextPane {
  readonly el: HTMLElement;
  readonly list: VirtualList;
  /** Raw-text range shown: [start, end); end null = up to the end of the text. */
  start = 0;
  end: number | null = null;
  private firstChunk = 0;

  constructor(private data: SampleData, private opts: PaneOptions, cls: string) {
    this.el = h("div", { class: `wb-pane ${cls}` });
    this.list = new VirtualList(this.el, {
      estimate: (i) => this.estimate(i),
      render: (i, el) => this.renderRow(i, el),
    });
    this.el.addEventListener("click", (ev) => {
      const target = ev.target as HTMLElement;
      const pos = Number(target?.dataset?.pos);
      if (!Number.isFinite(pos) || !this.opts.onSegmentClick) return;
      const seg = this.data.deco.segmentAt(pos);
      if (seg) this.opts.onSegmentClick(seg);
    });
    if (this.opts.onTextClick) {
      const onText = this.opts.onTextClick;
      this.el.classList.add("wb-clickable");
      this.el.addEventListener("click", (ev) => {
        const sel = window.getSelection();
        if (sel && !sel.isCollapsed) return; // the reader is selecting text, not clicking a token
        const pos = positionAt(ev);
        if (pos !== null) onText(pos, ev);
      });
    }
  }

  private rangeEnd(): number {
    return this.end === null ? this.data.text.length : Math.min(this.end, this.data.text.length);
  }

  /** Chunk-aligned rows covering [start, end). */
  private rowBounds(i: number): [number, number] {
    const c = this.data.text.chunks[this.firstChunk + i];
    if (!c) return [0, 0];
    return [Math.max(this.start, c.start), Math.min(this.rangeEnd(), c.start + c.text.length)];
  }

  private estimate(i: number): number {
    const [a, b] = this.rowBounds(i);
    const width = this.el.clientWidth || 600;
    const perLine = Math.max(20, Math.floor(width / 7.4));
    const text = this.data.text.chunks[this.firstChunk + i]?.text ?? "";
    let lines = 0;
    let run = 0;
    const c0 = this.data.text.chunks[this.firstChunk + i]?.start ?? 0;
    for (let k = a - c0; k < b - c0; k++) {
      if (text.charCodeAt(k) === 10) {
        lines += 1 + Math.floor(run / perLine);
        run = 0;
      } else run++;
    }
    lines += run > 0 ? 1 + Math.floor(run / perLine) : 0;
    return Math.max(lines, 1) * 18;
  }

  /** Recompute rows after the text grew or the range changed; return rows whose text changed. */
  sync(): void {
    const text = this.data.text;
    const end = this.rangeEnd();
    this.firstChunk = text.chunkAt(this.start);
    const lastChunk = end > this.start ? text.chunkAt(Math.max(this.start, end - 1)) : this.firstChunk - 1;
    const n = Math.max(0, lastChunk - this.firstChunk + 1);
    const before = this.list.count;
    this.list.setCount(n);
    if (before > 0 && before <= n) this.list.invalidate(before - 1);
  }

  /** Rebuild every row (after a range change or a reset). */
  rebuild(): void {
    const text = this.data.text;
    this.firstChunk = text.chunkAt(this.start);
    const end = this.rangeEnd();
    const lastChunk = end > this.start ? text.chunkAt(Math.max(this.start, end - 1)) : this.firstChunk - 1;
    this.list.reset(Math.max(0, lastChunk - this.firstChunk + 1));
  }

  /** Re-render the rows overlapping raw range [a, b). */
  invalidateRange(a: number, b: number): void {
    const text = this.data.text;
    const lo = Math.max(0, text.chunkAt(Math.max(a, this.start)) - this.firstChunk);
    const hi = Math.min(this.list.count - 1, text.chunkAt(Math.max(a, b - 1)) - this.firstChunk);
    for (let i = lo; i <= hi; i++) this.list.invalidate(i);
  }

  afterAppend(): void {
    if (this.list.follow) this.list.scrollToBottom();
    else this.list.update();
  }

  scrollToChar(pos: number): void {
    const text = this.data.text;
    const i = text.chunkAt(pos) - this.firstChunk;
    if (i < 0 || i >= this.list.count) return;
    const [a, b] = this.rowBounds(i);
    this.list.scrollToRow(i, b > a ? (pos - a) / (b - a) : 0);
    const row = this.list.row(i);
    if (row) {
      row.classList.add("wb-flash");
      setTimeout(() => row.classList.remove("wb-flash"), 1200);
    }
  }

  private renderRow(i: number, el: HTMLElement): void {
    const [a, b] = this.rowBounds(i);
    if (b <= a) return;
    el.dataset.start = String(a);
    const data = this.data;
    const text = data.text.slice(a, b);
    const shade = this.opts.shade();
    const labels = this.opts.labels();
    const selected = this.opts.selected ? this.opts.selected() : null;
    const segs = data.deco.segmentsIn(a, b);
    const hits = data.deco.hitsIn(a, b);
    const cuts = new Set<number>([a, b]);
    const hl = this.opts.highlight ? this.opts.highlight() : null;
    if (hl) for (const p of hl) if (p > a && p < b) cuts.add(p);
    const marks = (this.opts.marks ? this.opts.marks() : []).filter((m) => m[0] < b && m[1] > a && m[1] > m[0]);
    for (const m of marks) for (const p of [m[0], m[1]]) if (p > a && p < b) cuts.add(p);
    for (const s of segs) {
      if (s.start > a && s.start < b) cuts.add(s.start);
      if (s.end > a && s.end < b) cuts.add(s.end);
    }
    for (const hh of hits) {
      if (hh.start > a && hh.start < b) cuts.add(hh.start);
      if (hh.end > a && hh.end < b) cuts.add(hh.end);
    }
    const shading = shade !== "none" && data.tokens.n > 0;
    let t = shading ? data.tokens.firstAfter(a) : 0;
    if (shading) {
      for (let k = t; k < data.tokens.n && data.tokens.starts[k] < b; k++) {
        const s = data.tokens.starts[k];
        if (s > a) cuts.add(s);
      }
    }
    const points = [...cuts].sort((x, y) => x - y);
    let si = 0;
    let hi = 0;
    const frag = document.createDocumentFragment();
    for (let k = 0; k + 1 < points.length; k++) {
      const x = points[k];
      const y = points[k + 1];
      const piece = text.slice(x - a, y - a);
      while (si < segs.length && segs[si].end <= x) si++;
      while (hi < hits.length && hits[hi].end <= x) hi++;
      const seg = segs.find((s) => s.start <= x && x < s.end) ?? null;
      const hit = hi < hits.length && hits[hi].start <= x && x < hits[hi].end ? hits[hi] : null;
      let cls = "";
      if (seg) {
        const label = seg.human_label ?? seg.label;
        const c = colourIndex(label, labels);
        cls += c >= 0 ? ` wb-seg wb-c${c}` : " wb-seg";
        if (!seg.closed) cls += " wb-open";
        if (x === seg.start) cls += " wb-seg-start";
        if (selected !== null && seg.id === selected) cls += " wb-selected";
      }
      if (hit) cls += " wb-hit";
      if (hl && hl[0] <= x && x < hl[1]) cls += " wb-brushed";
      for (const m of marks) if (m[0] <= x && x < m[1]) cls += ` ${m[2]}`;
      if (shading) {
        while (t < data.tokens.n && data.tokens.ends[t] <= x) t++;
        if (t < data.tokens.n && data.tokens.starts[t] <= x) cls += ` ${shadeClass(data, shade, t)}`;
      }
      if (cls) {
        const span = document.createElement("span");
        span.className = cls.trim();
        span.textContent = piece;
        span.dataset.pos = String(x);
        if (seg && x === seg.start) span.title = `${seg.index}: ${seg.human_label ?? seg.label ?? "unlabelled"}`;
        frag.appendChild(span);
      } else {
        frag.appendChild(document.createTextNode(piece));
      }
    }
    el.appendChild(frag);
  }
}
