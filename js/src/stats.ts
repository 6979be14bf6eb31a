// Stats panel: keyword and pattern statistics as vega-lite bar charts (altair specs from the
// kernel, vega bundled, no CDN); clicking a bar selects it and filters the trace list and the
// other chart; the selection goes back to the kernel, which sends the filtered charts.

import type { StatsMsg, TraceRow } from "./protocol.generated";
import { Channel, type Model } from "./channel";
import { VegaChart } from "./charts";
import { clear, clip, colourIndex, fmt, h, setText } from "./dom";

export class StatsView {
  readonly root: HTMLElement;
  private data: StatsMsg | null = null;
  private selection: { kind: string; value: string | null } = { kind: "none", value: null };
  private kwChart: VegaChart;
  private patChart: VegaChart;
  private listEl: HTMLElement;
  private countEl: HTMLElement;
  private selEl: HTMLElement;

  constructor(private ch: Channel, private model: Model) {
    const source = () => String(this.model.get("_vega") ?? "");
    const onError = (m: string) => this.ch.showError(m);
    this.kwChart = new VegaChart(source, "keyword_hits", (d) => {
      if (d && typeof d.keyword === "string") this.select("keyword", d.keyword);
    }, onError);
    this.patChart = new VegaChart(source, "thinking_patterns", (d) => {
      if (d && typeof d.label === "string") this.select("pattern", d.label);
    }, onError);
    let lastWidth = 0;
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => {
      const w = this.root.clientWidth;
      if (Math.abs(w - lastWidth) > 20) {
        if (lastWidth) {
          this.kwChart.refit();
          this.patChart.refit();
        }
        lastWidth = w;
      }
    }) : null;
    ch.addCleanup(() => {
      ro?.disconnect();
      this.kwChart.dispose();
      this.patChart.dispose();
    });
    this.listEl = h("div", { class: "wb-trace-list", role: "list" });
    this.countEl = h("span", { class: "wb-count" });
    this.selEl = h("span", { class: "wb-selection" });
    const clearBtn = h("button", { class: "wb-btn wb-small", text: "clear selection", type: "button" });
    clearBtn.addEventListener("click", () => this.select("none", null));
    this.root = h("div", { class: "wb-stats" }, [
      h("div", { class: "wb-charts" }, [this.kwChart.el, this.patChart.el]),
      h("div", { class: "wb-toolbar" }, [this.selEl, clearBtn, h("span", { class: "wb-spacer" }), this.countEl]),
      this.listEl,
      ch.errorEl,
    ]);
    ro?.observe(this.root);
    ch.onMessage((msg) => {
      if (msg.type !== "stats" || (msg.view && msg.view !== this.ch.viewId)) return;
      this.data = msg;
      const sel = this.model.get("selection") as { kind?: string; value?: string | null } | undefined;
      this.selection = { kind: sel?.kind ?? "none", value: sel?.value ?? null };
      void this.kwChart.show(msg.keyword_chart);
      void this.patChart.show(msg.pattern_chart);
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

  draw(): void {
    const d = this.data;
    if (!d) return;
    const fromModel = (this.model.get("labels") as string[] | undefined) ?? [];
    const labels = fromModel.length ? fromModel : d.patterns.map((p) => p.label);
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
      pats.title = t.patterns.join(", ");
      for (const p of t.patterns.slice(0, 6)) pats.appendChild(h("span", { class: `wb-label wb-c${colourIndex(p, labels)}`, text: p }));
      this.listEl.appendChild(h("div", { class: "wb-trace-row", role: "listitem" }, [
        h("span", { class: "wb-trace-title", text: clip(t.title, 80), title: `${t.title}\n${t.id}` }),
        h("span", { text: t.model, title: t.model }),
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
