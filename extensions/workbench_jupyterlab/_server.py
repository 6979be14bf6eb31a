"""Loading and unloading the server extension on a Jupyter server."""

from __future__ import annotations

from typing import Any

from workbench.analysis.patterns import get_taxonomy
from workbench_jupyterlab.config import StoreAccess, WorkbenchExtension, shown_path
from workbench_jupyterlab.handlers import handlers

__all__ = ["load", "unload"]


def load(serverapp: Any) -> None:
    """Read ``c.WorkbenchExtension``, resolve the store path and add the endpoints."""
    settings = WorkbenchExtension(parent=serverapp)
    get_taxonomy(settings.taxonomy)  # a misspelt taxonomy fails at start, not per request
    root = serverapp.root_dir
    path = settings.resolved_store_path(root)
    access = StoreAccess(path, shown=shown_path(path, root), workers=settings.workers)
    web_app = serverapp.web_app
    web_app.settings.update(
        workbench_store=access,
        workbench_taxonomy=settings.taxonomy,
        workbench_author=settings.resolved_author(),
    )
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    state = "" if path.exists() else " (does not exist yet)"
    serverapp.log.info("workbench: the trajectory browser serves %s%s", path, state)


def unload(serverapp: Any) -> None:
    """Close the store connections and the worker threads."""
    access = serverapp.web_app.settings.pop("workbench_store", None)
    if isinstance(access, StoreAccess):
        access.close()
