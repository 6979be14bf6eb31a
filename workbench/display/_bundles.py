"""Widget-free display bundles of each object kind, registered with the renderer registry.

Every string from data goes through the escaping builders of :mod:`workbench.display._html`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from workbench.display._html import attention_html, frame_html, run_html, trajectory_html
from workbench.display._renderers import renderers

if TYPE_CHECKING:
    from workbench.documents._payloads import TrajectoryData, TrajectoryPayload
    from workbench.trajectory import Trajectory

__all__ = ["TRAJECTORY_MIME", "trajectory_json"]

TRAJECTORY_MIME = "application/vnd.workbench.trajectory+json"
"""MIME type of a trajectory output: ``{"version": 1, "trajectory": {...}, "n_tokens": n}``.

The JupyterLab extension renders it without a kernel."""


def trajectory_json(t: Trajectory) -> TrajectoryPayload:
    """Return the trajectory MIME payload (per-token arrays left out; their count kept).

    Its shape is declared by :class:`workbench.documents.TrajectoryPayload`.
    """
    data = t.to_dict()
    data["tokens"] = None
    return {
        "version": 1,
        "trajectory": cast("TrajectoryData", data),
        "n_tokens": 0 if t.tokens is None else len(t.tokens),
    }


def _trajectory(t: Trajectory) -> dict[str, Any]:
    return {
        "text/plain": repr(t),
        "text/html": trajectory_html(t),
        TRAJECTORY_MIME: trajectory_json(t),
    }


def _run(run: Any) -> dict[str, Any]:
    return {"text/plain": repr(run), "text/html": run_html(run.progress(), run.trajectories())}


_QUERY_COLUMNS = ("id", "model", "status", "think_format", "thinking_chars", "grade")


def _query(result: Any) -> dict[str, Any]:
    frame = result.frame
    columns = [c for c in _QUERY_COLUMNS if c in frame.columns]
    return {
        "text/plain": repr(result),
        "text/html": frame_html(frame.head(50).to_dicts(), columns, total=frame.height),
    }


def _attention(att: Any) -> dict[str, Any]:
    return {"text/plain": repr(att), "text/html": attention_html(att)}


renderers.register_static("trajectory", _trajectory)
renderers.register_static("run", _run)
renderers.register_static("query", _query)
renderers.register_static("attention", _attention)
