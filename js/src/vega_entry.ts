// The vega bundle (vega, vega-lite, vega-embed), built separately into static/vega.js and loaded
// only by views that draw vega-lite charts (see charts.ts). Everything is bundled: no CDN. The
// charts load nothing: vega's loader refuses every URL, expressions are interpreted (no code is
// generated from a spec), tooltips escape their HTML (vega-tooltip's sanitize), and the actions
// menu (its links to the online editor) is off; export goes through our own buttons.

import embed from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";
import * as vega from "vega";

export interface ThemeColours {
  fg: string;
  fg2: string;
  border: string;
  font: string;
  dark: boolean;
}

function refuse(): Promise<never> {
  return Promise.reject(new Error("workbench charts load nothing from the network"));
}

function noLoader(): vega.Loader {
  const base = vega.loader();
  return Object.assign(base, { load: refuse, sanitize: refuse, http: refuse, file: refuse });
}

export interface Drawn {
  view: vega.View;
  finalize: () => void;
}

/** Draw a vega-lite spec into `el` in the page's theme; `onSelect` gets the picked datum. */
export async function draw(
  el: HTMLElement,
  spec: Record<string, unknown>,
  theme: ThemeColours,
  onSelect: (datum: Record<string, unknown> | null) => void,
): Promise<Drawn> {
  const config = {
    background: null,
    font: theme.font,
    title: { color: theme.fg, subtitleColor: theme.fg2, anchor: "start", fontSize: 13 },
    axis: { labelColor: theme.fg, titleColor: theme.fg2, domainColor: theme.fg2, tickColor: theme.fg2, gridColor: theme.border, labelLimit: 160 },
    legend: { labelColor: theme.fg, titleColor: theme.fg2 },
    view: { stroke: null },
    bar: { fill: "#2196f3" },
  };
  const result = await embed(el, spec as never, {
    mode: "vega-lite",
    renderer: "svg",
    actions: false,
    defaultStyle: false,
    config: config as never,
    loader: noLoader(),
    ast: true,
    expr: expressionInterpreter,
    tooltip: { theme: theme.dark ? "dark" : "light" },
    // no signal is bound to an input: vega's empty <form> for bindings stays out of the page
    bind: document.createElement("div"),
  });
  const view = result.view;
  view.addEventListener("click", (_event, item) => {
    const datum = (item as { datum?: Record<string, unknown> } | null | undefined)?.datum;
    onSelect(datum && typeof datum === "object" ? datum : null);
  });
  return { view, finalize: () => result.finalize() };
}

export default { draw };
