// The main-area trajectory viewer: pattern-coloured segments with keyword hits, the answer, the
// annotation history, and the Annotator widget's keys to annotate (every action is written to
// the store by the server extension before the viewer shows it).

import { Widget } from "@lumino/widgets";
import { button, clear, clip, h, setText } from "../../js/src/dom";
import { Api, ApiError } from "./api";
import { AnnotationKeys, type AnnotationTarget, HELP } from "../../js/src/keys";
import { answerBlock, header, legend, promptBlock, renderThinking, thinkingBounds } from "./render";
import type { AnnotationState, SegmentInfo, TrajectoryDoc } from "./types";

/** Gives the viewer the trajectory before/after one in the browser's current list. */
export interface Navigator {
  neighbour(id: string, step: number): Promise<string | null>;
}

interface UndoEntry {
  tid: string;
  segmentId: string | null;
  kind: string;
  previous: unknown;
}

let viewers = 0;

function shown(value: unknown): string {
  if (value === null || value === undefined) return "cleared";
  return typeof value === "string" ? `“${clip(value, 60)}”` : JSON.stringify(value);
}

export class TrajectoryViewer extends Widget implements AnnotationTarget {
  private doc: TrajectoryDoc | null = null;
  private segments: SegmentInfo[] = [];
  private selected = 0;
  private undoStack: UndoEntry[] = [];
  private queue: Promise<void> = Promise.resolve();
  private headEl = h("div", { class: "wb-x-toolbar" });
  private chips = h("div", { class: "wb-annot-chips" });
  private promptBox = h("div");
  private thinkingLabel = h("div", { class: "wb-pane-label", text: "thinking" });
  private thinkingBox = h("div");
  private answerBox = h("div");
  private historyEl = h("div", { class: "wb-history wb-x-history", role: "log", label: "annotation history" });
  private legendBox = h("div");
  private keys = new AnnotationKeys(this);
  private mainEl: HTMLElement;

  constructor(private api: Api, private tid: string, private nav: Navigator | null) {
    super();
    this.id = `wb-trajectory-${++viewers}`;
    this.addClass("wb-root");
    this.addClass("wb-viewer");
    this.title.label = clip(tid, 24);
    this.title.caption = `trajectory ${tid}`;
    this.title.closable = true;
    const node = this.node;
    node.tabIndex = 0;
    node.setAttribute("data-lm-suppress-shortcuts", "true");
    node.setAttribute("aria-label", "trajectory viewer: press keys to annotate");
    this.mainEl = h("div", { class: "wb-x-main" }, [this.promptBox, this.thinkingLabel, this.thinkingBox, this.answerBox]);
    node.appendChild(this.headEl);
    node.appendChild(this.chips);
    node.appendChild(h("div", { class: "wb-help", text: HELP }));
    node.appendChild(
      h("div", { class: "wb-x-body" }, [
        this.mainEl,
        h("div", { class: "wb-x-side" }, [h("div", { class: "wb-pane-label", text: "history" }), this.historyEl]),
      ]),
    );
    node.appendChild(this.keys.noteBox);
    node.appendChild(this.keys.statusEl);
    node.appendChild(this.legendBox);
    this.keys.attach(node);
    void this.load(tid);
  }

  get trajectoryId(): string {
    return this.tid;
  }

  protected onActivateRequest(): void {
    if (this.keys.mode !== "note") this.node.focus();
  }

  /** Show trajectory `tid` (in this viewer). */
  async load(tid: string): Promise<void> {
    this.flash("loading…", false);
    try {
      const doc = await this.api.trajectory(tid);
      this.tid = doc.payload.trajectory.id;
      this.setDoc(doc);
      this.flash(this.segments.length ? "" : "this trajectory has no thinking segments: rate it, note it or mark it", false);
    } catch (err) {
      this.flash(`cannot load ${tid}: ${(err as Error).message}`, true);
    }
  }

  private setDoc(doc: TrajectoryDoc): void {
    this.doc = doc;
    const t = doc.payload.trajectory;
    this.title.label = clip(t.model ? `${t.model} · ${t.id}` : t.id, 32);
    this.title.caption = `trajectory ${t.id}`;
    clear(this.headEl);
    if (this.nav) {
      this.headEl.appendChild(button("◀", "previous trajectory in the list (K)", () => this.navigate(-1), "wb-small"));
      this.headEl.appendChild(button("▶", "next trajectory in the list (J)", () => this.navigate(1), "wb-small"));
    }
    this.headEl.appendChild(header(t, doc.payload.n_tokens));
    clear(this.promptBox);
    this.promptBox.appendChild(promptBlock(t, true));
    clear(this.answerBox);
    this.answerBox.appendChild(answerBlock(t, doc.hits));
    clear(this.legendBox);
    this.legendBox.appendChild(legend(doc.labels, true));
    this.selected = 0;
    this.setState(doc.state);
    this.mainEl.scrollTop = 0;
  }

  private setState(state: AnnotationState): void {
    if (!this.doc || state.trajectory_id !== this.doc.payload.trajectory.id) return;
    this.doc.state = state;
    this.segments = state.segments;
    this.selected = Math.min(this.selected, Math.max(0, this.segments.length - 1));
    clear(this.chips);
    const chip = (name: string, value: string | null) =>
      h("span", { class: `wb-chip ${value === null ? "wb-chip-empty" : ""}`.trim() }, [
        h("span", { class: "wb-chip-name", text: name }),
        h("span", { class: "wb-chip-value", text: value ?? "–" }),
      ]);
    this.chips.appendChild(chip("rating", state.rating === null ? null : String(state.rating)));
    this.chips.appendChild(chip("verdict", state.verdict));
    this.chips.appendChild(chip("note", state.note === null ? null : clip(state.note, 80)));
    this.chips.appendChild(chip("segments", `${this.segments.length}${this.doc.segments_stored ? "" : " (computed)"}`));
    clear(this.historyEl);
    for (const e of [...state.history].reverse()) {
      const seg = e.segment_id ? this.segments.find((s) => s.id === e.segment_id) : null;
      this.historyEl.appendChild(
        h("div", { class: "wb-history-item" }, [
          h("span", { class: "wb-history-time", text: new Date(e.created_at * 1000).toLocaleTimeString() }),
          h("span", { class: "wb-history-kind", text: e.kind }),
          h("span", { class: "wb-history-target", text: e.segment_id ? `segment ${seg ? seg.index : "?"}` : "trajectory" }),
          h("span", { class: "wb-history-value", text: e.value }),
          h("span", { class: "wb-history-author", text: e.author }),
        ]),
      );
    }
    this.drawThinking();
  }

  private drawThinking(): void {
    const doc = this.doc;
    if (!doc) return;
    const t = doc.payload.trajectory;
    const bounds = thinkingBounds(t);
    setText(this.thinkingLabel, `thinking (${(bounds[1] - bounds[0]).toLocaleString()} chars, ${this.segments.length} segments)`);
    clear(this.thinkingBox);
    this.thinkingBox.appendChild(
      renderThinking(t.raw, bounds, this.segments, doc.hits, {
        labels: doc.labels,
        selected: this.segments.length ? this.selected : undefined,
        onSelect: (i) => {
          this.select(i);
          this.node.focus();
        },
      }),
    );
  }

  private select(i: number): void {
    if (!this.segments.length) return;
    this.selected = Math.max(0, Math.min(this.segments.length - 1, i));
    for (const el of Array.from(this.thinkingBox.querySelectorAll<HTMLElement>(".wb-x-seg"))) {
      const on = Number(el.dataset.index) === this.selected;
      el.classList.toggle("wb-selected", on);
      if (on) el.scrollIntoView({ block: "nearest" });
    }
  }

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((err: unknown) => {
      const msg = err instanceof ApiError ? err.message : String(err);
      this.flash(`not saved: ${msg}`, true);
    });
  }

  private where(segmentId: string | null): string {
    if (segmentId === null) return "the trajectory";
    const s = this.segments.find((x) => x.id === segmentId);
    return `segment ${s ? s.index : "?"}`;
  }

  annotate(kind: string, value: string | number | null, onSegment: boolean): void {
    if (!this.doc) return;
    const seg = onSegment ? this.segments[this.selected] : undefined;
    if (onSegment && !seg) {
      this.flash("no segment selected", true);
      return;
    }
    const tid = this.doc.payload.trajectory.id;
    const segmentId = seg ? seg.id : null;
    this.flash("saving…", false);
    this.enqueue(async () => {
      const reply = await this.api.annotate(tid, kind, value, segmentId);
      this.undoStack.push({ tid, segmentId, kind, previous: reply.previous });
      if (this.doc && this.doc.payload.trajectory.id === tid) this.doc.segments_stored = this.doc.segments_stored || segmentId !== null;
      this.setState(reply.state);
      this.flash(`saved ${kind} ${shown(value)} on ${this.where(segmentId)}`, false);
    });
  }

  undo(): void {
    const entry = this.undoStack.pop();
    if (!entry) {
      this.flash("nothing to undo", true);
      return;
    }
    this.enqueue(async () => {
      if (!this.doc || this.doc.payload.trajectory.id !== entry.tid) await this.load(entry.tid);
      const reply = await this.api.annotate(entry.tid, entry.kind, entry.previous, entry.segmentId);
      this.setState(reply.state);
      this.flash(`undone: ${entry.kind} back to ${shown(entry.previous)} on ${this.where(entry.segmentId)}`, false);
    });
  }

  navigate(step: number): void {
    if (!this.nav || !this.doc) return;
    const current = this.doc.payload.trajectory.id;
    void this.nav.neighbour(current, step).then((next) => {
      if (next === null) this.flash(`no ${step > 0 ? "next" : "previous"} trajectory in the browser's list`, false);
      else void this.load(next);
    });
  }

  moveSelection(step: number): void {
    this.select(this.selected + step);
  }

  labels(): readonly string[] {
    return this.doc?.labels ?? [];
  }

  noteTarget(): { text: string; onSegment: boolean } {
    const seg = this.segments[this.selected];
    const onSegment = this.segments.length > 0;
    return { text: (onSegment ? seg?.note : this.doc?.state.note) ?? "", onSegment };
  }

  private flash(message: string, error: boolean): void {
    this.keys.flash(message, error);
  }
}
