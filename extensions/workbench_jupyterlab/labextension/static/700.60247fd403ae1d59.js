"use strict";(self.rspackChunkworkbench_jupyterlab=self.rspackChunkworkbench_jupyterlab||[]).push([[700],{750(e,r,o){var a=o(601),t=o.n(a),i=o(314),n=(o.n(i))()(t());n.push([e.id,`/* workbench widgets. Colours come from fixed classes (wb-c0..wb-c11, wb-shade-0..7): no style
   value is ever built from data. */
.wb-root {
  /* JupyterLab's theme variables (light and dark), with fallbacks outside JupyterLab */
  --wb-fg: var(--jp-content-font-color1, #1f2328);
  --wb-fg2: var(--jp-content-font-color2, #57606a);
  --wb-bg: var(--jp-layout-color0, #ffffff);
  --wb-bg2: var(--jp-layout-color2, #f3f4f6);
  --wb-border: var(--jp-border-color2, #d0d7de);
  --wb-accent: var(--jp-brand-color1, #1f6feb);
  --wb-danger: var(--jp-error-color1, #cf222e);
  --wb-warn: var(--jp-warn-color1, #9a6700);
  --wb-ok: var(--jp-success-color1, #1a7f37);
  --wb-info: var(--jp-brand-color1, #0969da);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: 13px;
  color: var(--wb-fg);
}
.wb-root * { box-sizing: border-box; }
.wb-toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 4px 0; }
.wb-spacer { flex: 1; }
.wb-btn { font: inherit; padding: 2px 10px; border: 1px solid var(--wb-border); border-radius: 4px;
  background: var(--wb-bg2); color: var(--wb-fg); cursor: pointer; }
.wb-btn:hover:not(:disabled) { border-color: var(--wb-accent); }
.wb-btn:disabled { opacity: 0.45; cursor: default; }
.wb-stop:not(:disabled) { background: var(--wb-danger); color: #fff; border-color: var(--wb-danger); }
.wb-small { padding: 0 6px; font-size: 11px; }
.wb-select { font: inherit; padding: 1px 4px; color: var(--wb-fg); background: var(--wb-bg); border: 1px solid var(--wb-border); border-radius: 3px; max-width: 100%; }
.wb-stat { color: var(--wb-fg2); }
.wb-stat-name { margin-right: 3px; }
.wb-count { font-variant-numeric: tabular-nums; color: var(--wb-fg); font-weight: 600; }
.wb-status { padding: 0 6px; border-radius: 8px; background: var(--wb-bg2); font-size: 11px; }
.wb-status-running { color: var(--wb-info); box-shadow: inset 0 0 0 1px var(--wb-info); }
.wb-status-complete { color: var(--wb-ok); box-shadow: inset 0 0 0 1px var(--wb-ok); }
.wb-status-cancelled { color: var(--wb-warn); box-shadow: inset 0 0 0 1px var(--wb-warn); }
.wb-status-error { color: var(--wb-danger); box-shadow: inset 0 0 0 1px var(--wb-danger); }
.wb-error { color: var(--wb-danger); white-space: pre-wrap; font-family: var(--jp-code-font-family, monospace); }
.wb-error:empty { display: none; }
.wb-prompt { margin: 2px 0; }
.wb-prompt summary { cursor: pointer; color: var(--wb-fg2); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.wb-prompt-text { white-space: pre-wrap; max-height: 240px; overflow: auto; padding: 4px 8px;
  background: var(--wb-bg2); font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.wb-samples { display: grid; gap: 8px; }
.wb-sample { min-width: 0; border: 1px solid var(--wb-border); border-radius: 6px; padding: 4px; }
.wb-sample-head { display: flex; flex-wrap: wrap; gap: 2px 6px; align-items: center; min-width: 0; }
.wb-sample-title { font-weight: 600; min-width: 0; flex: 0 1 auto; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-sample-status { color: var(--wb-fg2); font-size: 11px; flex: 1 0 auto; white-space: nowrap; }
.wb-sample-actions { display: inline-flex; gap: 4px; flex: 0 0 auto; margin-left: auto; }
.wb-pane-label { font-size: 11px; color: var(--wb-fg2); text-transform: uppercase; letter-spacing: 0.04em; margin-top: 4px; }
.wb-pane { position: relative; overflow-y: auto; overflow-x: hidden; height: 420px; min-height: 40px; padding: 4px 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; line-height: 18px; background: var(--wb-bg); border: 1px solid var(--wb-border); border-radius: 4px; }
.wb-live .wb-pane { height: auto; max-height: 420px; }
.wb-live .wb-answer { max-height: 160px; }
.wb-row { contain: content; }
.wb-flash { outline: 2px solid #ff3b30; }
.wb-seg-start { border-left: 2px solid var(--wb-fg2); padding-left: 1px; }
.wb-open { opacity: 0.75; text-decoration: underline dotted var(--wb-fg2); }
.wb-hit { font-weight: 700; text-decoration: underline; text-decoration-color: var(--wb-danger); text-decoration-thickness: 2px; }
.wb-root .wb-brushed { background-image: linear-gradient(rgba(33,150,243,0.35), rgba(33,150,243,0.35)); text-decoration: underline solid var(--wb-accent); }
.wb-selected { outline: 2px solid var(--wb-accent); }
.wb-c0 { background: rgba(31,119,180,0.18); }  .wb-c1 { background: rgba(255,127,14,0.20); }
.wb-c2 { background: rgba(44,160,44,0.18); }   .wb-c3 { background: rgba(214,39,40,0.16); }
.wb-c4 { background: rgba(148,103,189,0.18); } .wb-c5 { background: rgba(140,86,75,0.18); }
.wb-c6 { background: rgba(227,119,194,0.18); } .wb-c7 { background: rgba(127,127,127,0.18); }
.wb-c8 { background: rgba(188,189,34,0.22); }  .wb-c9 { background: rgba(23,190,207,0.18); }
.wb-c10 { background: rgba(57,59,121,0.18); }  .wb-c11 { background: rgba(99,121,57,0.20); }
/* JupyterLab's dark themes mark the body: pattern colours need more weight on a dark page */
[data-jp-theme-light="false"] .wb-root .wb-c0:not(rect) { background: rgba(86,156,214,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c1:not(rect) { background: rgba(255,152,60,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c2:not(rect) { background: rgba(88,196,88,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c3:not(rect) { background: rgba(240,90,90,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c4:not(rect) { background: rgba(180,140,220,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c5:not(rect) { background: rgba(190,130,115,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c6:not(rect) { background: rgba(240,140,210,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c7:not(rect) { background: rgba(170,170,170,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c8:not(rect) { background: rgba(210,210,70,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c9:not(rect) { background: rgba(60,210,225,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c10:not(rect) { background: rgba(120,124,210,0.34); }
[data-jp-theme-light="false"] .wb-root .wb-c11:not(rect) { background: rgba(150,180,100,0.34); }
rect.wb-c0 { fill: rgb(31,119,180); } rect.wb-c1 { fill: rgb(255,127,14); } rect.wb-c2 { fill: rgb(44,160,44); }
rect.wb-c3 { fill: rgb(214,39,40); } rect.wb-c4 { fill: rgb(148,103,189); } rect.wb-c5 { fill: rgb(140,86,75); }
rect.wb-c6 { fill: rgb(227,119,194); } rect.wb-c7 { fill: rgb(127,127,127); } rect.wb-c8 { fill: rgb(188,189,34); }
rect.wb-c9 { fill: rgb(23,190,207); } rect.wb-c10 { fill: rgb(57,59,121); } rect.wb-c11 { fill: rgb(99,121,57); }
.wb-shade-0 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.00); }
.wb-shade-1 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.12); }
.wb-shade-2 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.25); }
.wb-shade-3 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.38); }
.wb-shade-4 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.50); }
.wb-shade-5 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.63); }
.wb-shade-6 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.77); }
.wb-shade-7 { box-shadow: inset 0 -3px 0 rgba(207,34,46,0.92); }
.wb-legend, .wb-keys { display: flex; flex-wrap: wrap; gap: 4px 12px; margin-top: 4px; font-size: 11px; color: var(--wb-fg2); }
.wb-legend-item, .wb-key { display: inline-flex; gap: 4px; align-items: center; }
.wb-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
.wb-annot:focus { outline: 2px solid var(--wb-accent); outline-offset: 2px; }
.wb-annot, .wb-cmp { padding: 4px; }
.wb-annot-head, .wb-cmp-meta, .wb-cmp-nav { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.wb-id { font-family: var(--jp-code-font-family, monospace); color: var(--wb-fg2); }
.wb-model { font-weight: 600; }
.wb-annot-chips, .wb-chips { display: flex; gap: 6px; flex-wrap: wrap; margin: 4px 0; }
.wb-chip { border: 1px solid var(--wb-border); border-radius: 10px; padding: 0 8px; font-size: 11px; }
.wb-chip-name { color: var(--wb-fg2); margin-right: 4px; }
.wb-chip-empty { opacity: 0.6; }
.wb-help { font-size: 11px; color: var(--wb-fg2); margin: 2px 0 4px; }
.wb-annot-body { display: grid; grid-template-columns: minmax(0, 3fr) minmax(160px, 1fr); gap: 8px; }
.wb-annot-list { white-space: normal; }
.wb-annot-row, .wb-cmp-row { border-bottom: 1px solid var(--wb-border); padding: 3px 2px; cursor: pointer; }
.wb-annot-row-head { display: flex; gap: 6px; align-items: center; font-family: var(--jp-ui-font-family, sans-serif); font-size: 11px; }
.wb-seg-index { color: var(--wb-fg2); min-width: 2em; }
.wb-label { border-radius: 3px; padding: 0 5px; }
.wb-human { font-weight: 700; }
.wb-note { font-style: italic; color: var(--wb-fg2); }
.wb-seg-text { white-space: pre-wrap; overflow-wrap: anywhere; font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.wb-history-box { min-width: 0; }
.wb-history { overflow-y: auto; font-size: 11px; border: 1px solid var(--wb-border); border-radius: 4px; padding: 2px 4px; }
.wb-history-item { display: flex; flex-wrap: wrap; gap: 4px; border-bottom: 1px dotted var(--wb-border); padding: 2px 0; }
.wb-history-time, .wb-history-author { color: var(--wb-fg2); }
.wb-history-kind { font-weight: 700; }
.wb-history-value { overflow-wrap: anywhere; }
.wb-note-box { margin: 4px 0; }
.wb-note-input { width: 100%; font: inherit; padding: 2px 4px; color: var(--wb-fg); background: var(--wb-bg); border: 1px solid var(--wb-border); }
.wb-annot-status { min-height: 1.2em; font-size: 12px; color: var(--wb-fg2); }
.wb-annot-error { color: var(--wb-danger); }
.wb-heat-grid { display: flex; align-items: flex-start; gap: 0; }
.wb-heat-scroll { overflow-x: auto; min-width: 0; flex: 0 1 auto; }
.wb-heat-area { position: relative; }
.wb-heat-canvas { display: block; image-rendering: pixelated; cursor: crosshair; }
.wb-heat-head { color: var(--wb-fg2); font-size: 11px; }
.wb-heat-seg .wb-heat-scroll { padding-top: 0; }
.wb-seg-rows { padding-top: 22px; position: relative; }
.wb-seg-rows-title { position: absolute; top: 4px; left: 2px; }
.wb-axis-caption { text-align: center; }
.wb-cbar { display: flex; align-items: flex-start; margin-left: 10px; flex: 0 0 auto; }
.wb-cbar-ramp { width: 12px; display: block; border: 1px solid var(--wb-border); }
.wb-axis { display: block; overflow: visible; }
.wb-axis-line { stroke: var(--wb-fg2); stroke-width: 1px; shape-rendering: crispEdges; }
.wb-tick { font-size: 10px; fill: var(--wb-fg); font-variant-numeric: tabular-nums; }
.wb-axis-title { font-size: 11px; fill: var(--wb-fg2); color: var(--wb-fg2); font-weight: 600; }
.wb-boundary-label { position: absolute; top: 1px; font-size: 10px; font-weight: 700; color: #fff; background: rgba(255,59,48,0.85); padding: 0 3px; border-radius: 2px; pointer-events: none; white-space: nowrap; }
.wb-boundary-left { background: rgba(90,90,90,0.75); }
.wb-tip { position: absolute; display: none; z-index: 5; pointer-events: none; white-space: pre; max-width: 420px; overflow: hidden; text-overflow: ellipsis;
  background: var(--wb-bg); color: var(--wb-fg); border: 1px solid var(--wb-border); border-radius: 4px; padding: 3px 6px;
  font-family: var(--jp-code-font-family, monospace); font-size: 11px; box-shadow: 0 2px 6px rgba(0,0,0,0.25); }
.wb-brush { position: absolute; top: 0; bottom: 0; display: none; background: rgba(33,150,243,0.25); border: 1px solid var(--wb-accent); pointer-events: none; }
.wb-curve { margin: 2px 0 4px; }
.wb-timeline { margin: 2px 0; }
.wb-timeline-canvas { display: block; width: 100%; height: 14px; cursor: pointer; border-radius: 2px; background: var(--wb-bg2); }
.wb-live .wb-timeline { padding-left: 40px; }
.wb-curve-legend { display: flex; flex-wrap: wrap; gap: 2px 10px; font-size: 10px; color: var(--wb-fg2); align-items: center; }
.wb-curve-readout { font-family: var(--jp-code-font-family, monospace); color: var(--wb-fg); margin-left: auto; min-height: 1em; }
.wb-curve-grid { display: grid; grid-template-columns: 40px minmax(0, 1fr); }
.wb-curve-plot { position: relative; min-width: 0; border-bottom: 0; }
.wb-curve-canvas { display: block; width: 100%; height: 64px; cursor: crosshair; }
.wb-line-key { display: inline-block; width: 14px; height: 0; border-top: 2px solid; vertical-align: middle; }
.wb-line-lp { border-color: #1f77b4; } .wb-line-ent { border-color: #ff7f0e; }
.wb-line-seg { border-color: rgba(127,127,127,0.7); width: 2px; height: 10px; border-top: 0; border-left: 1px solid rgba(127,127,127,0.9); }
.wb-line-hit { border-color: #d62728; width: 3px; height: 6px; border-top: 0; background: #d62728; }
.wb-line-bound { border-color: #ff3b30; width: 2px; height: 10px; border-top: 0; background: #ff3b30; }
rect.wb-swatch-none { fill: none; stroke: var(--wb-fg2); }
.wb-readout { font-family: var(--jp-code-font-family, monospace); font-size: 12px; min-height: 1.4em; white-space: pre-wrap; overflow-wrap: anywhere; }
.wb-charts { display: flex; flex-wrap: wrap; gap: 16px; }
.wb-chart-title { font-weight: 600; margin-bottom: 2px; }
.wb-chart { min-width: 0; max-width: 100%; }
.wb-vega { overflow-x: auto; min-height: 60px; }
.wb-vega svg { display: block; }
.wb-vega .mark-rect path { cursor: pointer; }
.wb-offscreen { position: fixed; left: -10000px; top: 0; width: 900px; pointer-events: none; }
.wb-figure-actions { margin-top: 0; margin-left: auto; flex: none; }
.wb-chart-actions { display: flex; gap: 4px; align-items: center; font-size: 11px; color: var(--wb-fg2); margin-top: 2px; }
.wb-trace-list { overflow: auto; border: 1px solid var(--wb-border); border-radius: 4px; }
.wb-trace-row > span { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-trace-row > .wb-chips { flex-wrap: nowrap; }
.wb-trace-row { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 1.2fr) 4em 6em 5em minmax(0, 3fr); gap: 6px; min-width: 620px;
  padding: 2px 6px; border-bottom: 1px solid var(--wb-border); font-size: 12px; align-items: center; }
.wb-trace-head { font-weight: 600; background: var(--wb-bg2); position: sticky; top: 0; }
.wb-trace-title { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-empty { color: var(--wb-fg2); font-style: italic; padding: 4px; }
.wb-cmp-heads { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.wb-cmp-head { border: 1px solid var(--wb-border); border-radius: 4px; padding: 4px; }
.wb-cmp-list { white-space: normal; }
.wb-cmp-row { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; cursor: default; }
.wb-cmp-cell { min-width: 0; }
.wb-gap { background: repeating-linear-gradient(45deg, var(--wb-bg2), var(--wb-bg2) 4px, transparent 4px, transparent 8px); color: var(--wb-fg2); text-align: center; }
.wb-len { color: var(--wb-fg2); }
.wb-cmp-answers { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.wb-choose { font-weight: 600; }
.wb-pair-status { color: var(--wb-fg2); }
/* branching: a clicked token's popover, a fork's column and its forced text */
.wb-live { position: relative; }
.wb-live .wb-pane.wb-clickable { cursor: pointer; }
.wb-popover { position: absolute; z-index: 20; box-sizing: border-box; max-width: calc(100% - 8px); padding: 6px 8px;
  background: var(--wb-bg); color: var(--wb-fg); border: 1px solid var(--wb-accent); border-radius: 6px;
  box-shadow: 0 4px 16px rgba(0,0,0,0.25); font-size: 12px; }
.wb-popover:focus { outline: none; }
.wb-pop-head { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; margin-bottom: 4px; }
.wb-pop-title { font-weight: 600; }
.wb-pop-token, .wb-alt-text { font-family: var(--jp-code-font-family, monospace); white-space: pre; overflow: hidden;
  text-overflow: ellipsis; min-width: 0; background: var(--wb-bg2); color: var(--wb-fg); padding: 0 4px; border-radius: 3px; }
.wb-pop-token { max-width: 140px; }
.wb-pop-lp, .wb-alt-lp, .wb-pop-label, .wb-pop-note { color: var(--wb-fg2); }
.wb-pop-close { margin-left: auto; }
.wb-pop-alts { display: flex; flex-direction: column; gap: 2px; margin: 2px 0 6px; max-height: 220px; overflow-y: auto; }
.wb-alt { display: flex; justify-content: space-between; align-items: center; gap: 8px; min-width: 0; text-align: left; padding: 1px 6px; }
.wb-alt .wb-alt-text { flex: 0 1 auto; max-width: 65%; }
.wb-alt .wb-alt-lp { flex: 0 0 auto; font-variant-numeric: tabular-nums; }
.wb-pop-row { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; }
.wb-pop-input { flex: 1 1 120px; min-width: 0; font: inherit; padding: 1px 4px; color: var(--wb-fg); background: var(--wb-bg);
  border: 1px solid var(--wb-border); border-radius: 3px; }
.wb-pop-status { color: var(--wb-danger); margin-top: 4px; overflow-wrap: anywhere; }
.wb-pop-status:empty { display: none; }
.wb-sample.wb-fork { border: 1px dashed var(--wb-accent); }
.wb-branch-note { font-size: 11px; color: var(--wb-fg2); cursor: pointer; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-root .wb-branch-text { box-shadow: inset 0 -2px 0 var(--wb-accent); background-image: linear-gradient(rgba(255,196,0,0.30), rgba(255,196,0,0.30)); }
.wb-root .wb-branch-point { outline: 1px dashed var(--wb-accent); outline-offset: -1px; }
/* importance strip: one bar per segment under a column's thinking (importance_strip.ts) */
.wb-imp { margin-top: 4px; min-width: 0; }
.wb-imp-grid { display: grid; grid-template-columns: 52px minmax(0, 1fr); }
.wb-imp-area { position: relative; min-width: 0; }
.wb-imp-plot { display: block; width: 100%; cursor: pointer; background: var(--wb-bg2); border-radius: 2px; }
.wb-imp-zero { stroke: var(--wb-fg2); stroke-width: 1px; shape-rendering: crispEdges; }
.wb-imp-grid-line { stroke: var(--wb-border); stroke-width: 1px; stroke-dasharray: 2 3; shape-rendering: crispEdges; }
rect.wb-imp-none { fill: #b0b0b0; }
rect.wb-imp-faded { fill-opacity: 0.32; stroke: var(--wb-fg2); stroke-opacity: 0.55; stroke-width: 0.8px; }
[data-jp-theme-light="false"] .wb-root rect.wb-imp-faded { fill-opacity: 0.45; }
[data-jp-theme-light="false"] .wb-root .wb-imp-key-faded { opacity: 0.45; }
rect.wb-imp-na { fill: none; stroke: var(--wb-fg2); stroke-dasharray: 2 2; }
rect.wb-imp-hot { stroke: var(--wb-fg); stroke-width: 1.5px; }
rect.wb-imp-selected { stroke: var(--wb-accent); stroke-width: 2.5px; }
.wb-imp-ci { stroke: var(--wb-fg); stroke-width: 1.2px; pointer-events: none; }
.wb-imp-tip { position: absolute; top: 4px; left: 0; display: none; z-index: 6; pointer-events: none; width: max-content; max-width: min(360px, 100%);
  background: var(--wb-bg); color: var(--wb-fg); border: 1px solid var(--wb-border); border-radius: 4px; padding: 3px 6px;
  font-size: 11px; line-height: 15px; box-shadow: 0 2px 6px rgba(0,0,0,0.25); white-space: normal; overflow-wrap: anywhere; }
.wb-imp-tip-head { font-weight: 700; }
.wb-imp-tip-note { color: var(--wb-fg2); }
.wb-imp-tip-text { font-family: var(--jp-code-font-family, monospace); margin-top: 2px; }
.wb-imp-legend { display: flex; flex-wrap: wrap; gap: 2px 12px; margin-top: 2px; padding-left: 52px; font-size: 11px; color: var(--wb-fg2); align-items: center; }
.wb-imp-key { display: inline-block; width: 10px; height: 12px; border-radius: 1px; background: var(--wb-fg2); }
.wb-imp-key-faded { opacity: 0.32; }
.wb-imp-whisker { display: inline-block; width: 8px; height: 12px;
  background: linear-gradient(var(--wb-fg), var(--wb-fg)) center / 1.5px 100% no-repeat,
    linear-gradient(var(--wb-fg), var(--wb-fg)) top / 100% 1.5px no-repeat,
    linear-gradient(var(--wb-fg), var(--wb-fg)) bottom / 100% 1.5px no-repeat; }
.wb-imp-caption { margin-left: auto; }
`,""]),o.d(r,{},{A:n})},475(e,r,o){var a=o(601),t=o.n(a),i=o(314),n=(o.n(i))()(t());n.push([e.id,`/* Browser panel (left sidebar). Colours only from fixed classes and JupyterLab's variables. */
.wb-browser { display: flex; flex-direction: column; height: 100%; min-width: 240px; background: var(--jp-layout-color1, #fff); }
.wb-b-head { display: flex; flex-direction: column; gap: 4px; padding: 6px 8px; border-bottom: 1px solid var(--wb-border); }
.wb-b-title { display: flex; align-items: center; gap: 6px; }
.wb-b-name { font-weight: 600; font-size: 13px; text-transform: uppercase; letter-spacing: 0.04em; flex: 1; }
.wb-b-store { font-size: 11px; color: var(--wb-fg2); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-b-filters { display: flex; gap: 4px; flex-wrap: wrap; }
.wb-b-filters > * { flex: 1 1 80px; min-width: 0; }
.wb-browser input, .wb-browser select { font: inherit; font-size: 12px; padding: 2px 4px; color: var(--wb-fg);
  background: var(--jp-input-background, var(--wb-bg)); border: 1px solid var(--wb-border); border-radius: 3px; }
.wb-b-search { width: 100%; }
.wb-b-count { font-size: 12px; color: var(--wb-fg2); font-variant-numeric: tabular-nums; }
.wb-b-loading .wb-b-count { font-style: italic; }
.wb-b-rows { flex: 1; overflow-y: auto; overflow-x: hidden; position: relative; outline: none; }
.wb-b-rows:focus-visible { box-shadow: inset 0 0 0 2px var(--wb-accent); }
.wb-brow { box-sizing: border-box; padding: 4px 8px; border-bottom: 1px solid var(--wb-border); cursor: pointer; overflow: hidden; }
.wb-brow:hover { background: var(--wb-bg2); }
.wb-selected-row { background: var(--jp-brand-color3, #ddf4ff); box-shadow: inset 3px 0 0 var(--wb-accent); }
.wb-brow-pending { color: var(--wb-fg2); }
.wb-brow-title { font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; line-height: 18px; }
.wb-brow-meta { display: flex; gap: 6px; align-items: center; font-size: 11px; line-height: 18px; white-space: nowrap; overflow: hidden; color: var(--wb-fg2); }
.wb-brow-meta .wb-model { color: var(--wb-fg); }
.wb-brow-snippet { font-size: 11px; line-height: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: var(--wb-fg2); font-family: var(--jp-code-font-family, monospace); }
.wb-brow-snippet mark { background: var(--wb-mark-bg, rgba(255, 200, 0, 0.45)); color: var(--wb-fg); border-radius: 2px; padding: 0 1px; }
.wb-brow-field { font-family: var(--jp-ui-font-family, sans-serif); font-size: 10px; text-transform: uppercase; letter-spacing: 0.03em; margin-right: 6px; color: var(--wb-fg2); border: 1px solid var(--wb-border); border-radius: 3px; padding: 0 3px; }
.wb-good { color: #1a7f37; }
.wb-bad { color: #cf222e; }
.wb-x-tag { font-size: 10px; padding: 0 5px; border-radius: 8px; border: 1px solid var(--wb-border); color: var(--wb-fg2); }
.wb-x-tags { display: inline-flex; gap: 3px; flex-wrap: wrap; }

/* Trajectory viewer (main area). */
.wb-viewer { display: flex; flex-direction: column; height: 100%; padding: 6px 10px; gap: 2px; background: var(--jp-layout-color0, #fff); outline: none; }
.wb-viewer:focus { box-shadow: inset 0 0 0 2px var(--wb-accent); }
.wb-x-toolbar, .wb-x-head { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.wb-x-body { flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 3fr) minmax(180px, 1fr); gap: 10px; }
.wb-x-main { overflow-y: auto; min-height: 0; padding-right: 4px; }
.wb-x-side { display: flex; flex-direction: column; min-height: 0; }
.wb-x-history { flex: 1; min-height: 0; }
.wb-x-thinking { display: flex; flex-direction: column; gap: 2px; }
.wb-x-seg, .wb-x-gap { border-radius: 4px; padding: 3px 6px; }
.wb-x-seg { cursor: pointer; border-left: 3px solid rgba(0, 0, 0, 0.25); }
.wb-x-seg.wb-selected { outline: 2px solid var(--wb-accent); }
.wb-x-seg-head { display: flex; gap: 6px; align-items: center; font-size: 11px; }
.wb-x-gap { white-space: pre-wrap; overflow-wrap: anywhere; font-family: var(--jp-code-font-family, monospace); font-size: 12px; color: var(--wb-fg2); }
.wb-x-answer { margin-top: 6px; }
.wb-x-answer-text { white-space: pre-wrap; overflow-wrap: anywhere; font-family: var(--jp-code-font-family, monospace); font-size: 12px;
  padding: 4px 6px; border: 1px solid var(--wb-border); border-radius: 4px; background: var(--wb-bg2); }

/* MIME renderer (notebook output). */
.wb-mime { padding: 4px 0; max-width: 100%; }
.wb-mime .wb-x-scroll { max-height: 420px; overflow-y: auto; border: 1px solid var(--wb-border); border-radius: 4px; padding: 2px; }
.wb-mime .wb-x-seg { cursor: default; }
`,""]),o.d(r,{},{A:n})},646(e,r,o){var a=o(601),t=o.n(a),i=o(314),n=o.n(i),p=o(750),b=o(475),w=n()(t());w.i(p.A),w.i(b.A),w.push([e.id,`/* workbench JupyterLab extension: the widgets' look (pattern colours, chips, history) plus the
   browser panel, the viewer and the MIME renderer. */
`,""]),o.d(r,{},{A:w})},314(e){e.exports=function(e){var r=[];return r.toString=function(){return this.map(function(r){var o="",a=void 0!==r[5];return r[4]&&(o+="@supports (".concat(r[4],") {")),r[2]&&(o+="@media ".concat(r[2]," {")),a&&(o+="@layer".concat(r[5].length>0?" ".concat(r[5]):""," {")),o+=e(r),a&&(o+="}"),r[2]&&(o+="}"),r[4]&&(o+="}"),o}).join("")},r.i=function(e,o,a,t,i){"string"==typeof e&&(e=[[null,e,void 0]]);var n={};if(a)for(var p=0;p<this.length;p++){var b=this[p][0];null!=b&&(n[b]=!0)}for(var w=0;w<e.length;w++){var l=[].concat(e[w]);a&&n[l[0]]||(void 0!==i&&(void 0===l[5]||(l[1]="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {").concat(l[1],"}")),l[5]=i),o&&(l[2]&&(l[1]="@media ".concat(l[2]," {").concat(l[1],"}")),l[2]=o),t&&(l[4]?(l[1]="@supports (".concat(l[4],") {").concat(l[1],"}"),l[4]=t):l[4]="".concat(t)),r.push(l))}},r}},601(e){e.exports=function(e){return e[1]}},72(e){var r=[];function o(e){for(var o=-1,a=0;a<r.length;a++)if(r[a].identifier===e){o=a;break}return o}function a(e,a){for(var t={},i=[],n=0;n<e.length;n++){var p=e[n],b=a.base?p[0]+a.base:p[0],w=t[b]||0,l="".concat(b," ").concat(w);t[b]=w+1;var d=o(l),s={css:p[1],media:p[2],sourceMap:p[3],supports:p[4],layer:p[5]};if(-1!==d)r[d].references++,r[d].updater(s);else{var c=function(e,r){var o=r.domAPI(r);return o.update(e),function(r){r?(r.css!==e.css||r.media!==e.media||r.sourceMap!==e.sourceMap||r.supports!==e.supports||r.layer!==e.layer)&&o.update(e=r):o.remove()}}(s,a);a.byIndex=n,r.splice(n,0,{identifier:l,updater:c,references:1})}i.push(l)}return i}e.exports=function(e,t){var i=a(e=e||[],t=t||{});return function(e){e=e||[];for(var n=0;n<i.length;n++){var p=o(i[n]);r[p].references--}for(var b=a(e,t),w=0;w<i.length;w++){var l=o(i[w]);0===r[l].references&&(r[l].updater(),r.splice(l,1))}i=b}}},659(e){var r={};e.exports=function(e,o){var a=function(e){if(void 0===r[e]){var o=document.querySelector(e);if(window.HTMLIFrameElement&&o instanceof window.HTMLIFrameElement)try{o=o.contentDocument.head}catch(e){o=null}r[e]=o}return r[e]}(e);if(!a)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");a.appendChild(o)}},540(e){e.exports=function(e){var r=document.createElement("style");return e.setAttributes(r,e.attributes),e.insert(r,e.options),r}},56(e,r,o){e.exports=function(e){var r=o.nc;r&&e.setAttribute("nonce",r)}},825(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var r=e.insertStyleElement(e);return{update:function(o){var a,t,i;a="",o.supports&&(a+="@supports (".concat(o.supports,") {")),o.media&&(a+="@media ".concat(o.media," {")),(t=void 0!==o.layer)&&(a+="@layer".concat(o.layer.length>0?" ".concat(o.layer):""," {")),a+=o.css,t&&(a+="}"),o.media&&(a+="}"),o.supports&&(a+="}"),(i=o.sourceMap)&&"u">typeof btoa&&(a+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(i))))," */")),e.styleTagTransform(a,r,e.options)},remove:function(){var e;null===(e=r).parentNode||e.parentNode.removeChild(e)}}}},113(e){e.exports=function(e,r){if(r.styleSheet)r.styleSheet.cssText=e;else{for(;r.firstChild;)r.removeChild(r.firstChild);r.appendChild(document.createTextNode(e))}}},959(e,r,o){var a=o(72),t=o.n(a),i=o(825),n=o.n(i),p=o(659),b=o.n(p),w=o(56),l=o.n(w),d=o(540),s=o.n(d),c=o(113),f=o.n(c),x=o(646),g={};g.styleTagTransform=f(),g.setAttributes=l(),g.insert=b().bind(null,"head"),g.domAPI=n(),g.insertStyleElement=s(),t()(x.A,g),x.A&&x.A.locals&&x.A.locals}}]);