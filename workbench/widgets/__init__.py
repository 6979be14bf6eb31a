"""Notebook widgets (anywidget; the front end is bundled in ``static/``, nothing from a CDN).

:class:`LiveTrace` (a run streaming, or finished trajectories), :class:`Annotator`
(keyboard-first annotation), :class:`ConstraintHeatmap`, :class:`StatsPanel` (keyword and pattern
statistics filtering a trace list), :class:`PairBuilder` (two traces of a prompt, aligned, to make
a preference pair) and :func:`show` / :func:`browse` (pick the right widget for an object, with a
static HTML fallback where widgets are unavailable).

Names are imported lazily: importing this package does not import anywidget, so the static
fallback works without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.widgets.annotator import Annotator
    from workbench.widgets.compare import PairBuilder
    from workbench.widgets.display import QueryResult, browse, show
    from workbench.widgets.heatmap import ConstraintHeatmap
    from workbench.widgets.live_trace import LiveTrace
    from workbench.widgets.stats import StatsPanel

__all__ = [
    "Annotator",
    "ConstraintHeatmap",
    "LiveTrace",
    "PairBuilder",
    "QueryResult",
    "StatsPanel",
    "browse",
    "show",
]

_WHERE = {
    "Annotator": "workbench.widgets.annotator",
    "ConstraintHeatmap": "workbench.widgets.heatmap",
    "LiveTrace": "workbench.widgets.live_trace",
    "PairBuilder": "workbench.widgets.compare",
    "QueryResult": "workbench.widgets.display",
    "StatsPanel": "workbench.widgets.stats",
    "browse": "workbench.widgets.display",
    "show": "workbench.widgets.display",
}


# Register the live widget of each display kind with workbench.display.renderers (light: the widget
# modules themselves are imported only when a widget is made).
importlib.import_module("workbench.widgets.display")


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'workbench.widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
