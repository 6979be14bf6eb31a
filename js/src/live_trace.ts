// LiveTrace: a run's samples side by side, thinking and answer panes, segments coloured by
// pattern as they close, keyword hits, optional logprob/entropy shading, live counters and the
// run controls (Stop, end thinking now, insert Wait). The same view shows finished trajectories.

import type { BranchInfo, Bounds, Counters, SampleDelta, SampleState, TokenInfoMsg } from "./protocol.generated";
import { Channel, float32, int32, type Model } from "./channel";
import { button, clear, colourIndex, fmt, h, setText } from "./dom";
import { Decorations, TextStore, TokenStore } from "./textstore";
import { TextPane, type SampleData, type Shade } from "./textpane";
import { TokenCurve } from "./curve";
import { PatternTimeline } from "./timeline";
import { FigureExport } from "./charts";
import { BranchPopover, type BranchChoice } from "./branch_popover";
import { ImportanceStrip } from "./importance_strip";

interface SampleView {
  data: SampleData;
  bounds: Bounds;
  think: TextPane;
  answer: TextPane;
  status: HTMLElement;
  col: HTMLElement;
  curve: TokenCurve;
  timeline: PatternTimeline;
  strip: ImportanceStrip;
  highlight: [number, number] | null;
  marks: [number, number, string][];
}

export function legend(labels: readonly string[]): HTMLElement {
  const el = h("div", { class: "wb-legend" });
  labels.forEach((label) => {
    el.appendChild(
      h("span", { class: "wb-legend-item" }, [
        h("span", { class: `wb-swatch wb-c${colourIndex(label, labels)}` }),
        h("span", { text: label }),
      ]),
    );
  });
  return el;
}

export class LiveTraceView {
  readonly root: HTMLElement;
  private samples: SampleView[] = [];
  private seq = -1;
  private grid: HTMLElement;
  private counters: Record<keyof Counters, HTMLElement>;
  private controls: HTMLButtonElement[] = [];
  private legendBox: HTMLElement;
  private promptEl: HTMLElement;
  private status = "";
  private liveStats: HTMLElement[] = [];
  private figures: FigureExport;
  private popover: BranchPopover;
  private requests = 0;
  private pending: { id: number; sample: number; x: number; y: number } | null = null;
  private branching = -1;

  constructor(private ch: Channel, private model: Model) {
    this.figures = new FigureExport(ch, model);
    this.counters = {
      status: h("span", { class: "wb-status", text: "" }),
      tokens: h("span", { class: "wb-count", text: "0" }),
      tokens_per_s: h("span", { class: "wb-count", text: "0" }),
      elapsed_s: h("span", { class: "wb-count", text: "0" }),
      keyword_hits: h("span", { class: "wb-count", text: "0" }),
    };
    const stop = button("■ Stop", "Cancel the run now", () => this.ch.send({ type: "stop" }), "wb-stop");
    const endThink = button("End thinking now", "Force the end of the thinking into every sample", () =>
      this.ch.send({ type: "end_thinking", sample: null }),
    );
    const wait = button("Insert “Wait”", "Make every sample keep thinking (budget forcing)", () =>
      this.ch.send({ type: "inject", text: "Wait", sample: null }),
    );
    this.controls = [stop, endThink, wait];
    const shade = h("select", { class: "wb-select", title: "Shade tokens by", label: "shade tokens" });
    for (const v of ["none", "logprob", "entropy"]) shade.appendChild(h("option", { text: `shade: ${v}`, value: v }));
    shade.value = String(this.model.get("shade") ?? "none");
    shade.addEventListener("change", () => {
      this.model.set("shade", shade.value);
      this.model.save_changes();
    });
    const stat = (name: string, el: HTMLElement, unit: string) =>
      h("span", { class: "wb-stat" }, [h("span", { class: "wb-stat-name", text: name }), el, h("span", { text: unit })]);
    this.liveStats = [stat("", this.counters.tokens_per_s, " tok/s"), stat("", this.counters.elapsed_s, " s")];
    const toolbar = h("div", { class: "wb-toolbar" }, [
      ...this.controls,
      shade,
      h("span", { class: "wb-spacer" }),
      stat("tokens", this.counters.tokens, ""),
      ...this.liveStats,
      stat("keyword hits", this.counters.keyword_hits, ""),
      this.counters.status,
    ]);
    this.promptEl = h("details", { class: "wb-prompt" });
    this.grid = h("div", { class: "wb-samples" });
    this.legendBox = h("div");
    this.root = h("div", { class: "wb-live", tabindex: -1 }, [this.promptEl, toolbar, this.grid, this.legendBox, ch.errorEl]);
    this.popover = new BranchPopover(this.root, (info, c) => this.branch(info, c), () => {
      for (const s of this.samples) if (s?.highlight) this.clearHighlight(s);
    });
    ch.addCleanup(() => this.popover.dispose());
    this.root.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && this.popover.isOpen()) {
        ev.preventDefault();
        ev.stopPropagation();
        this.popover.close();
      }
    });
    this.renderPrompt();
    this.renderLegend();
    this.updateControls();
    ch.onChange("labels", () => {
      this.renderLegend();
      for (const s of this.samples) s.timeline.rebuild();
      for (const s of this.samples) s.strip.draw();
      for (const s of this.samples) {
        s.think.list.invalidateAll();
        s.answer.list.invalidateAll();
      }
    });
    ch.onChange("prompt", () => this.renderPrompt());
    ch.onChange("controls", () => this.updateControls());
    ch.onChange("shade", () => {
      shade.value = String(this.model.get("shade") ?? "none");
      for (const s of this.samples) {
        s.think.list.invalidateAll();
        s.answer.list.invalidateAll();
      }
    });
    ch.onChange("height", () => this.applyHeight());
    ch.onMessage((msg, buffers) => {
      switch (msg.type) {
        case "snapshot":
          if (msg.view !== this.ch.viewId) return;
          this.snapshot(msg.samples, msg.counters, buffers);
          this.seq = msg.seq;
          break;
        case "delta":
          if (this.seq < 0 || msg.seq <= this.seq) return;
          this.seq = msg.seq;
          for (const d of msg.samples) this.delta(d, buffers);
          this.setCounters(msg.counters);
          break;
        case "final": {
          if (this.seq < 0 || msg.seq <= this.seq) return;
          this.seq = msg.seq;
          const s = this.samples[msg.sample];
          if (!s) return;
          s.data.deco.setAll(msg.segments, msg.hits);
          setText(s.status, msg.status);
          this.setBounds(s, msg.bounds, true);
          s.curve.rebuild();
          s.timeline.rebuild();
          break;
        }
        case "sample_added": {
          if (this.seq < 0 || msg.seq <= this.seq) return;
          this.seq = msg.seq;
          this.addSample(msg.sample, [], true);
          this.layoutColumns();
          break;
        }
        case "token_info": {
          const p = this.pending;
          if (!p || p.id !== msg.request_id) return;
          this.pending = null;
          const s = this.samples[msg.sample];
          if (s) this.highlight(s, msg.start, Math.max(msg.end, msg.start + 1));
          this.popover.show(msg, p.x, p.y);
          break;
        }
        case "ack": {
          if (msg.request_id !== this.branching) return;
          this.branching = -1;
          this.popover.answered(msg.ok, msg.message);
          break;
        }
        case "scroll_to": {
          const s = this.samples[msg.sample];
          if (!s) return;
          if (msg.end !== null && msg.end > msg.char) this.highlight(s, msg.char, msg.end);
          this.scrollTo(s, msg.char);
          break;
        }
        case "importance": {
          const s = this.samples[msg.sample];
          if (s) s.strip.set(msg);
          break;
        }
        default:
          break;
      }
    });
  }

  private labels(): string[] {
    return (this.model.get("labels") as string[]) ?? [];
  }

  private renderPrompt(): void {
    clear(this.promptEl);
    const prompt = String(this.model.get("prompt") ?? "");
    const title = String(this.model.get("title") ?? "");
    this.promptEl.appendChild(h("summary", { text: title || "prompt", title: prompt }));
    this.promptEl.appendChild(h("div", { class: "wb-prompt-text", text: prompt }));
  }

  private renderLegend(): void {
    clear(this.legendBox);
    this.legendBox.appendChild(legend(this.labels()));
  }

  private updateControls(): void {
    for (const el of this.liveStats) el.style.display = this.model.get("controls") ? "" : "none";
    const live = Boolean(this.model.get("controls")) && (this.status === "running" || this.status === "");
    for (const b of this.controls) {
      b.disabled = !live;
      b.style.display = this.model.get("controls") ? "" : "none";
    }
  }

  private applyHeight(): void {
    const px = Math.max(120, Math.min(4000, Number(this.model.get("height")) || 420));
    for (const s of this.samples) {
      s.think.el.style.maxHeight = `${Math.round(px)}px`;
      s.answer.el.style.maxHeight = `${Math.round(px * 0.4)}px`;
    }
  }

  private setCounters(c: Counters): void {
    setText(this.counters.tokens, String(c.tokens));
    setText(this.counters.tokens_per_s, fmt(c.tokens_per_s));
    setText(this.counters.elapsed_s, fmt(c.elapsed_s));
    setText(this.counters.keyword_hits, String(c.keyword_hits));
    setText(this.counters.status, c.status);
    this.counters.status.className = `wb-status wb-status-${["running", "complete", "cancelled", "error"].includes(c.status) ? c.status : "other"}`;
    if (c.status !== this.status) {
      this.status = c.status;
      this.updateControls();
    }
  }

  /** Highlight raw characters [a, b) of a sample (a brushed token range) and show them. */
  private highlight(s: SampleView, a: number, b: number): void {
    const old = s.highlight;
    s.highlight = [a, b];
    for (const pane of [s.think, s.answer]) {
      if (old) pane.invalidateRange(old[0], old[1]);
      pane.invalidateRange(a, b);
      pane.list.update();
    }
  }

  /** Scroll the pane (thinking or answer) holding raw character `pos` to it. */
  private scrollTo(s: SampleView, pos: number): void {
    const inAnswer = s.bounds.answer_start !== null && pos >= s.bounds.answer_start;
    (inAnswer ? s.answer : s.think).scrollToChar(pos);
  }

  private clearHighlight(s: SampleView): void {
    const old = s.highlight;
    s.highlight = null;
    if (!old) return;
    for (const pane of [s.think, s.answer]) {
      pane.invalidateRange(old[0], old[1]);
      pane.list.update();
    }
  }

  /** A click on a sample's text: ask the kernel for the token there and its alternatives. */
  private tokenClicked(i: number, pos: number, ev: MouseEvent): void {
    const s = this.samples[i];
    if (!s) return;
    const tokens = s.data.tokens;
    const t = tokens.firstAfter(pos);
    if (t >= tokens.n || tokens.starts[t] > pos) return; // forced or untokenised text
    this.requests += 1;
    this.pending = { id: this.requests, sample: i, x: ev.clientX, y: ev.clientY };
    this.ch.send({ type: "token_request", request_id: this.requests, sample: i, token: t });
  }

  private branch(info: TokenInfoMsg, c: BranchChoice): void {
    this.requests += 1;
    this.branching = this.requests;
    this.ch.send({ type: "branch", request_id: this.requests, sample: info.sample, token: info.token, alternative: c.alternative, text: c.text });
  }

  private layoutColumns(): void {
    // columns wrap at narrow widths: as many 280 px columns as fit, never more than the samples
    const n = Math.max(1, this.samples.filter(Boolean).length);
    this.grid.style.gridTemplateColumns = n === 1 ? "minmax(0, 1fr)" : "repeat(auto-fit, minmax(min(100%, 280px), 1fr))";
  }

  /** Add a sample's column from its state (a snapshot's, or a fork that just started). */
  private addSample(st: SampleState, buffers: DataView[], live: boolean): SampleView {
    const s = this.newSample(st.sample, st.title, st.status, st.branch);
    this.samples[st.sample] = s;
    this.grid.appendChild(s.col);
    s.data.text.append(st.text);
    const offsets = int32(buffers, st.offsets);
    if (offsets) s.data.tokens.append(offsets, float32(buffers, st.logprobs), float32(buffers, st.entropies));
    s.data.deco.setAll(st.segments, st.hits);
    const b = st.branch;
    if (b) {
      s.marks.push([b.at_char, b.prefix_chars, "wb-branch-text"]);
      const parent = this.samples[b.parent];
      if (parent && b.at_end > b.at_char) {
        parent.marks.push([b.at_char, b.at_end, "wb-branch-point"]);
        for (const pane of [parent.think, parent.answer]) {
          pane.invalidateRange(b.at_char, b.at_end);
          pane.list.update();
        }
      }
    }
    this.applyHeight();
    s.think.list.follow = live;
    s.answer.list.follow = live;
    this.setBounds(s, st.bounds, true);
    s.curve.rebuild();
    s.timeline.rebuild();
    return s;
  }

  private newSample(i: number, title: string, status: string, branch: BranchInfo | null = null): SampleView {
    const data: SampleData = { text: new TextStore(), tokens: new TokenStore(), deco: new Decorations() };
    let view: SampleView | null = null;
    const opts = {
      labels: () => this.labels(),
      shade: () => (String(this.model.get("shade") ?? "none") as Shade),
      highlight: () => view?.highlight ?? null,
      marks: () => view?.marks ?? [],
      onTextClick: (pos: number, ev: MouseEvent) => this.tokenClicked(i, pos, ev),
    };
    const think = new TextPane(data, opts, "wb-think");
    const answer = new TextPane(data, opts, "wb-answer");
    const statusEl = h("span", { class: "wb-sample-status", text: status });
    const name = title || `sample ${i}`;
    const head = h("div", { class: "wb-sample-head" }, [
      h("span", { class: "wb-sample-title", text: name, title: name }),
      statusEl,
    ]);
    const curve = new TokenCurve(data, (a, b) => {
      if (!view) return;
      this.highlight(view, a, b);
      this.scrollTo(view, a);
    }, this.figures.buttons(() => ({ sample: i, mode: "curves", constraint: -1 }), `the curves of sample ${i}`));
    const timeline = new PatternTimeline(() => data.deco.segments, () => data.deco.open, () => this.labels(), (seg) => {
      if (!view) return;
      this.highlight(view, seg.start, seg.end);
      view.think.scrollToChar(seg.start);
    });
    const strip = new ImportanceStrip({
      labels: () => this.labels(),
      hover: (bar) => {
        if (!view) return;
        const keep = bar ?? view.strip.selectedBar();
        if (keep) this.highlight(view, keep.start, keep.end);
        else this.clearHighlight(view);
      },
      pick: (bar) => {
        if (!view) return;
        this.highlight(view, bar.start, bar.end);
        this.scrollTo(view, bar.start);
      },
    });
    for (const pane of [think, answer]) {
      pane.el.addEventListener("mouseover", (ev) => {
        const pos = Number((ev.target as HTMLElement | null)?.closest<HTMLElement>("[data-pos]")?.dataset.pos);
        strip.hoverChar(Number.isFinite(pos) ? pos : null);
      });
      pane.el.addEventListener("mouseleave", () => strip.hoverChar(null));
    }
    if (this.model.get("controls")) {
      const b1 = button("end thinking", "Force the end of the thinking into this sample", () =>
        this.ch.send({ type: "end_thinking", sample: i }), "wb-small");
      const b2 = button("Wait", "Insert “Wait” into this sample", () =>
        this.ch.send({ type: "inject", text: "Wait", sample: i }), "wb-small");
      this.controls.push(b1, b2);
      head.appendChild(h("span", { class: "wb-sample-actions" }, [b1, b2]));
    }
    const note = branch
      ? h("div", { class: "wb-branch-note", text: `↳ ${branch.note}`, title: `forked from ${branch.parent_id} at character ${branch.at_char}` })
      : null;
    const col = h("div", { class: branch ? "wb-sample wb-fork" : "wb-sample" }, [
      head,
      note,
      timeline.el,
      curve.el,
      h("div", { class: "wb-pane-label", text: "thinking" }),
      think.el,
      strip.el,
      h("div", { class: "wb-pane-label", text: "answer" }),
      answer.el,
    ]);
    view = { data, bounds: { think_start: 0, think_end: null, answer_start: null }, think, answer, status: statusEl, col, curve, timeline, strip, highlight: null, marks: [] };
    note?.addEventListener("click", () => {
      if (!view || !branch) return;
      view.think.scrollToChar(branch.at_char);
    });
    return view;
  }

  private snapshot(samples: SampleState[], counters: Counters, buffers: DataView[]): void {
    clear(this.grid);
    this.popover.close();
    this.controls = this.controls.slice(0, 3);
    this.samples = [];
    const live = counters.status === "running";
    for (const st of samples) this.addSample(st, buffers, live || st.status === "running");
    this.layoutColumns();
    this.updateControls();
    this.setCounters(counters);
  }

  private setBounds(s: SampleView, b: Bounds, force: boolean): void {
    const old = s.bounds;
    s.bounds = b;
    s.curve.answerToken = b.answer_start === null ? null : s.data.tokens.firstAfter(b.answer_start);
    s.timeline.setRange(b.think_start, b.think_end ?? s.data.text.length);
    const thinkEnd = b.think_end;
    const answerStart = b.answer_start;
    if (force || old.think_start !== b.think_start || old.think_end !== thinkEnd) {
      s.think.start = b.think_start;
      s.think.end = thinkEnd;
      s.think.rebuild();
    }
    if (force || old.answer_start !== answerStart) {
      s.answer.start = answerStart ?? 0;
      s.answer.end = answerStart === null ? 0 : null;
      s.answer.rebuild();
    }
    s.think.afterAppend();
    s.answer.afterAppend();
  }

  private delta(d: SampleDelta, buffers: DataView[]): void {
    const s = this.samples[d.sample];
    if (!s) return;
    if (d.text) s.data.text.append(d.text);
    const offsets = int32(buffers, d.offsets);
    if (offsets) s.data.tokens.append(offsets, float32(buffers, d.logprobs), float32(buffers, d.entropies));
    const deco = s.data.deco;
    const prevOpen = deco.open;
    if (d.segments.length) deco.addSegments(d.segments);
    deco.open = d.open_segment;
    if (d.hits.length) deco.addHits(d.hits);
    if (d.bounds) this.setBounds(s, d.bounds, false);
    for (const pane of [s.think, s.answer]) {
      pane.sync();
      for (const seg of d.segments) pane.invalidateRange(seg.start, seg.end);
      for (const hit of d.hits) pane.invalidateRange(hit.start, hit.end);
      if (prevOpen) pane.invalidateRange(prevOpen.start, prevOpen.end);
      if (d.open_segment) pane.invalidateRange(d.open_segment.start, d.open_segment.end);
      pane.afterAppend();
    }
    s.curve.sync();
    s.timeline.setRange(s.bounds.think_start, s.bounds.think_end ?? s.data.text.length);
    s.timeline.sync();
  }
}

export function renderLiveTrace(model: Model, el: HTMLElement): () => void {
  const ch = new Channel(model);
  const view = new LiveTraceView(ch, model);
  el.appendChild(view.root);
  if (ch.protocolOk()) ch.ready();
  return () => ch.dispose();
}
