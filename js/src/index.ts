// The anywidget entry point: one bundle for every workbench widget; the `_view` trait picks the
// view. Nothing is fetched at run time: every dependency is bundled.

import type { RenderProps } from "@anywidget/types";
import { renderAnnotator } from "./annotator";
import { renderCompare } from "./compare";
import type { Model } from "./channel";
import { h } from "./dom";
import { renderHeatmap } from "./heatmap";
import { renderLiveTrace } from "./live_trace";
import { renderStats } from "./stats";

const VIEWS: Record<string, (model: Model, el: HTMLElement) => () => void> = {
  live_trace: renderLiveTrace,
  annotator: renderAnnotator,
  heatmap: renderHeatmap,
  stats: renderStats,
  compare: renderCompare,
};

function render({ model, el }: RenderProps<Record<string, unknown>>): () => void {
  el.classList.add("wb-root");
  const view = String(model.get("_view") ?? "");
  const fn = VIEWS[view];
  if (!fn) {
    el.appendChild(h("div", { class: "wb-error", text: `unknown workbench view ${JSON.stringify(view)}` }));
    return () => undefined;
  }
  return fn(model as Model, el);
}

export default { render };
