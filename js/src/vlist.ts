// A virtualised list of variable-height rows: every row exists as a light placeholder (a div
// with an estimated or measured height), and only the rows near the viewport hold content.
// Visibility is computed synchronously from scrollTop and the rows' offsets, so a render or an
// append is finished (and measurable) when the call returns.

import { lowerBound } from "./dom";

export interface RowRenderer {
  /** Estimated height in pixels of row i before it is rendered. */
  estimate(i: number): number;
  /** Fill `el` (already empty) with row i. */
  render(i: number, el: HTMLElement): void;
}

const MARGIN_PX = 600;

export class VirtualList {
  readonly scroller: HTMLElement;
  private rows: HTMLElement[] = [];
  private rendered = new Set<number>();
  private heights: number[] = [];
  private frame = 0;
  follow = true;

  constructor(scroller: HTMLElement, private renderer: RowRenderer, private rowClass = "wb-row") {
    this.scroller = scroller;
    scroller.addEventListener("scroll", () => {
      const s = this.scroller;
      this.follow = s.scrollTop + s.clientHeight >= s.scrollHeight - 24;
      if (!this.frame) this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.update();
      });
    });
  }

  get count(): number {
    return this.rows.length;
  }

  isRendered(i: number): boolean {
    return this.rendered.has(i);
  }

  /** Grow or shrink to n rows (new rows are placeholders). */
  setCount(n: number): void {
    while (this.rows.length > n) {
      const el = this.rows.pop()!;
      this.rendered.delete(this.rows.length);
      this.heights.pop();
      el.remove();
    }
    if (this.rows.length < n) {
      const frag = document.createDocumentFragment();
      for (let i = this.rows.length; i < n; i++) {
        const el = document.createElement("div");
        el.className = this.rowClass;
        const est = Math.max(1, Math.round(this.renderer.estimate(i)));
        el.style.height = `${est}px`;
        this.heights.push(est);
        this.rows.push(el);
        frag.appendChild(el);
      }
      this.scroller.appendChild(frag);
    }
  }

  /** Forget everything (after a reset of the data). */
  reset(n: number): void {
    for (const el of this.rows) el.remove();
    this.rows = [];
    this.heights = [];
    this.rendered.clear();
    this.setCount(n);
  }

  /** Re-render row i if it is on screen, else re-estimate it. */
  invalidate(i: number): void {
    const el = this.rows[i];
    if (!el) return;
    if (this.rendered.has(i)) {
      this.fill(i);
    } else {
      const est = Math.max(1, Math.round(this.renderer.estimate(i)));
      this.heights[i] = est;
      el.style.height = `${est}px`;
    }
  }

  invalidateAll(): void {
    for (let i = 0; i < this.rows.length; i++) this.invalidate(i);
  }

  private fill(i: number): void {
    const el = this.rows[i];
    while (el.firstChild) el.removeChild(el.firstChild);
    el.style.height = "";
    this.renderer.render(i, el);
    this.rendered.add(i);
  }

  private unfill(i: number): void {
    const el = this.rows[i];
    const hgt = el.offsetHeight || this.heights[i];
    this.heights[i] = hgt;
    while (el.firstChild) el.removeChild(el.firstChild);
    el.style.height = `${hgt}px`;
    this.rendered.delete(i);
  }

  /** Render the rows in (or near) the viewport; empty the ones far from it. */
  update(): void {
    const n = this.rows.length;
    if (n === 0) return;
    const top = this.scroller.scrollTop - MARGIN_PX;
    const bottom = this.scroller.scrollTop + (this.scroller.clientHeight || 400) + MARGIN_PX;
    const base = this.rows[0].offsetTop;
    const first = Math.max(0, lowerBound(n, (k) => this.rows[k].offsetTop - base + this.rows[k].offsetHeight, top + 1));
    let i = first;
    for (; i < n; i++) {
      if (this.rows[i].offsetTop - base > bottom) break;
      if (!this.rendered.has(i)) this.fill(i);
    }
    const last = i;
    for (const k of [...this.rendered]) if (k < first - 2 || k > last + 2) this.unfill(k);
  }

  scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.update();
  }

  /** Scroll so that row i (and the fraction `frac` of its height) is in view. */
  scrollToRow(i: number, frac = 0): void {
    const el = this.rows[i];
    if (!el) return;
    this.follow = false;
    if (!this.rendered.has(i)) this.fill(i);
    const base = this.rows[0].offsetTop;
    const y = el.offsetTop - base + frac * el.offsetHeight - this.scroller.clientHeight / 3;
    this.scroller.scrollTop = Math.max(0, y);
    this.update();
  }

  row(i: number): HTMLElement | undefined {
    return this.rows[i];
  }
}
