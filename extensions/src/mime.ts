// Renderer for application/vnd.workbench.trajectory+json: a trajectory output saved in a notebook
// shows without a kernel (header, prompt, thinking with any segments and hits the payload carries,
// answer). Everything is drawn with textContent, so the renderer is safe for untrusted notebooks.
//
// A trajectory displayed in a live kernel also carries a widget view (a LiveTrace). Its renderer
// outranks every other, so once the kernel is gone a saved notebook would show "Error displaying
// widget: model not found". This renderer therefore ranks first and decides: when the bundle has
// a widget view whose model is open in the running kernel (asked with a comm_info request), it
// hands over to the widget renderer of the output's own rendermime; otherwise it draws the
// trajectory itself.

import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { PanelLayout, Widget } from "@lumino/widgets";
import { clear, h } from "../../js/src/dom";
import { payloadProblem, renderPayload } from "./render";
import { MIME, type Payload } from "./types";

export const WIDGET_MIME = "application/vnd.jupyter.widget-view+json";

interface RendermimeLike {
  createRenderer(mimeType: string): IRenderMime.IRenderer;
  mimeTypes: readonly string[];
}

interface KernelLike {
  requestCommInfo(content: { target_name?: string }): Promise<{ content: { status: string; comms?: Record<string, unknown> } }>;
}

function ancestor<T>(w: Widget | null, test: (x: Record<string, unknown>) => T | null): T | null {
  for (let p = w; p; p = p.parent) {
    const found = test(p as unknown as Record<string, unknown>);
    if (found) return found;
  }
  return null;
}

export class TrajectoryRenderer extends Widget implements IRenderMime.IRenderer {
  private model: IRenderMime.IMimeModel | null = null;
  private live: Widget | null = null;

  constructor() {
    super();
    this.addClass("wb-root");
    this.addClass("wb-mime");
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.model = model;
    if (this.live) return (this.live as IRenderMime.IRenderer).renderModel(model);
    const data = model.data[MIME] as unknown;
    const problem = payloadProblem(data);
    clear(this.node);
    if (problem) this.node.appendChild(h("div", { class: "wb-error", text: `cannot show this trajectory output: ${problem}` }));
    else renderPayload(this.node, data as Payload);
    if (this.isAttached) void this.tryLiveWidget();
    return Promise.resolve();
  }

  protected onAfterAttach(): void {
    void this.tryLiveWidget();
  }

  /** Hand over to the widget view when its model is alive in the running kernel. */
  private async tryLiveWidget(): Promise<void> {
    const model = this.model;
    const view = model?.data[WIDGET_MIME] as { model_id?: unknown } | undefined;
    if (!model || !model.trusted || this.live || !view || typeof view.model_id !== "string" || !view.model_id) return;
    const rendermime = ancestor<RendermimeLike>(this.parent, (x) => {
      const r = x.rendermime as RendermimeLike | undefined;
      return r && typeof r.createRenderer === "function" && r.mimeTypes.includes(WIDGET_MIME) ? r : null;
    });
    const kernel = ancestor<KernelLike>(this.parent, (x) => {
      const ctx = x.sessionContext as { session?: { kernel?: KernelLike | null } | null } | undefined;
      return ctx?.session?.kernel ?? null;
    });
    if (!rendermime || !kernel) return;
    try {
      const reply = await kernel.requestCommInfo({ target_name: "jupyter.widget" });
      const comms = reply.content.status === "ok" ? reply.content.comms ?? {} : {};
      if (!(view.model_id in comms) || this.live || this.model !== model) return;
      const renderer = rendermime.createRenderer(WIDGET_MIME);
      await renderer.renderModel(model);
      if (this.live || this.model !== model) {
        renderer.dispose();
        return;
      }
      clear(this.node);
      this.removeClass("wb-mime");
      this.addClass("wb-mime-live");
      const layout = new PanelLayout();
      this.layout = layout;
      layout.addWidget(renderer);
      this.live = renderer;
    } catch {
      // no kernel answer, no widget manager: the drawing stays
    }
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME],
  createRenderer: () => new TrajectoryRenderer(),
};

// Rank -20: ahead of the widget view (-10, see above) and of text/html (the static fallback in the
// same bundle, for viewers without this extension).
const extension: IRenderMime.IExtension = {
  id: "workbench-jupyterlab:trajectory-renderer",
  description: "Render saved workbench trajectory outputs without a kernel.",
  rendererFactory,
  rank: -20,
  dataType: "json",
};

export default extension;
