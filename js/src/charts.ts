// vega-lite charts inside the widgets: the spec comes from Python (altair over polars frames);
// the vega bundle arrives as the widget's `_vega` state and is imported once per page from a
// blob: URL, so widgets without charts never load it. Charts follow JupyterLab's theme (its CSS
// variables, redrawn when the theme changes) and export themselves as SVG or PNG.

import type { Drawn, ThemeColours } from "./vega_entry";
import type { Channel, Model } from "./channel";
import { button, clear, h } from "./dom";

interface VegaModule {
  draw: (el: HTMLElement, spec: Record<string, unknown>, theme: ThemeColours, onSelect: (d: Record<string, unknown> | null) => void) => Promise<Drawn>;
}

let loading: Promise<VegaModule> | null = null;

export function loadVega(src: string): Promise<VegaModule> {
  if (!loading) {
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    loading = import(/* webpackIgnore: true */ url).then((m) => (m.default ?? m) as VegaModule);
  }
  return loading;
}

export function themeColours(el: HTMLElement): ThemeColours {
  const css = getComputedStyle(el);
  const get = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: get("--wb-fg", "#1f2328"),
    fg2: get("--wb-fg2", "#57606a"),
    border: get("--wb-border", "#d0d7de"),
    font: get("--jp-ui-font-family", "system-ui, sans-serif"),
    dark: document.body.dataset.jpThemeLight === "false",
  };
}

/** Save a blob we made (the chart's own SVG or PNG) as a file: the one link the widgets create. */
function download(name: string, blob: Blob): void {
  const a = document.createElement("a");
  a.download = name;
  a.href = URL.createObjectURL(blob);
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** One chart: its plot, its export buttons, redrawn when JupyterLab's theme changes. */
export class VegaChart {
  readonly el: HTMLElement;
  private plot: HTMLElement;
  private drawn: Drawn | null = null;
  private spec: Record<string, unknown> | null = null;
  private observer: MutationObserver | null = null;
  private token = 0;

  constructor(
    private source: () => string,
    private name: string,
    private onSelect: (datum: Record<string, unknown> | null) => void,
    private onError: (message: string) => void,
  ) {
    this.plot = h("div", { class: "wb-vega" });
    const svgBtn = button("SVG", `Save this chart as SVG (${name}.svg)`, () => void this.save("svg"), "wb-small wb-export");
    const pngBtn = button("PNG", `Save this chart as PNG (${name}.png)`, () => void this.save("png"), "wb-small wb-export");
    this.el = h("div", { class: "wb-chart" }, [this.plot, h("div", { class: "wb-chart-actions" }, [h("span", { class: "wb-chart-save", text: "save" }), svgBtn, pngBtn])]);
    if (typeof MutationObserver !== "undefined") {
      this.observer = new MutationObserver(() => {
        if (this.spec) void this.show(this.spec);
      });
      this.observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
    }
  }

  async show(spec: Record<string, unknown>): Promise<void> {
    this.spec = spec;
    const token = ++this.token;
    try {
      const vega = await loadVega(this.source());
      if (token !== this.token) return;
      const box = h("div", { class: "wb-vega-plot" });
      const drawn = await vega.draw(box, this.fitted(spec), themeColours(this.el), this.onSelect);
      if (token !== this.token) {
        drawn.finalize();
        return;
      }
      this.drawn?.finalize();
      this.drawn = drawn;
      clear(this.plot);
      this.plot.appendChild(box);
      this.plot.dataset.ready = String(token);
    } catch (err) {
      this.onError(`chart ${this.name}: ${String(err)}`);
    }
  }

  /** The spec narrowed to the room there is (the axis labels and titles need about 180 px). */
  private fitted(spec: Record<string, unknown>): Record<string, unknown> {
    const room = (this.el.parentElement?.clientWidth || 0) - 180;
    const width = typeof spec.width === "number" ? spec.width : 0;
    if (room <= 0 || !width || room >= width) return spec;
    return { ...spec, width: Math.max(120, room) };
  }

  /** Redraw when the room changed (a narrower notebook). */
  refit(): void {
    if (this.spec) void this.show(this.spec);
  }

  /** The chart as an SVG document (what the SVG button saves). */
  async toSVG(): Promise<string> {
    return this.drawn ? this.drawn.view.toSVG() : "";
  }

  private async save(kind: "svg" | "png"): Promise<void> {
    if (!this.drawn) return;
    if (kind === "svg") {
      download(`${this.name}.svg`, new Blob([await this.drawn.view.toSVG()], { type: "image/svg+xml" }));
    } else {
      const canvas = (await this.drawn.view.toCanvas(2)) as HTMLCanvasElement;
      const blob = await new Promise<Blob | null>((done) => canvas.toBlob(done, "image/png"));
      if (blob) download(`${this.name}.png`, blob);
    }
  }

  dispose(): void {
    this.observer?.disconnect();
    this.drawn?.finalize();
  }
}

/** The theme of exported figures: light on white, whatever the notebook's theme (for papers). */
const EXPORT_THEME: ThemeColours = { fg: "#1f2328", fg2: "#57606a", border: "#d0d7de", font: "Helvetica, Arial, sans-serif", dark: false };

/** What an export button asks the kernel for (see FigureRequestMsg). */
export interface FigureWhat {
  sample: number;
  mode: string;
  constraint: number;
}

/**
 * SVG/PNG export of figures the kernel draws (canvas views: the heatmap, the token curves). A
 * button asks the kernel for the view's `.chart()` (a vega-lite spec, the same figure Python
 * returns); the bundled vega draws it off screen and saves vega's own SVG or PNG.
 */
export class FigureExport {
  private next = 0;
  private pending = new Map<number, "svg" | "png">();

  constructor(private ch: Channel, private model: Model) {
    ch.onMessage((msg) => {
      if (msg.type !== "figure" || msg.view !== ch.viewId) return;
      const kind = this.pending.get(msg.request_id);
      if (!kind) return;
      this.pending.delete(msg.request_id);
      void this.save(kind, msg.name, msg.spec);
    });
  }

  /** The "save SVG PNG" buttons of one figure; `what` says which, when clicked. */
  buttons(what: () => FigureWhat, title: string): HTMLElement {
    const ask = (kind: "svg" | "png") => {
      this.next += 1;
      this.pending.set(this.next, kind);
      this.ch.send({ type: "figure_request", view: this.ch.viewId, request_id: this.next, ...what() });
    };
    return h("span", { class: "wb-chart-actions wb-figure-actions" }, [
      h("span", { class: "wb-chart-save", text: "save" }),
      button("SVG", `Save ${title} as SVG (the figure .chart() returns)`, () => ask("svg"), "wb-small wb-export"),
      button("PNG", `Save ${title} as PNG (the figure .chart() returns)`, () => ask("png"), "wb-small wb-export"),
    ]);
  }

  private async save(kind: "svg" | "png", name: string, spec: Record<string, unknown>): Promise<void> {
    const box = h("div", { class: "wb-offscreen" });
    try {
      const vega = await loadVega(String(this.model.get("_vega") ?? ""));
      document.body.appendChild(box);
      const drawn = await vega.draw(box, { ...spec, background: "white" }, EXPORT_THEME, () => undefined);
      try {
        if (kind === "svg") {
          download(`${name}.svg`, new Blob([await drawn.view.toSVG()], { type: "image/svg+xml" }));
        } else {
          const canvas = (await drawn.view.toCanvas(2)) as HTMLCanvasElement;
          const blob = await new Promise<Blob | null>((done) => canvas.toBlob(done, "image/png"));
          if (blob) download(`${name}.png`, blob);
        }
      } finally {
        drawn.finalize();
      }
    } catch (err) {
      this.ch.showError(`figure ${name}: ${String(err)}`);
    } finally {
      box.remove();
    }
  }
}
