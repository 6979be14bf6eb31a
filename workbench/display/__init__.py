"""The display layer: how workbench objects show themselves in a notebook, with no widget import.

``wb.renderers.enable("html")`` picks what a displayed object's bundle holds (``auto``,
``widget``, ``html``, ``none``; see :mod:`workbench.display._renderers`). Domain objects call
:func:`mimebundle` from ``_repr_mimebundle_``; :mod:`workbench.widgets` registers the live widgets
when it is imported, and it is imported only when a widget is wanted.
"""

from workbench.display import _bundles as _bundles  # registers the static builders
from workbench.display._bundles import TRAJECTORY_MIME, trajectory_json
from workbench.display._html import PALETTE, attention_html, frame_html, run_html, trajectory_html
from workbench.display._query import QueryResult, browse
from workbench.display._renderers import (
    RENDERERS,
    Renderers,
    mimebundle,
    renderers,
    widgets_available,
)

__all__ = [
    "PALETTE",
    "RENDERERS",
    "TRAJECTORY_MIME",
    "QueryResult",
    "Renderers",
    "attention_html",
    "browse",
    "frame_html",
    "mimebundle",
    "renderers",
    "run_html",
    "trajectory_html",
    "trajectory_json",
    "widgets_available",
]
