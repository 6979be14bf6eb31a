// Drawing a trajectory (shared by the main-area viewer and the MIME renderer): header, prompt,
// thinking split into segments coloured by pattern label with keyword hits highlighted, answer.
// Every string from data goes in through textContent (js/src/dom.ts); colours are fixed classes.

import { clear, clip, colourIndex, fmt, h } from "../../js/src/dom";
import type { HitInfo, Message, Payload, SegmentInfo, TrajectoryData } from "./types";

export function promptText(t: TrajectoryData): string {
  if (typeof t.prompt === "string") return t.prompt;
  if (!Array.isArray(t.prompt)) return "";
  for (let i = t.prompt.length - 1; i >= 0; i--) {
    const m = t.prompt[i] as Message;
    if (m && m.role === "user") return String(m.content ?? "");
  }
  return "";
}

export function gradeText(t: { grade: TrajectoryData["grade"] }): string {
  const g = t.grade;
  if (!g) return "ungraded";
  if (g.correct === true) return "correct";
  if (g.correct === false) return "incorrect";
  return g.score === null || g.score === undefined ? "graded" : `grade ${fmt(Number(g.score), 2)}`;
}

function span(pair: unknown, n: number): [number, number] {
  if (Array.isArray(pair) && pair.length === 2) {
    const a = Math.max(0, Math.min(n, Number(pair[0]) || 0));
    const b = Math.max(a, Math.min(n, Number(pair[1]) || 0));
    return [a, b];
  }
  return [0, 0];
}

/** Check a payload's shape; return an error message, or null when it can be drawn. */
export function payloadProblem(p: unknown): string | null {
  if (!p || typeof p !== "object") return "not a JSON object";
  const payload = p as Payload;
  if (payload.version !== 1) return `unsupported payload version ${String(payload.version)} (this extension reads version 1)`;
  const t = payload.trajectory as unknown as Record<string, unknown> | undefined;
  if (!t || typeof t !== "object") return "no trajectory in the payload";
  if (typeof t.raw !== "string") return "the trajectory has no raw text";
  return null;
}

/** Text [a, b) of `raw` with the keyword hits inside it wrapped in `.wb-hit` spans. */
export function withHits(raw: string, a: number, b: number, hits: readonly HitInfo[], into: HTMLElement): void {
  let pos = a;
  for (const hit of hits) {
    if (hit.end <= pos || hit.start >= b) continue;
    const s = Math.max(pos, hit.start);
    const e = Math.min(b, hit.end);
    if (s > pos) into.appendChild(document.createTextNode(raw.slice(pos, s)));
    into.appendChild(h("span", { class: "wb-hit", text: raw.slice(s, e), title: `keyword: ${hit.keyword}` }));
    pos = e;
  }
  if (pos < b) into.appendChild(document.createTextNode(raw.slice(pos, b)));
}

export interface ThinkingOptions {
  labels: readonly string[];
  selected?: number;
  onSelect?: (i: number) => void;
}

/** The thinking as one block per segment (and plain blocks for text between segments). */
export function renderThinking(
  raw: string,
  bounds: [number, number],
  segments: readonly SegmentInfo[],
  hits: readonly HitInfo[],
  opts: ThinkingOptions,
): HTMLElement {
  const box = h("div", { class: "wb-x-thinking", role: "list", label: "thinking segments" });
  const [ts, te] = bounds;
  const sorted = [...hits].sort((x, y) => x.start - y.start);
  const segs = segments.filter((s) => s.end > s.start && s.start < raw.length);
  let pos = ts;
  const gap = (a: number, b: number) => {
    if (b <= a || !raw.slice(a, b).trim()) return;
    const block = h("div", { class: "wb-x-gap" });
    withHits(raw, a, b, sorted, block);
    box.appendChild(block);
  };
  segs.forEach((s, i) => {
    gap(pos, s.start);
    const label = s.human_label ?? s.label;
    const c = colourIndex(label, opts.labels);
    const block = h("div", {
      class: `wb-x-seg${c >= 0 ? ` wb-c${c}` : ""}${opts.selected === i ? " wb-selected" : ""}`,
      role: "listitem",
    });
    block.dataset.index = String(i);
    block.dataset.segment = s.id;
    const head = h("div", { class: "wb-x-seg-head" }, [h("span", { class: "wb-seg-index", text: String(s.index) })]);
    if (s.label !== null) head.appendChild(h("span", { class: "wb-label", text: s.label, title: `${s.source ?? "rule"} label` }));
    if (s.human_label !== null) head.appendChild(h("span", { class: `wb-label wb-human wb-c${colourIndex(s.human_label, opts.labels)}`, text: `✎ ${s.human_label}`, title: "hand label" }));
    if (s.note !== null) head.appendChild(h("span", { class: "wb-note", text: `“${clip(s.note, 160)}”` }));
    block.appendChild(head);
    const text = h("div", { class: "wb-seg-text" });
    withHits(raw, s.start, Math.min(s.end, raw.length), sorted, text);
    block.appendChild(text);
    if (opts.onSelect) block.addEventListener("click", () => opts.onSelect?.(i));
    box.appendChild(block);
    pos = Math.max(pos, s.end);
  });
  gap(pos, te);
  if (!box.firstChild) box.appendChild(h("div", { class: "wb-empty", text: "(no thinking)" }));
  return box;
}

/** Swatches of `labels` (numbered 1–9 for the keys), coloured as `colourIndex(label, palette)`. */
export function legend(labels: readonly string[], numbered: boolean, palette: readonly string[] = labels): HTMLElement {
  const keys = h("div", { class: "wb-keys" });
  labels.slice(0, numbered ? 9 : 12).forEach((label, i) => {
    const item = h("span", { class: "wb-key" });
    if (numbered) item.appendChild(h("kbd", { text: String(i + 1) }));
    item.appendChild(h("span", { class: `wb-swatch wb-c${colourIndex(label, palette)}` }));
    item.appendChild(h("span", { text: label }));
    keys.appendChild(item);
  });
  return keys;
}

/** Header line: model, status, grade, think format, sizes, id. */
export function header(t: TrajectoryData, nTokens: number | undefined): HTMLElement {
  const head = h("div", { class: "wb-x-head" }, [
    h("span", { class: "wb-model", text: t.model ?? "(no model)" }),
    h("span", { class: `wb-status wb-status-${["complete", "partial", "cancelled", "error"].includes(t.status) ? t.status : "x"}`, text: String(t.status) }),
    h("span", { class: "wb-grade", text: gradeText(t) }),
    h("span", { class: "wb-stat", text: `think: ${t.think_format ?? "?"}` }),
    h("span", { class: "wb-stat", text: `${t.raw.length.toLocaleString()} chars${nTokens ? ` · ${nTokens.toLocaleString()} tokens` : ""}` }),
    h("span", { class: "wb-id", text: t.id, title: "trajectory id" }),
  ]);
  if (Array.isArray(t.tags) && t.tags.length) {
    head.appendChild(h("span", { class: "wb-x-tags" }, t.tags.map((tag) => h("span", { class: "wb-x-tag", text: String(tag) }))));
  }
  return head;
}

export function promptBlock(t: TrajectoryData, open: boolean): HTMLElement {
  const text = promptText(t);
  const details = h("details", { class: "wb-prompt" });
  details.open = open;
  details.appendChild(h("summary", { text: `prompt: ${clip(text.replace(/\s+/g, " "), 140)}` }));
  details.appendChild(h("div", { class: "wb-prompt-text", text }));
  return details;
}

export function answerBlock(t: TrajectoryData, hits: readonly HitInfo[]): HTMLElement {
  const [a, b] = span(t.answer_span, t.raw.length);
  const box = h("div", { class: "wb-x-answer" }, [h("div", { class: "wb-pane-label", text: `answer (${(b - a).toLocaleString()} chars)` })]);
  const body = h("div", { class: "wb-x-answer-text" });
  if (b > a) withHits(t.raw, a, b, [...hits].sort((x, y) => x.start - y.start), body);
  else body.appendChild(h("span", { class: "wb-empty", text: "(no answer)" }));
  box.appendChild(body);
  return box;
}

export function thinkingBounds(t: TrajectoryData): [number, number] {
  return span(t.thinking_span, t.raw.length);
}

/** The whole read-only view of a MIME payload (the renderer for saved notebooks). */
export function renderPayload(into: HTMLElement, payload: Payload): void {
  clear(into);
  const t = payload.trajectory;
  const labels = Array.isArray(payload.labels) ? payload.labels.map(String) : [];
  const segments = Array.isArray(payload.segments) ? payload.segments : [];
  const hits = Array.isArray(payload.hits) ? payload.hits : [];
  into.appendChild(header(t, payload.n_tokens));
  into.appendChild(promptBlock(t, false));
  const bounds = thinkingBounds(t);
  into.appendChild(h("div", { class: "wb-pane-label", text: `thinking (${(bounds[1] - bounds[0]).toLocaleString()} chars${segments.length ? `, ${segments.length} segments` : ""})` }));
  const thinking = renderThinking(t.raw, bounds, segments, hits, { labels });
  thinking.classList.add("wb-x-scroll");
  into.appendChild(thinking);
  into.appendChild(answerBlock(t, hits));
  if (segments.length) {
    const used = labels.length ? labels : [...new Set(segments.map((s) => s.human_label ?? s.label).filter((l): l is string => l !== null))];
    into.appendChild(legend(used, false, labels));
  }
}
