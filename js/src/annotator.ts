// Annotator: keyboard-first hand labelling. j/k move between segments, number keys set labels
// (0 clears), r then 1–5 rates the trajectory, n writes a note on the segment, c/x mark the
// trajectory chosen/rejected, u undoes, J/K (or ]/[) go to the next/previous trajectory. Every
// action is sent to the kernel, which writes it to the store at once and answers with the
// trajectory's annotations and their history.

import type { AnnotationState, DocMsg, SegmentInfo } from "./protocol.generated";
import { Channel, type Model } from "./channel";
import { button, clear, clip, colourIndex, fmt, h } from "./dom";
import { AnnotationKeys, type AnnotationTarget, HELP } from "./keys";
import { PatternTimeline } from "./timeline";
import { VirtualList } from "./vlist";

export class AnnotatorView implements AnnotationTarget {
  readonly root: HTMLElement;
  private doc: DocMsg | null = null;
  private segments: SegmentInfo[] = [];
  private selected = 0;
  private list: VirtualList;
  private listEl: HTMLElement;
  private header: HTMLElement;
  private chips: HTMLElement;
  private historyEl: HTMLElement;
  private promptEl: HTMLElement;
  private answerEl: HTMLElement;
  private legendBox: HTMLElement;
  private requestId = 0;
  private keys = new AnnotationKeys(this);
  private timeline = new PatternTimeline(() => this.segments, () => null, () => this.labels(), (seg) => {
    const i = this.segments.findIndex((s) => s.id === seg.id);
    if (i >= 0) this.select(i);
  });

  constructor(private ch: Channel, private model: Model) {
    this.header = h("div", { class: "wb-annot-head" });
    this.chips = h("div", { class: "wb-annot-chips" });
    this.promptEl = h("details", { class: "wb-prompt" });
    this.listEl = h("div", { class: "wb-pane wb-annot-list", role: "listbox", label: "segments" });
    this.list = new VirtualList(this.listEl, {
      estimate: (i) => this.estimate(i),
      render: (i, el) => this.renderRow(i, el),
    });
    this.list.follow = false;
    this.historyEl = h("div", { class: "wb-history", role: "log", label: "annotation history" });
    this.answerEl = h("details", { class: "wb-prompt" });
    this.legendBox = h("div");
    this.root = h("div", { class: "wb-annot", tabindex: 0, label: "annotator: press keys to annotate" }, [
      this.header,
      this.chips,
      this.promptEl,
      this.timeline.el,
      h("div", { class: "wb-help", text: HELP }),
      h("div", { class: "wb-annot-body" }, [
        this.listEl,
        h("div", { class: "wb-history-box" }, [h("div", { class: "wb-pane-label", text: "history" }), this.historyEl]),
      ]),
      this.keys.noteBox,
      this.keys.statusEl,
      this.answerEl,
      this.legendBox,
      ch.errorEl,
    ]);
    this.root.setAttribute("data-lm-suppress-shortcuts", "true");
    this.keys.attach(this.root);
    this.listEl.addEventListener("click", (ev) => {
      const row = (ev.target as HTMLElement).closest("[data-index]") as HTMLElement | null;
      if (row) this.select(Number(row.dataset.index));
      this.root.focus();
    });
    ch.onChange("labels", () => this.renderLegend());
    ch.onChange("height", () => this.applyHeight());
    ch.onMessage((msg) => {
      if (msg.type === "doc") {
        if (msg.view && msg.view !== this.ch.viewId) return;
        this.setDoc(msg);
      } else if (msg.type === "annotation_state") {
        if (this.doc && msg.state.trajectory_id === this.doc.info.id) this.setState(msg.state);
        this.flash(msg.message, !msg.ok);
      } else if (msg.type === "ack") {
        this.flash(msg.message, !msg.ok);
      }
    });
    this.applyHeight();
    this.renderLegend();
  }

  labels(): string[] {
    const fromModel = (this.model.get("labels") as string[]) ?? [];
    return fromModel.length ? fromModel : this.doc?.labels ?? [];
  }

  private applyHeight(): void {
    const px = Math.max(160, Math.min(4000, Number(this.model.get("height")) || 420));
    this.listEl.style.height = `${Math.round(px)}px`;
    this.historyEl.style.height = `${Math.round(px)}px`;
  }

  private renderLegend(): void {
    clear(this.legendBox);
    const labels = this.labels();
    const keys = h("div", { class: "wb-keys" });
    labels.slice(0, 9).forEach((label, i) => {
      keys.appendChild(h("span", { class: "wb-key" }, [h("kbd", { text: String(i + 1) }), h("span", { class: `wb-swatch wb-c${colourIndex(label, labels)}` }), h("span", { text: label })]));
    });
    this.legendBox.appendChild(keys);
  }

  private setDoc(doc: DocMsg): void {
    this.doc = doc;
    clear(this.header);
    const info = doc.info;
    this.header.appendChild(button("◀", "previous trajectory (K)", () => this.navigate(-1), "wb-small"));
    this.header.appendChild(h("span", { class: "wb-annot-pos", text: `${doc.index + 1} / ${doc.total}` }));
    this.header.appendChild(button("▶", "next trajectory (J)", () => this.navigate(1), "wb-small"));
    this.header.appendChild(h("span", { class: "wb-id", text: info.id, title: "trajectory id" }));
    this.header.appendChild(h("span", { class: "wb-model", text: info.model }));
    const grade = info.correct === null ? (info.grade === null ? "ungraded" : `grade ${fmt(info.grade, 2)}`) : info.correct ? "correct" : "incorrect";
    this.header.appendChild(h("span", { class: "wb-grade", text: grade }));
    this.header.appendChild(h("span", { class: "wb-status", text: info.status }));
    clear(this.promptEl);
    this.promptEl.appendChild(h("summary", { text: `prompt: ${clip(info.prompt.replace(/\s+/g, " "), 120)}` }));
    this.promptEl.appendChild(h("div", { class: "wb-prompt-text", text: info.prompt }));
    clear(this.answerEl);
    const a = doc.bounds.answer_start;
    const answer = a === null ? "" : doc.text.slice(a);
    this.answerEl.appendChild(h("summary", { text: `answer (${answer.length} chars)` }));
    this.answerEl.appendChild(h("div", { class: "wb-prompt-text", text: answer }));
    this.selected = 0;
    this.timeline.setRange(doc.bounds.think_start, doc.bounds.think_end ?? doc.text.length);
    this.setState(doc.state);
    this.list.reset(this.segments.length);
    this.list.scroller.scrollTop = 0;
    this.list.update();
    this.renderLegend();
    this.flash(this.segments.length ? "" : "this trajectory has no thinking segments: rate it, note it or mark it", false);
  }

  private setState(state: AnnotationState): void {
    const old = this.segments;
    this.segments = state.segments;
    this.timeline.rebuild();
    clear(this.chips);
    const chip = (name: string, value: string | null) =>
      h("span", { class: `wb-chip ${value === null ? "wb-chip-empty" : ""}`.trim() }, [
        h("span", { class: "wb-chip-name", text: name }),
        h("span", { text: value ?? "–" }),
      ]);
    this.chips.appendChild(chip("rating", state.rating === null ? null : String(state.rating)));
    this.chips.appendChild(chip("verdict", state.verdict));
    this.chips.appendChild(chip("note", state.note === null ? null : clip(state.note, 80)));
    clear(this.historyEl);
    for (const e of [...state.history].reverse()) {
      const when = new Date(e.created_at * 1000).toLocaleTimeString();
      const seg = e.segment_id ? this.segments.find((s) => s.id === e.segment_id) : null;
      const target = e.segment_id ? `segment ${seg ? seg.index : "?"}` : "trajectory";
      this.historyEl.appendChild(
        h("div", { class: "wb-history-item" }, [
          h("span", { class: "wb-history-time", text: when }),
          h("span", { class: "wb-history-kind", text: e.kind }),
          h("span", { class: "wb-history-target", text: target }),
          h("span", { class: "wb-history-value", text: e.value }),
          h("span", { class: "wb-history-author", text: e.author }),
        ]),
      );
    }
    if (old.length === this.segments.length) this.list.invalidateAll();
  }

  private estimate(i: number): number {
    const s = this.segments[i];
    if (!s) return 20;
    const width = this.listEl.clientWidth || 600;
    return 26 + Math.ceil(((s.end - s.start) * 7.2) / Math.max(200, width - 40)) * 18;
  }

  private renderRow(i: number, el: HTMLElement): void {
    const s = this.segments[i];
    const doc = this.doc;
    if (!s || !doc) return;
    const labels = this.labels();
    el.dataset.index = String(i);
    el.className = `wb-row wb-annot-row${i === this.selected ? " wb-selected" : ""}`;
    el.setAttribute("role", "option");
    el.setAttribute("aria-selected", i === this.selected ? "true" : "false");
    const head = h("div", { class: "wb-annot-row-head" }, [
      h("span", { class: "wb-seg-index", text: String(s.index) }),
    ]);
    if (s.label !== null) head.appendChild(h("span", { class: `wb-label wb-c${colourIndex(s.label, labels)}`, text: s.label, title: `${s.source ?? "rule"} label` }));
    if (s.suggestion !== null && s.human_label === null) head.appendChild(h("span", { class: "wb-label wb-suggestion", text: `? ${s.suggestion}${s.suggestion_confidence === null ? "" : ` ${fmt(s.suggestion_confidence, 2)}`}`, title: "model suggestion: press a to accept" }));
    if (s.human_label !== null) head.appendChild(h("span", { class: `wb-label wb-human wb-c${colourIndex(s.human_label, labels)}`, text: `✎ ${s.human_label}`, title: "your label" }));
    if (s.note !== null) head.appendChild(h("span", { class: "wb-note", text: `“${clip(s.note, 120)}”` }));
    el.appendChild(head);
    el.appendChild(h("div", { class: "wb-seg-text", text: doc.text.slice(s.start, s.end) }));
  }

  private select(i: number): void {
    if (!this.segments.length) return;
    const next = Math.max(0, Math.min(this.segments.length - 1, i));
    const prev = this.selected;
    this.selected = next;
    this.list.invalidate(prev);
    this.list.invalidate(next);
    this.list.scrollToRow(next);
  }

  annotate(kind: string, value: string | number | null, segment: boolean): void {
    if (!this.doc) return;
    const seg = segment ? this.segments[this.selected] : undefined;
    if (segment && !seg) {
      this.flash("no segment selected", true);
      return;
    }
    this.requestId += 1;
    this.ch.send({ type: "annotate", request_id: this.requestId, segment_id: seg ? seg.id : null, kind, value });
    this.flash("saving…", false);
  }

  acceptSuggestion(): void {
    const seg = this.segments[this.selected];
    if (!this.doc || !seg) return this.flash("no segment selected", true);
    if (seg.suggestion === null) return this.flash("no suggestion for this segment", true);
    this.requestId += 1;
    this.ch.send({ type: "accept_suggestion", request_id: this.requestId, segment_id: seg.id });
    this.flash("saving…", false);
    this.select(this.selected + 1);
  }

  navigate(step: number): void {
    if (!this.doc) return;
    const index = this.doc.index + step;
    if (index < 0 || index >= this.doc.total) return;
    this.ch.send({ type: "navigate", index });
  }

  moveSelection(step: number): void {
    this.select(this.selected + step);
  }

  undo(): void {
    this.requestId += 1;
    this.ch.send({ type: "undo", request_id: this.requestId });
  }

  noteTarget(): { text: string; onSegment: boolean } {
    return { text: this.segments[this.selected]?.note ?? "", onSegment: this.segments.length > 0 };
  }

  private flash(message: string, error: boolean): void {
    this.keys.flash(message, error);
  }
}

export function renderAnnotator(model: Model, el: HTMLElement): () => void {
  const ch = new Channel(model);
  const view = new AnnotatorView(ch, model);
  el.appendChild(view.root);
  if (ch.protocolOk()) ch.ready();
  return () => ch.dispose();
}
