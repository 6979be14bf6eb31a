// The annotation keys, one map for the Annotator widget (annotator.ts) and the JupyterLab
// extension's trajectory viewer (extensions/src/viewer.ts), which both import this module: the
// key map (`keyAction`) and the controller that applies it to a view (`AnnotationKeys`).

import { h, setText } from "./dom";

export const HELP =
  "j/k segment · 1–9 label · 0 clear label · r then 1–5 rate · n note · c chosen · x rejected · u undo · J/K trajectory · a accept suggestion";

export type Action =
  | { type: "move"; step: number }
  | { type: "navigate"; step: number }
  | { type: "label"; key: number }
  | { type: "clear-label" }
  | { type: "rate-mode" }
  | { type: "rate"; value: number | null }
  | { type: "rate-cancel" }
  | { type: "note" }
  | { type: "verdict"; value: "chosen" | "rejected" }
  | { type: "undo" }
  | { type: "accept" };

/** Map a key press to an action, as the Annotator does; `rating` is true after `r`. */
export function keyAction(key: string, rating: boolean): Action | null {
  if (rating) {
    if (/^[1-5]$/.test(key)) return { type: "rate", value: Number(key) };
    if (key === "0") return { type: "rate", value: null };
    return { type: "rate-cancel" };
  }
  if (key === "j" || key === "ArrowDown") return { type: "move", step: 1 };
  if (key === "k" || key === "ArrowUp") return { type: "move", step: -1 };
  if (key === "J" || key === "]") return { type: "navigate", step: 1 };
  if (key === "K" || key === "[") return { type: "navigate", step: -1 };
  if (/^[1-9]$/.test(key)) return { type: "label", key: Number(key) };
  if (key === "0") return { type: "clear-label" };
  if (key === "r") return { type: "rate-mode" };
  if (key === "n") return { type: "note" };
  if (key === "c") return { type: "verdict", value: "chosen" };
  if (key === "x") return { type: "verdict", value: "rejected" };
  if (key === "u") return { type: "undo" };
  if (key === "a") return { type: "accept" };
  return null;
}

/** A view annotated with the keys: what {@link AnnotationKeys} asks of it. */
export interface AnnotationTarget {
  /** Move the segment selection by `step`. */
  moveSelection(step: number): void;
  /** Go to the next (`1`) or previous (`-1`) trajectory. */
  navigate(step: number): void;
  /** The labels on keys 1–9. */
  labels(): readonly string[];
  /** Store an annotation on the selected segment (`onSegment`) or on the trajectory. */
  annotate(kind: string, value: string | number | null, onSegment: boolean): void;
  undo(): void;
  /** The note the note box opens with, and whether the note is on the selected segment. */
  noteTarget(): { text: string; onSegment: boolean };
  /** Store the selected segment's model suggestion as the label (views that offer them). */
  acceptSuggestion?(): void;
}

/** The annotation keys of a view: the mode (after `r`, while writing a note), note box, status. */
export class AnnotationKeys {
  readonly noteInput = h("input", { class: "wb-note-input", type: "text", placeholder: "note — Enter saves, Esc cancels" });
  readonly noteBox = h("div", { class: "wb-note-box" }, [this.noteInput]);
  readonly statusEl = h("div", { class: "wb-annot-status", role: "status" });
  mode: "normal" | "rate" | "note" = "normal";
  private home: HTMLElement | null = null;

  constructor(private target: AnnotationTarget) {
    this.noteBox.style.display = "none";
    this.noteInput.addEventListener("keydown", (ev) => {
      ev.stopPropagation();
      if (ev.key === "Enter") {
        ev.preventDefault();
        this.saveNote();
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        this.closeNote();
      }
    });
  }

  /** Take the keys pressed in `el`; the focus returns to it when a note closes. */
  attach(el: HTMLElement): void {
    this.home = el;
    el.addEventListener("keydown", (ev) => this.onKey(ev));
  }

  /** Show `message` in the status line (red when `error`). */
  flash(message: string, error: boolean): void {
    setText(this.statusEl, message);
    this.statusEl.classList.toggle("wb-annot-error", error);
  }

  private onKey(ev: KeyboardEvent): void {
    if (this.mode === "note" || ev.target === this.noteInput) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const action = keyAction(ev.key, this.mode === "rate");
    if (action === null) return;
    ev.preventDefault();
    ev.stopPropagation();
    if (this.mode === "rate") this.mode = "normal";
    const t = this.target;
    switch (action.type) {
      case "move":
        t.moveSelection(action.step);
        break;
      case "navigate":
        t.navigate(action.step);
        break;
      case "label": {
        const label = t.labels()[action.key - 1];
        if (label === undefined) this.flash(`no label on key ${action.key}`, true);
        else t.annotate("label", label, true);
        break;
      }
      case "clear-label":
        t.annotate("label", null, true);
        break;
      case "rate-mode":
        this.mode = "rate";
        this.flash("rate: press 1–5 (0 clears)", false);
        break;
      case "rate":
        t.annotate("rating", action.value, false);
        break;
      case "rate-cancel":
        this.flash("rating cancelled", false);
        break;
      case "note":
        this.openNote();
        break;
      case "verdict":
        t.annotate("verdict", action.value, false);
        break;
      case "undo":
        t.undo();
        break;
      case "accept":
        if (t.acceptSuggestion) t.acceptSuggestion();
        else this.flash("no suggestions here", true);
        break;
    }
  }

  private openNote(): void {
    this.mode = "note";
    this.noteBox.style.display = "";
    this.noteInput.value = this.target.noteTarget().text;
    this.noteInput.focus();
  }

  private saveNote(): void {
    const text = this.noteInput.value;
    this.target.annotate("note", text.trim() ? text : null, this.target.noteTarget().onSegment);
    this.closeNote();
  }

  private closeNote(): void {
    this.mode = "normal";
    this.noteBox.style.display = "none";
    this.home?.focus();
  }
}
