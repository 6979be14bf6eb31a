"""Objects display themselves: the right widget, a static HTML fallback, and a MIME type.

A :class:`~workbench.Trajectory` shows as a :class:`~workbench.widgets.LiveTrace`, a
:class:`~workbench.session.Run` as a streaming LiveTrace, and a query result
(:func:`browse` → :class:`QueryResult`) as a :class:`~workbench.widgets.StatsPanel` over its
traces. Each bundle also carries ``text/html`` (escaped, for viewers without widgets, such as
GitHub or nbconvert) and ``application/vnd.workbench.trajectory+json`` for trajectories (rendered
by the JupyterLab extension without a kernel).

Widgets are used only inside a running IPython kernel with anywidget installed, and not when
``$WORKBENCH_WIDGETS`` is ``0``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.trajectory import Trajectory
from workbench.widgets._static import frame_html, run_html, trajectory_html

if TYPE_CHECKING:
    from workbench.session.run import Run
    from workbench.store.store import Store

__all__ = [
    "TRAJECTORY_MIME",
    "QueryResult",
    "browse",
    "run_mimebundle",
    "show",
    "trajectory_json",
    "trajectory_mimebundle",
    "widgets_available",
]

TRAJECTORY_MIME = "application/vnd.workbench.trajectory+json"
"""MIME type of a trajectory output: ``{"version": 1, "trajectory": {...}, "n_tokens": n}``."""


def widgets_available() -> bool:
    """Return whether live widgets can be shown here (a kernel, anywidget, not disabled)."""
    if os.environ.get("WORKBENCH_WIDGETS", "1") == "0":
        return False
    try:
        import anywidget  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widget_bundle(widget: Any) -> dict[str, Any]:
    bundle = widget._repr_mimebundle_()
    if isinstance(bundle, tuple):  # (data, metadata)
        bundle = bundle[0]
    return dict(bundle or {})


def trajectory_json(t: Trajectory) -> dict[str, Any]:
    """Return the trajectory MIME payload (per-token arrays left out; their count kept)."""
    data = t.to_dict()
    data["tokens"] = None
    return {"version": 1, "trajectory": data, "n_tokens": 0 if t.tokens is None else len(t.tokens)}


def trajectory_mimebundle(t: Trajectory, *, widget: bool | None = None) -> dict[str, Any]:
    """Return the display bundle of a trajectory."""
    bundle: dict[str, Any] = {
        "text/plain": repr(t),
        "text/html": trajectory_html(t),
        TRAJECTORY_MIME: trajectory_json(t),
    }
    if widget if widget is not None else widgets_available():
        from workbench.widgets.live_trace import LiveTrace

        bundle.update({k: v for k, v in _widget_bundle(LiveTrace(t)).items() if k != "text/plain"})
    return bundle


def run_mimebundle(run: Run, *, widget: bool | None = None) -> dict[str, Any]:
    """Return the display bundle of a run (a streaming LiveTrace)."""
    bundle: dict[str, Any] = {
        "text/plain": repr(run),
        "text/html": run_html(run.progress(), run.trajectories()),
    }
    if widget if widget is not None else widgets_available():
        from workbench.widgets.live_trace import LiveTrace

        bundle.update(
            {k: v for k, v in _widget_bundle(LiveTrace(run)).items() if k != "text/plain"}
        )
    return bundle


class QueryResult:
    """A query over a store that displays as a :class:`~workbench.widgets.StatsPanel`.

    Parameters
    ----------
    store
        The store queried.
    frame
        ``store.list(...)`` output (needs an ``id`` column).
    """

    def __init__(self, store: Store, frame: pl.DataFrame) -> None:
        self.store = store
        self.frame = frame

    @property
    def ids(self) -> list[str]:
        """Ids of the trajectories in the result."""
        return [str(i) for i in self.frame["id"].to_list()]

    def trajectories(self) -> list[Trajectory]:
        """Read the trajectories."""
        return [self.store.get(i) for i in self.ids]

    def widget(self, **kwargs: Any) -> Any:
        """Return a StatsPanel over the result."""
        from workbench.widgets.stats import StatsPanel

        return StatsPanel(self.trajectories(), **kwargs)

    def __len__(self) -> int:
        return self.frame.height

    def __repr__(self) -> str:
        return f"QueryResult({self.frame.height} trajectories in {self.store.path})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        columns = [
            c
            for c in ("id", "model", "status", "think_format", "thinking_chars", "grade")
            if c in self.frame.columns
        ]
        bundle: dict[str, Any] = {
            "text/plain": repr(self),
            "text/html": frame_html(
                self.frame.head(50).to_dicts(), columns, total=self.frame.height
            ),
        }
        if widgets_available() and self.frame.height:
            bundle.update(
                {k: v for k, v in _widget_bundle(self.widget()).items() if k != "text/plain"}
            )
        return bundle


def browse(store: Store, *, limit: int = 1000, **filters: Any) -> QueryResult:
    """Query a store (``store.list`` filters) and return a result that displays as a StatsPanel."""
    return QueryResult(store, store.list(limit=limit, **filters))


def show(obj: Any, **kwargs: Any) -> Any:
    """Return the widget for ``obj``.

    A trajectory (or a list of them) or a run gives a LiveTrace, a query result a StatsPanel, a
    ConstraintAttention a ConstraintHeatmap.
    """
    from workbench.session.run import Run

    if isinstance(obj, Run | Trajectory) or (
        isinstance(obj, list | tuple) and obj and all(isinstance(t, Trajectory) for t in obj)
    ):
        from workbench.widgets.live_trace import LiveTrace

        return LiveTrace(obj, **kwargs)
    if isinstance(obj, QueryResult):
        return obj.widget(**kwargs)
    from workbench.constraints.frames import ConstraintAttention

    if isinstance(obj, ConstraintAttention):
        from workbench.widgets.heatmap import ConstraintHeatmap

        return ConstraintHeatmap(obj, **kwargs)
    raise TypeError(f"no workbench widget shows a {type(obj).__name__}")
