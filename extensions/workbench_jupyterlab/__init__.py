"""workbench's JupyterLab extension: a kernel-free trajectory browser and a trajectory renderer.

This Python package is the server half: a Jupyter server extension exposing the workbench store
under ``{base_url}workbench/api/`` (see :mod:`workbench_jupyterlab.handlers`), enabled by default
by the ``jupyter_server_config.d/workbench_jupyterlab.json`` file its wheel installs. The front
end, a prebuilt JupyterLab 4 extension (sidebar browser, trajectory viewer, MIME renderer for
``application/vnd.workbench.trajectory+json``), ships in ``labextension/`` and is installed into
``share/jupyter/labextensions/workbench-jupyterlab``.

Configure the store with ``c.WorkbenchExtension.store_path`` (see
:class:`~workbench_jupyterlab.config.WorkbenchExtension`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("workbench-jupyterlab")
except PackageNotFoundError:  # imported from a source checkout
    __version__ = "0.0.0"

__all__ = ["__version__"]

LABEXTENSION = "workbench-jupyterlab"
"""Name of the prebuilt JupyterLab extension (its npm package name and install folder)."""


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt extension lies (``jupyter labextension develop`` uses this)."""
    return [{"src": "labextension", "dest": LABEXTENSION}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Declare the server extension (``jpserver_extensions: {"workbench_jupyterlab": true}``)."""
    return [{"module": "workbench_jupyterlab"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the endpoints on a starting Jupyter server."""
    from workbench_jupyterlab._server import load

    load(serverapp)


def _unload_jupyter_server_extension(serverapp: Any) -> None:
    """Close the store and its worker threads when the server stops."""
    from workbench_jupyterlab._server import unload

    unload(serverapp)
