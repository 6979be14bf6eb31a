// The JupyterLab plugin: the trajectory browser in the left sidebar, and a command opening a
// trajectory in a main-area viewer. Talks to the server extension only (no kernel).

import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from "@jupyterlab/application";
import { ICommandPalette, MainAreaWidget, WidgetTracker } from "@jupyterlab/apputils";
import { LabIcon } from "@jupyterlab/ui-components";
import { Api } from "./api";
import { BrowserPanel } from "./browser";
import { TrajectoryViewer } from "./viewer";

export const OPEN = "workbench:open-trajectory";
export const SHOW = "workbench:browse-trajectories";

// Our own constant markup (no data): a list with a thought bubble.
const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
  '<rect x="3" y="4" width="11" height="2" rx="1"/><rect x="3" y="9" width="11" height="2" rx="1"/><rect x="3" y="14" width="11" height="2" rx="1"/>' +
  '<rect x="3" y="19" width="7" height="2" rx="1"/><circle cx="18.5" cy="7" r="3.5"/><circle cx="17" cy="13" r="1.6"/><circle cx="15.8" cy="16.6" r="0.9"/></g></svg>';

export const trajectoriesIcon = new LabIcon({ name: "workbench-jupyterlab:trajectories", svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: "workbench-jupyterlab:browser",
  description: "Browse, search and annotate the trajectories of a workbench store without a kernel.",
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null, palette: ICommandPalette | null) => {
    const api = new Api();
    const tracker = new WidgetTracker<MainAreaWidget<TrajectoryViewer>>({ namespace: "workbench-trajectory" });
    const panel = new BrowserPanel(api, (id) => void app.commands.execute(OPEN, { id }));
    panel.title.icon = trajectoriesIcon;
    app.shell.add(panel, "left", { rank: 650 });
    if (restorer) restorer.add(panel, "workbench-trajectory-browser");

    app.commands.addCommand(OPEN, {
      label: "Open Trajectory",
      caption: "Open a trajectory of the workbench store in a viewer",
      execute: (args) => {
        const id = typeof args.id === "string" ? args.id : "";
        if (!id) return;
        const existing = tracker.find((w) => w.content.trajectoryId === id);
        if (existing) {
          app.shell.activateById(existing.id);
          return existing;
        }
        const content = new TrajectoryViewer(api, id, panel);
        const widget = new MainAreaWidget({ content });
        widget.id = `${content.id}-area`;
        widget.title.icon = trajectoriesIcon;
        void tracker.add(widget);
        app.shell.add(widget, "main");
        app.shell.activateById(widget.id);
        return widget;
      },
    });
    app.commands.addCommand(SHOW, {
      label: "Browse Trajectories",
      caption: "Show the workbench trajectory browser",
      execute: () => app.shell.activateById(panel.id),
    });
    if (palette) palette.addItem({ command: SHOW, category: "workbench" });
    if (restorer) {
      void restorer.restore(tracker, {
        command: OPEN,
        args: (w) => ({ id: w.content.trajectoryId }),
        name: (w) => w.content.trajectoryId,
      });
    }
  },
};

export default [plugin];
