// Stats panel: keyword and pattern statistics as bar charts (SVG drawn here, bundled, no CDN);
// clicking a bar selects it and filters the trace list; the selection goes back to the kernel.

import type { StatsMsg, TraceRow } from "./protocol.generated";
import { Channel, type Model } from "./channel";
import { clear, clip, colourIndex, fmt, h, setText, svg } from "./dom";

interface Bar {
  name: string;
  value: number;
  sub: string;
  cls: string;
}

export class StatsView {
  readonly root: HTMLElement;
  private data: StatsMsg | null = null;
  private selection: { kind: string; value: string | null } = { kind: "none", value: null };
  private kwBox: HTMLElement;
  private patBox: HTMLElement;
  private listEl: HTMLElement;
  private countEl: HTMLElement;
  private selEl: HTMLElement;

  constructor(private ch: Channel, private model: Model) {
    this.kwBox = h("div", { class: "wb-chart" });
    this.patBox = h("div", { class: "wb-chart" });
    this.listEl = h("div", { class: "wb-trace-list", role: "list" });
    this.countEl = h("span", { class: "wb-count" });
    this.selEl = h("span", { class: "wb-selection" });
    const clearBtn = h("button", { class: "wb-btn wb-small", text: "clear selection", type: "button" });
    clearBtn.addEventListener("click", () => this.select("none", null));
    this.root = h("div", { class: "wb-stats" }, [
      h("div", { class: "wb-charts" }, [this.kwBox, this.patBox]),
      h("div", { class: "wb-toolbar" }, [this.selEl, clearBtn, h("span", { class: "wb-spacer" }), this.countEl]),
      this.listEl,
      ch.errorEl,
    ]);
    ch.onMessage((msg) => {
      if (msg.type !== "stats" || (msg.view && msg.view !== this.ch.viewId)) return;
      this.data = msg;
      const sel = this.model.get("selection") as { kind?: string; value?: string | null } | undefined;
      this.selection = { kind: sel?.kind ?? "none", value: sel?.value ?? null };
      this.draw();
    });
    ch.onChange("height", () => this.applyHeight());
    this.applyHeight();
  }

  private applyHeight(): void {
    const px = Math.max(120, Math.min(4000, Number(this.model.get("height")) || 320));
    this.listEl.style.maxHeight = `${Math.round(px)}px`;
  }

  private select(kind: string, value: string | null): void {
    if (this.selection.kind === kind && this.selection.value === value) {
      kind = "none";
      value = null;
    }
    this.selection = { kind, value };
    this.draw();
    this.ch.send({ type: "select", kind, value, ids: this.filtered().map((t) => t.id) });
  }

  private filtered(): TraceRow[] {
    const d = this.data;
    if (!d) return [];
    const { kind, value } = this.selection;
    if (kind === "keyword" && value !== null) return d.traces.filter((t) => t.keywords.includes(value));
    if (kind === "pattern" && value !== null) return d.traces.filter((t) => t.patterns.includes(value));
    return d.traces;
  }

  private chart(box: HTMLElement, title: string, kind: string, bars: Bar[]): void {
    clear(box);
    box.appendChild(h("div", { class: "wb-chart-title", text: title }));
    if (!bars.length) {
      box.appendChild(h("div", { class: "wb-empty", text: "nothing to show" }));
      return;
    }
    const rowH = 18;
    const labelW = 150;
    const width = 460;
    const max = Math.max(...bars.map((b) => b.value), 1e-9);
    const root = svg("svg", { width, height: bars.length * rowH + 4, viewBox: `0 0 ${width} ${bars.length * rowH + 4}` }, "wb-svg");
    bars.forEach((b, i) => {
      const g = svg("g", {}, "wb-bar-g");
      const selected = this.selection.kind === kind && this.selection.value === b.name;
      const y = i * rowH + 2;
      const w = Math.max(1, ((width - labelW - 150) * b.value) / max);
      const name = svg("text", { x: labelW - 6, y: y + 12, "text-anchor": "end" }, "wb-bar-label");
      name.textContent = clip(b.name, 24);
      const rect = svg("rect", { x: labelW, y, width: w, height: rowH - 4 }, `wb-bar ${b.cls}${selected ? " wb-bar-selected" : ""}`);
      const value = svg("text", { x: labelW + w + 4, y: y + 12 }, "wb-bar-value");
      value.textContent = b.sub;
      const tip = svg("title");
      tip.textContent = `${b.name}: ${b.sub}`;
      g.appendChild(tip);
      g.appendChild(name);
      g.appendChild(rect);
      g.appendChild(value);
      g.addEventListener("click", () => this.select(kind, b.name));
      root.appendChild(g);
    });
    box.appendChild(root);
  }

  draw(): void {
    const d = this.data;
    if (!d) return;
    const fromModel = (this.model.get("labels") as string[] | undefined) ?? [];
    const labels = fromModel.length ? fromModel : d.patterns.map((p) => p.label);
    this.chart(this.kwBox, `Keyword hits (${d.lexicon})`, "keyword",
      d.keywords.map((k) => ({ name: k.keyword, value: k.hits, sub: `${k.hits} in ${k.traces} traces`, cls: "wb-bar-kw" })));
    this.chart(this.patBox, `Thinking patterns (${d.taxonomy})`, "pattern",
      d.patterns.map((p) => ({ name: p.label, value: p.segments, sub: `${p.segments} segments, ${p.traces} traces`, cls: `wb-c${colourIndex(p.label, labels)}` })));
    const rows = this.filtered();
    setText(this.selEl, this.selection.kind === "none" ? "all traces" : `${this.selection.kind}: ${this.selection.value ?? ""}`);
    setText(this.countEl, `${rows.length} of ${d.traces.length} traces`);
    clear(this.listEl);
    const head = h("div", { class: "wb-trace-row wb-trace-head" }, [
      h("span", { text: "trace" }), h("span", { text: "model" }), h("span", { text: "hits" }),
      h("span", { text: "per 1k words" }), h("span", { text: "correct" }), h("span", { text: "patterns" }),
    ]);
    this.listEl.appendChild(head);
    for (const t of rows.slice(0, 500)) {
      const pats = h("span", { class: "wb-chips" });
      for (const p of t.patterns.slice(0, 6)) pats.appendChild(h("span", { class: `wb-label wb-c${colourIndex(p, labels)}`, text: p }));
      this.listEl.appendChild(h("div", { class: "wb-trace-row", role: "listitem" }, [
        h("span", { class: "wb-trace-title", text: clip(t.title, 80), title: t.id }),
        h("span", { text: t.model }),
        h("span", { text: String(t.hits) }),
        h("span", { text: t.per_1k_words === null ? "–" : fmt(t.per_1k_words) }),
        h("span", { text: t.correct === null ? "–" : t.correct ? "yes" : "no" }),
        pats,
      ]));
    }
    if (rows.length > 500) this.listEl.appendChild(h("div", { class: "wb-empty", text: `… ${rows.length - 500} more` }));
  }
}

export function renderStats(model: Model, el: HTMLElement): () => void {
  const ch = new Channel(model);
  const view = new StatsView(ch, model);
  el.appendChild(view.root);
  if (ch.protocolOk()) ch.ready();
  return () => ch.dispose();
}
