"""The live widget of each display kind, registered with :data:`workbench.display.renderers`.

A :class:`~workbench.Trajectory` shows as a :class:`~workbench.widgets.LiveTrace`, a
:class:`~workbench.session.Run` as a streaming LiveTrace, a query result
(:func:`~workbench.display.browse`) as a :class:`~workbench.widgets.StatsPanel` over its traces
and a :class:`~workbench.constraints.ConstraintAttention` as a
:class:`~workbench.widgets.ConstraintHeatmap`. The static parts of each bundle (escaped HTML, the
trajectory MIME type) come from :mod:`workbench.display`, which never imports this module: it is
imported when a widget is first wanted, and registers the factories below.
"""

from __future__ import annotations

from typing import Any

from workbench.display import QueryResult, browse, mimebundle, renderers
from workbench.trajectory import Trajectory

__all__ = ["QueryResult", "browse", "run_mimebundle", "show", "trajectory_mimebundle"]


def _live_trace(obj: Any, **kwargs: Any) -> Any:
    from workbench.widgets.live_trace import LiveTrace

    return LiveTrace(obj, **kwargs)


def _stats_panel(result: QueryResult, **kwargs: Any) -> Any:
    if not len(result):
        return None
    from workbench.widgets.stats import StatsPanel

    return StatsPanel(result.trajectories(), **kwargs)


def _heatmap(att: Any, **kwargs: Any) -> Any:
    from workbench.widgets.heatmap import ConstraintHeatmap

    return ConstraintHeatmap(att, **kwargs)


renderers.register_widget("trajectory", _live_trace)
renderers.register_widget("run", _live_trace)
renderers.register_widget("query", _stats_panel)
renderers.register_widget("attention", _heatmap)


def trajectory_mimebundle(t: Trajectory, *, widget: bool | None = None) -> dict[str, Any]:
    """Return the display bundle of a trajectory (``widget`` forces the widget on or off)."""
    if widget is None:
        return mimebundle(t, "trajectory")
    with renderers.enabled("widget" if widget else "html"):
        return mimebundle(t, "trajectory")


def run_mimebundle(run: Any, *, widget: bool | None = None) -> dict[str, Any]:
    """Return the display bundle of a run (``widget`` forces the widget on or off)."""
    if widget is None:
        return mimebundle(run, "run")
    with renderers.enabled("widget" if widget else "html"):
        return mimebundle(run, "run")


def show(obj: Any, **kwargs: Any) -> Any:
    """Return the widget for ``obj``.

    A trajectory (or a list of them) or a run gives a LiveTrace, a query result a StatsPanel, a
    ConstraintAttention a ConstraintHeatmap.
    """
    from workbench.attention import ConstraintAttention
    from workbench.session.run import Run

    if isinstance(obj, Run | Trajectory) or (
        isinstance(obj, list | tuple) and obj and all(isinstance(t, Trajectory) for t in obj)
    ):
        return _live_trace(obj, **kwargs)
    if isinstance(obj, QueryResult):
        from workbench.widgets.stats import StatsPanel

        return StatsPanel(obj.trajectories(), **kwargs)
    if isinstance(obj, ConstraintAttention):
        return _heatmap(obj, **kwargs)
    raise TypeError(f"no workbench widget shows a {type(obj).__name__}")
