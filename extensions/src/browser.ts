// The sidebar trajectory browser: filters (text, model, status, grade, tags), sort, and a windowed
// list that fetches 100-row pages from the server extension as they scroll into view. No kernel.

import { Widget } from "@lumino/widgets";
import { button, clear, fmt, h, setText } from "../../js/src/dom";
import { Api, ApiError } from "./api";
import { RowWindow } from "./rows";
import type { Filters, Row, StoreInfo } from "./types";
import type { Navigator } from "./viewer";

export const PAGE = 100;
const ROW_HEIGHT = 48;
/** Rows during a text search have a third line: the snippet around the first match. */
const SEARCH_ROW_HEIGHT = 66;
const KEEP_PAGES = 60;
const FETCH_DELAY_MS = 40;
const SEARCH_DELAY_MS = 350;

const SORTS: [string, string, "asc" | "desc"][] = [
  ["newest first", "created", "desc"],
  ["oldest first", "created", "asc"],
  ["grade: high to low", "grade", "desc"],
  ["grade: low to high", "grade", "asc"],
  ["longest thinking", "thinking_chars", "desc"],
  ["shortest thinking", "thinking_chars", "asc"],
  ["model A–Z", "model", "asc"],
  ["id", "id", "asc"],
];

export function emptyFilters(): Filters {
  return { search: "", model: "", status: "", grade: "", gradeMin: "", tags: [], sort: "created", order: "desc" };
}

function select(label: string, cls: string): HTMLSelectElement {
  const el = h("select", { class: `wb-select ${cls}`, label, title: label });
  return el;
}

function option(value: string, text: string): HTMLOptionElement {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  return o;
}

export class BrowserPanel extends Widget implements Navigator {
  private filters = emptyFilters();
  private info: StoreInfo | null = null;
  private total = 0;
  /** Whether `total` is a search estimate (the last page corrects it). */
  private estimated = false;
  private generation = 0;
  private pages = new Map<number, Row[]>();
  private inflight = new Map<number, Promise<void>>();
  private fetchTimer = 0;
  private searchTimer = 0;
  private selectedIndex = -1;
  private list: RowWindow;
  private searchInput = h("input", { class: "wb-b-search", type: "search", placeholder: "search prompts and outputs…", label: "search text" });
  private modelSel = select("model", "wb-b-model");
  private statusSel = select("status", "wb-b-status");
  private gradeSel = select("grade", "wb-b-grade");
  private minInput = h("input", { class: "wb-b-min", type: "number", placeholder: "score ≥", label: "minimum grade score" });
  private tagsInput = h("input", { class: "wb-b-tags", type: "text", placeholder: "tags (comma-separated, all)", label: "tags" });
  private tagList = document.createElement("datalist");
  private sortSel = select("sort", "wb-b-sort");
  private countEl = h("div", { class: "wb-b-count", role: "status" });
  private storeEl = h("div", { class: "wb-b-store" });
  private errorEl = h("div", { class: "wb-error wb-b-error", role: "alert" });

  constructor(private api: Api, private open: (id: string) => void) {
    super();
    this.id = "wb-trajectory-browser";
    this.addClass("wb-root");
    this.addClass("wb-browser");
    this.title.caption = "Trajectories (workbench store)";
    this.tagList.id = "wb-b-taglist";
    this.tagsInput.setAttribute("list", this.tagList.id);
    for (const [text, value] of [["any grade", ""], ["correct", "correct"], ["incorrect", "incorrect"], ["graded", "graded"], ["ungraded", "ungraded"]]) {
      this.gradeSel.appendChild(option(value, text));
    }
    SORTS.forEach(([text], i) => this.sortSel.appendChild(option(String(i), text)));
    this.minInput.step = "any";
    const scroller = h("div", { class: "wb-b-rows", role: "listbox", label: "trajectories", tabindex: 0 });
    this.list = new RowWindow(scroller, {
      rowHeight: ROW_HEIGHT,
      render: (i, el) => this.renderRow(i, el),
      onRange: (first, last) => this.want(first, last),
    });
    this.node.appendChild(
      h("div", { class: "wb-b-head" }, [
        h("div", { class: "wb-b-title" }, [
          h("span", { class: "wb-b-name", text: "Trajectories" }),
          button("↻", "reload the store summary and the list", () => void this.refresh(), "wb-small wb-b-refresh"),
          button("clear", "clear every filter", () => this.clearFilters(), "wb-small wb-b-clear"),
        ]),
        this.storeEl,
        this.searchInput,
        h("div", { class: "wb-b-filters" }, [this.modelSel, this.statusSel, this.gradeSel, this.minInput]),
        h("div", { class: "wb-b-filters" }, [this.tagsInput, this.sortSel]),
        this.tagList,
        this.countEl,
        this.errorEl,
      ]),
    );
    this.node.appendChild(scroller);
    this.searchInput.addEventListener("input", () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.readFilters(), SEARCH_DELAY_MS);
    });
    this.searchInput.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        window.clearTimeout(this.searchTimer);
        this.readFilters();
      }
    });
    for (const el of [this.modelSel, this.statusSel, this.gradeSel, this.sortSel]) el.addEventListener("change", () => this.readFilters());
    this.minInput.addEventListener("change", () => this.readFilters());
    this.tagsInput.addEventListener("change", () => this.readFilters());
    this.tagsInput.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") this.readFilters();
    });
    scroller.addEventListener("click", (ev) => {
      const row = (ev.target as HTMLElement).closest("[data-index]") as HTMLElement | null;
      if (row) this.openRow(Number(row.dataset.index));
    });
    scroller.addEventListener("keydown", (ev) => this.onKey(ev));
    void this.refresh();
  }

  /** Reload the store summary (models, statuses, tags) and the list. */
  async refresh(): Promise<void> {
    setText(this.errorEl, "");
    const first = this.reload();
    try {
      this.info = await this.api.info();
      this.fillOptions(this.info);
    } catch (err) {
      this.showError(err);
    }
    await first;
  }

  private fillOptions(info: StoreInfo): void {
    setText(this.storeEl, `store: ${info.store} · ${info.total.toLocaleString()} trajectories · ${info.annotations.toLocaleString()} annotations`);
    this.storeEl.title = info.store;
    const fill = (sel: HTMLSelectElement, any: string, counts: Record<string, number>, current: string) => {
      clear(sel);
      sel.appendChild(option("", any));
      for (const [name, n] of Object.entries(counts)) {
        if (name === "(none)") continue;
        sel.appendChild(option(name, `${name} (${n.toLocaleString()})`));
      }
      sel.value = current;
    };
    fill(this.modelSel, "any model", info.models, this.filters.model);
    fill(this.statusSel, "any status", info.statuses, this.filters.status);
    clear(this.tagList);
    for (const tag of Object.keys(info.tags).slice(0, 500)) this.tagList.appendChild(option(tag, tag));
  }

  private clearFilters(): void {
    this.searchInput.value = "";
    this.modelSel.value = "";
    this.statusSel.value = "";
    this.gradeSel.value = "";
    this.minInput.value = "";
    this.tagsInput.value = "";
    this.sortSel.value = "0";
    this.readFilters();
  }

  private readFilters(): void {
    const [, sort, order] = SORTS[Number(this.sortSel.value) || 0];
    const next: Filters = {
      search: this.searchInput.value,
      model: this.modelSel.value,
      status: this.statusSel.value,
      grade: this.gradeSel.value,
      gradeMin: this.minInput.value,
      tags: this.tagsInput.value.split(",").map((t) => t.trim()).filter((t) => t),
      sort,
      order,
    };
    if (JSON.stringify(next) === JSON.stringify(this.filters)) return;
    this.filters = next;
    void this.reload();
  }

  /** Start the current query again: count it and fetch its first page. A text search scans
   *  every text to count, so its first page is asked for separately and shows first. */
  private async reload(): Promise<void> {
    this.generation += 1;
    const gen = this.generation;
    this.pages.clear();
    this.inflight.clear();
    this.selectedIndex = -1;
    setText(this.countEl, "loading…");
    this.node.classList.add("wb-b-loading");
    const filters = this.filters;
    const separate = filters.search.trim() !== "";
    const counted = separate ? this.api.page(filters, 0, 1, true) : null;
    counted?.catch(() => undefined); // awaited below, unless the page fails first
    try {
      const page = await this.api.page(filters, 0, PAGE, !separate);
      if (gen !== this.generation) return;
      setText(this.errorEl, "");
      this.list.setRowHeight(separate ? SEARCH_ROW_HEIGHT : ROW_HEIGHT);
      this.estimated = false;
      this.pages.set(0, page.rows);
      this.list.scroller.scrollTop = 0;
      if (page.total !== undefined || page.rows.length < PAGE) {
        this.setTotal(page.total ?? page.rows.length);
      } else {
        this.total = page.rows.length;
        this.list.setCount(this.total);
        this.list.refresh();
        setText(this.countEl, `${this.total.toLocaleString()}+ trajectories, counting…`);
      }
      if (counted) {
        const all = await counted;
        if (gen !== this.generation) return;
        this.estimated = all.total_exact === false;
        this.setTotal(all.total ?? this.total);
      }
    } catch (err) {
      if (gen !== this.generation) return;
      this.total = 0;
      this.list.setCount(0);
      setText(this.countEl, "");
      this.showError(err);
    } finally {
      if (gen === this.generation) this.node.classList.remove("wb-b-loading");
    }
  }

  private setTotal(total: number): void {
    this.total = total;
    this.list.setCount(total);
    this.list.refresh();
    const all = this.info?.total;
    setText(
      this.countEl,
      (this.estimated ? "about " : "") +
        (all !== undefined && all !== total ? `${total.toLocaleString()} of ${all.toLocaleString()} trajectories` : `${total.toLocaleString()} trajectories`),
    );
    this.countEl.title = this.estimated ? "an estimate from the first matches (counting every match of a common text would read most of the store)" : "";
  }

  private showError(err: unknown): void {
    setText(this.errorEl, err instanceof ApiError || err instanceof Error ? err.message : String(err));
  }

  /** Rows [first, last] came into view: fetch their pages (and the next) soon. */
  private want(first: number, last: number): void {
    window.clearTimeout(this.fetchTimer);
    const wanted: number[] = [];
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE) + 1; p++) {
      if (p * PAGE < this.total && !this.pages.has(p) && !this.inflight.has(p)) wanted.push(p);
    }
    if (!wanted.length) return;
    this.fetchTimer = window.setTimeout(() => {
      for (const p of wanted) void this.fetchPage(p);
    }, FETCH_DELAY_MS);
  }

  private fetchPage(p: number): Promise<void> {
    const existing = this.inflight.get(p);
    if (existing) return existing;
    const gen = this.generation;
    const job = this.api
      .page(this.filters, p * PAGE, PAGE, false)
      .then((page) => {
        if (gen !== this.generation) return;
        this.pages.set(p, page.rows);
        this.evict(p);
        if (this.estimated && page.rows.length < PAGE) {
          // the estimated total overshot (or undershot): the last page says where the list ends
          this.estimated = false;
          this.setTotal(p * PAGE + page.rows.length);
        }
        for (let i = p * PAGE; i < p * PAGE + page.rows.length; i++) this.list.invalidate(i);
      })
      .catch((err) => {
        if (gen === this.generation) this.showError(err);
      })
      .finally(() => {
        if (gen === this.generation) this.inflight.delete(p);
      });
    this.inflight.set(p, job);
    return job;
  }

  private evict(keep: number): void {
    if (this.pages.size <= KEEP_PAGES) return;
    const far = [...this.pages.keys()].sort((a, b) => Math.abs(b - keep) - Math.abs(a - keep));
    for (const p of far.slice(0, this.pages.size - KEEP_PAGES)) if (p !== 0) this.pages.delete(p);
  }

  private rowAt(i: number): Row | undefined {
    return this.pages.get(Math.floor(i / PAGE))?.[i % PAGE];
  }

  private renderRow(i: number, el: HTMLElement): void {
    const row = this.rowAt(i);
    el.setAttribute("role", "option");
    el.classList.toggle("wb-selected-row", i === this.selectedIndex);
    el.setAttribute("aria-selected", i === this.selectedIndex ? "true" : "false");
    if (!row) {
      el.classList.add("wb-brow-pending");
      el.appendChild(h("div", { class: "wb-brow-title", text: "…" }));
      return;
    }
    el.classList.remove("wb-brow-pending");
    el.dataset.id = row.id;
    const grade = row.correct === true ? "✓ correct" : row.correct === false ? "✗ incorrect" : row.grade === null ? "" : `grade ${fmt(row.grade, 2)}`;
    const meta = h("div", { class: "wb-brow-meta" }, [
      h("span", { class: "wb-model", text: row.model ?? "(no model)" }),
      h("span", { class: `wb-status wb-status-${["complete", "partial", "cancelled", "error"].includes(row.status) ? row.status : "x"}`, text: row.status }),
    ]);
    if (grade) meta.appendChild(h("span", { class: `wb-brow-grade${row.correct === false ? " wb-bad" : row.correct ? " wb-good" : ""}`, text: grade }));
    meta.appendChild(h("span", { class: "wb-stat", text: `${row.thinking_chars.toLocaleString()} think chars` }));
    for (const tag of row.tags.slice(0, 3)) meta.appendChild(h("span", { class: "wb-x-tag", text: tag }));
    el.appendChild(h("div", { class: "wb-brow-title", text: row.prompt || row.id, title: `${row.prompt}\n${row.id}` }));
    el.appendChild(meta);
    const snip = row.snippet;
    if (snip) {
      const flat = (text: string): string => text.replace(/\s+/g, " ");
      el.appendChild(
        h("div", { class: "wb-brow-snippet", title: `${snip.field}: ${flat(snip.before + snip.match + snip.after)}` }, [
          h("span", { class: "wb-brow-field", text: snip.field }),
          // a narrow panel shows the match: keep only the end of the text before it
          document.createTextNode(flat(snip.before).length > 24 ? `…${flat(snip.before).slice(-24)}` : flat(snip.before)),
          h("mark", { text: flat(snip.match) }),
          document.createTextNode(flat(snip.after)),
        ]),
      );
    }
  }

  private setSelected(i: number): void {
    const prev = this.selectedIndex;
    this.selectedIndex = i;
    if (prev >= 0) this.list.invalidate(prev);
    this.list.invalidate(i);
    this.list.scrollToRow(i);
  }

  private openRow(i: number): void {
    const row = this.rowAt(i);
    if (!row) return;
    this.setSelected(i);
    this.open(row.id);
  }

  private onKey(ev: KeyboardEvent): void {
    if (!this.total) return;
    let handled = true;
    if (ev.key === "ArrowDown" || ev.key === "j") this.setSelected(Math.min(this.total - 1, this.selectedIndex + 1));
    else if (ev.key === "ArrowUp" || ev.key === "k") this.setSelected(Math.max(0, this.selectedIndex - 1));
    else if (ev.key === "PageDown") this.setSelected(Math.min(this.total - 1, Math.max(0, this.selectedIndex) + 20));
    else if (ev.key === "PageUp") this.setSelected(Math.max(0, this.selectedIndex - 20));
    else if (ev.key === "Home") this.setSelected(0);
    else if (ev.key === "End") this.setSelected(this.total - 1);
    else if (ev.key === "Enter" && this.selectedIndex >= 0) this.openRow(this.selectedIndex);
    else handled = false;
    if (handled) {
      ev.preventDefault();
      ev.stopPropagation();
    }
  }

  /** Navigator: the id `step` rows after `id` in the current list (fetching its page if needed). */
  async neighbour(id: string, step: number): Promise<string | null> {
    let index = -1;
    for (const [p, rows] of this.pages) {
      const k = rows.findIndex((r) => r.id === id);
      if (k >= 0) {
        index = p * PAGE + k;
        break;
      }
    }
    if (index < 0) return null;
    const target = index + step;
    if (target < 0 || target >= this.total) return null;
    const p = Math.floor(target / PAGE);
    if (!this.pages.has(p)) await this.fetchPage(p);
    const row = this.rowAt(target);
    if (!row) return null;
    this.setSelected(target);
    return row.id;
  }
}
