// A windowed list of fixed-height rows: only the rows in (or near) the viewport exist in the
// DOM, so 100k rows cost as much as 30. Past MAX_PX of content the scroll position maps to rows
// proportionally (browsers cap an element's height), so any count scrolls end to end.

const MAX_PX = 8_000_000;
const OVERSCAN = 6;

export interface RowWindowOptions {
  rowHeight: number;
  /** Fill `el` (already empty) with row i. */
  render(i: number, el: HTMLElement): void;
  /** Called after each update with the rows now visible: [first, last]. */
  onRange?(first: number, last: number): void;
}

export class RowWindow {
  readonly scroller: HTMLElement;
  private content: HTMLElement;
  private rows = new Map<number, HTMLElement>();
  private n = 0;
  private frame = 0;

  constructor(scroller: HTMLElement, private opts: RowWindowOptions) {
    this.scroller = scroller;
    this.content = document.createElement("div");
    this.content.className = "wb-rows-content";
    this.content.style.position = "relative";
    scroller.appendChild(this.content);
    scroller.addEventListener("scroll", () => this.schedule());
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => this.schedule()).observe(scroller);
  }

  get count(): number {
    return this.n;
  }

  private get realHeight(): number {
    return Math.min(this.n * this.opts.rowHeight, MAX_PX);
  }

  /** Scale between the virtual offset (n * rowHeight) and the real scroll offset. */
  private ratio(): number {
    const view = this.scroller.clientHeight || 400;
    const virtual = this.n * this.opts.rowHeight;
    const real = this.realHeight;
    if (virtual <= real || real <= view) return 1;
    return (virtual - view) / (real - view);
  }

  setCount(n: number): void {
    this.n = Math.max(0, n);
    this.content.style.height = `${this.realHeight}px`;
    for (const [i, el] of this.rows) {
      if (i >= this.n) {
        el.remove();
        this.rows.delete(i);
      }
    }
    this.update();
  }

  /** Change the height of every row (the rows in the DOM are laid out again). */
  setRowHeight(px: number): void {
    if (px === this.opts.rowHeight) return;
    this.opts.rowHeight = px;
    for (const el of this.rows.values()) el.remove();
    this.rows.clear();
    this.setCount(this.n);
  }

  /** Re-render every row in the DOM (data arrived or changed). */
  refresh(): void {
    for (const [i, el] of this.rows) this.fill(i, el);
  }

  /** Re-render row i if it is in the DOM. */
  invalidate(i: number): void {
    const el = this.rows.get(i);
    if (el) this.fill(i, el);
  }

  private fill(i: number, el: HTMLElement): void {
    while (el.firstChild) el.removeChild(el.firstChild);
    el.dataset.index = String(i);
    this.opts.render(i, el);
  }

  private schedule(): void {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.update();
      });
    }
  }

  /** The rows in view now: [first, last] (last < first when empty). */
  visible(): [number, number] {
    const h = this.opts.rowHeight;
    const top = this.scroller.scrollTop * this.ratio();
    const view = this.scroller.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / h));
    const last = Math.min(this.n - 1, Math.floor((top + view) / h));
    return [first, last];
  }

  update(): void {
    const h = this.opts.rowHeight;
    const [first, last] = this.visible();
    const lo = Math.max(0, first - OVERSCAN);
    const hi = Math.min(this.n - 1, last + OVERSCAN);
    for (const [i, el] of this.rows) {
      if (i < lo || i > hi) {
        el.remove();
        this.rows.delete(i);
      }
    }
    const ratio = this.ratio();
    const shift = this.scroller.scrollTop - this.scroller.scrollTop * ratio; // 0 unless scaled
    for (let i = lo; i <= hi; i++) {
      let el = this.rows.get(i);
      if (!el) {
        el = document.createElement("div");
        el.className = "wb-brow";
        el.style.position = "absolute";
        el.style.left = "0";
        el.style.right = "0";
        el.style.height = `${h}px`;
        this.rows.set(i, el);
        this.content.appendChild(el);
        this.fill(i, el);
      }
      el.style.top = `${Math.round(i * h + shift)}px`;
    }
    if (this.opts.onRange && this.n > 0) this.opts.onRange(first, last);
  }

  /** Scroll so that row i is in view. */
  scrollToRow(i: number): void {
    const h = this.opts.rowHeight;
    const view = this.scroller.clientHeight || 400;
    const [first, last] = this.visible();
    if (i >= first + 1 && i <= last - 1) return;
    const virtualTop = i < first + 1 ? i * h : (i + 1) * h - view;
    this.scroller.scrollTop = Math.max(0, virtualTop / this.ratio());
    this.update();
  }

  row(i: number): HTMLElement | undefined {
    return this.rows.get(i);
  }
}
