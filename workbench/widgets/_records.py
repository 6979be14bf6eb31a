"""Trace-document records for the widgets (defined in :mod:`workbench.documents`)."""

from workbench.documents import (
    MAX_HISTORY,
    AnnotationKey,
    annotation_state,
    bounds_of,
    history_entry,
    hit_infos,
    latest_values,
    segment_info,
    traj_info,
    trajectory_title,
)

__all__ = [
    "MAX_HISTORY",
    "AnnotationKey",
    "annotation_state",
    "bounds_of",
    "history_entry",
    "hit_infos",
    "latest_values",
    "segment_info",
    "traj_info",
    "trajectory_title",
]
