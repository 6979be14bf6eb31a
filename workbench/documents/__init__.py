"""Trace documents: one trajectory as a view draws it (segments, hits, annotations), and annotating it.

The Annotator widget and the JupyterLab extension share this service (:class:`TraceDocuments`)
and these records (the TypedDicts, declared once; the widget protocol and the extension's REST
types are generated from them).
"""

from workbench.documents._payloads import (
    REST_RECORDS,
    AnnotationReply,
    DocumentState,
    ListPage,
    ListRow,
    SearchSnippet,
    StoreSummary,
    TrajectoryDocument,
    TrajectoryPayload,
)
from workbench.documents._records import (
    MAX_HISTORY,
    AnnotationKey,
    AnnotationState,
    Bounds,
    HistoryEntry,
    HitInfo,
    SegmentInfo,
    TrajInfo,
    annotation_state,
    bounds_of,
    history_entry,
    hit_infos,
    latest_values,
    segment_info,
    traj_info,
    trajectory_title,
)
from workbench.documents._service import AnnotationResult, TraceDocuments
from workbench.documents._typescript import ts_interfaces, ts_type

__all__ = [
    "MAX_HISTORY",
    "REST_RECORDS",
    "AnnotationKey",
    "AnnotationReply",
    "AnnotationResult",
    "AnnotationState",
    "Bounds",
    "DocumentState",
    "HistoryEntry",
    "HitInfo",
    "ListPage",
    "ListRow",
    "SearchSnippet",
    "SegmentInfo",
    "StoreSummary",
    "TraceDocuments",
    "TrajInfo",
    "TrajectoryDocument",
    "TrajectoryPayload",
    "annotation_state",
    "bounds_of",
    "history_entry",
    "hit_infos",
    "latest_values",
    "segment_info",
    "traj_info",
    "trajectory_title",
    "ts_interfaces",
    "ts_type",
]
