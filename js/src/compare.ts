// Compare / PairBuilder: two trajectories of one prompt side by side, their segments aligned by
// pattern, with lengths, grades and labels; mark one chosen (the other rejected) to store a pair.

import type { CompareMsg, CompareSide, SegmentInfo, TrajInfo } from "./protocol.generated";
import { Channel, type Model } from "./channel";
import { button, clear, clip, colourIndex, fmt, h, setText } from "./dom";
import { VirtualList } from "./vlist";

function gradeText(info: TrajInfo): string {
  if (info.correct !== null) return info.correct ? "correct" : "incorrect";
  return info.grade === null ? "ungraded" : `grade ${fmt(info.grade, 2)}`;
}

export class CompareView {
  readonly root: HTMLElement;
  private data: CompareMsg | null = null;
  private list: VirtualList;
  private listEl: HTMLElement;
  private heads: [HTMLElement, HTMLElement];
  private answers: HTMLElement;
  private promptEl: HTMLElement;
  private pairEl: HTMLElement;
  private requestId = 0;

  constructor(private ch: Channel, private model: Model) {
    this.heads = [h("div", { class: "wb-cmp-head" }), h("div", { class: "wb-cmp-head" })];
    this.listEl = h("div", { class: "wb-pane wb-cmp-list" });
    this.list = new VirtualList(this.listEl, {
      estimate: (i) => this.estimate(i),
      render: (i, el) => this.renderRow(i, el),
    }, "wb-row wb-cmp-row");
    this.list.follow = false;
    this.answers = h("div", { class: "wb-cmp-answers" });
    this.promptEl = h("details", { class: "wb-prompt" });
    this.pairEl = h("span", { class: "wb-pair-status" });
    const left = button("◀ left is better (a)", "store a pair: left chosen, right rejected", () => this.choose("left"), "wb-choose");
    const right = button("right is better (b) ▶", "store a pair: right chosen, left rejected", () => this.choose("right"), "wb-choose");
    this.root = h("div", { class: "wb-cmp", tabindex: 0 }, [
      this.promptEl,
      h("div", { class: "wb-cmp-heads" }, this.heads),
      h("div", { class: "wb-toolbar" }, [left, right, this.pairEl]),
      this.listEl,
      this.answers,
      ch.errorEl,
    ]);
    this.root.setAttribute("data-lm-suppress-shortcuts", "true");
    this.root.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (ev.key === "a") this.choose("left");
      else if (ev.key === "b") this.choose("right");
      else return;
      ev.preventDefault();
      ev.stopPropagation();
    });
    ch.onMessage((msg) => {
      if (msg.type === "compare") {
        if (msg.view && msg.view !== this.ch.viewId) return;
        this.setData(msg);
      } else if (msg.type === "ack") {
        setText(this.pairEl, msg.message);
        this.pairEl.classList.toggle("wb-annot-error", !msg.ok);
      }
    });
    ch.onChange("height", () => this.applyHeight());
    this.applyHeight();
  }

  private applyHeight(): void {
    const px = Math.max(160, Math.min(4000, Number(this.model.get("height")) || 460));
    this.listEl.style.height = `${Math.round(px)}px`;
  }

  private choose(side: string): void {
    if (!this.data) return;
    this.requestId += 1;
    this.ch.send({ type: "choose", request_id: this.requestId, chosen: side });
    setText(this.pairEl, "saving…");
  }

  private head(el: HTMLElement, side: "left" | "right", s: CompareSide, index: number, n: number): void {
    clear(el);
    const info = s.info;
    const thinkEnd = s.bounds.think_end ?? s.text.length;
    const nav = h("div", { class: "wb-cmp-nav" }, [
      button("◀", "previous candidate", () => this.ch.send({ type: "pick", side, index: (index - 1 + n) % n }), "wb-small"),
      h("span", { text: `${side} · ${index + 1} / ${n}` }),
      button("▶", "next candidate", () => this.ch.send({ type: "pick", side, index: (index + 1) % n }), "wb-small"),
    ]);
    el.appendChild(nav);
    el.appendChild(h("div", { class: "wb-cmp-meta" }, [
      h("span", { class: "wb-id", text: info.id }),
      h("span", { class: "wb-model", text: info.model }),
      h("span", { class: "wb-grade", text: gradeText(info) }),
      h("span", { text: `${thinkEnd - s.bounds.think_start} thinking chars` }),
      h("span", { text: info.tokens === null ? "" : `${info.tokens} tokens` }),
      h("span", { text: `${s.segments.length} segments` }),
    ]));
  }

  private setData(d: CompareMsg): void {
    this.data = d;
    clear(this.promptEl);
    this.promptEl.appendChild(h("summary", { text: `prompt: ${clip(d.prompt.replace(/\s+/g, " "), 120)}` }));
    this.promptEl.appendChild(h("div", { class: "wb-prompt-text", text: d.prompt }));
    const n = d.candidates.length;
    this.head(this.heads[0], "left", d.left, d.left_index, n);
    this.head(this.heads[1], "right", d.right, d.right_index, n);
    setText(this.pairEl, d.pair ?? "");
    clear(this.answers);
    for (const s of [d.left, d.right]) {
      const a = s.bounds.answer_start;
      this.answers.appendChild(h("div", { class: "wb-cmp-answer" }, [
        h("div", { class: "wb-pane-label", text: "answer" }),
        h("div", { class: "wb-seg-text", text: a === null ? "" : s.text.slice(a) }),
      ]));
    }
    this.list.reset(d.rows.length);
    this.list.scroller.scrollTop = 0;
    this.list.update();
  }

  private estimate(i: number): number {
    const d = this.data;
    if (!d) return 20;
    const r = d.rows[i];
    const len = (s: CompareSide, k: number | null) => (k === null ? 0 : s.segments[k].end - s.segments[k].start);
    const chars = Math.max(len(d.left, r.left), len(d.right, r.right));
    const width = (this.listEl.clientWidth || 800) / 2;
    return 24 + Math.ceil((chars * 7.2) / Math.max(150, width - 30)) * 18;
  }

  private cell(s: CompareSide, k: number | null): HTMLElement {
    if (k === null) return h("div", { class: "wb-cmp-cell wb-gap", text: "—" });
    const seg: SegmentInfo = s.segments[k];
    const labels = this.data?.labels ?? [];
    const label = seg.human_label ?? seg.label;
    return h("div", { class: "wb-cmp-cell" }, [
      h("div", { class: "wb-annot-row-head" }, [
        h("span", { class: "wb-seg-index", text: String(seg.index) }),
        label === null ? null : h("span", { class: `wb-label wb-c${colourIndex(label, labels)}`, text: label }),
        h("span", { class: "wb-len", text: `${seg.end - seg.start} chars` }),
      ]),
      h("div", { class: "wb-seg-text", text: s.text.slice(seg.start, seg.end) }),
    ]);
  }

  private renderRow(i: number, el: HTMLElement): void {
    const d = this.data;
    if (!d) return;
    const r = d.rows[i];
    el.appendChild(this.cell(d.left, r.left));
    el.appendChild(this.cell(d.right, r.right));
  }
}

export function renderCompare(model: Model, el: HTMLElement): () => void {
  const ch = new Channel(model);
  const view = new CompareView(ch, model);
  el.appendChild(view.root);
  if (ch.protocolOk()) ch.ready();
  return () => ch.dispose();
}
