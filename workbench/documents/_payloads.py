"""The JupyterLab extension's REST payloads and the trajectory MIME payload, declared once.

The server extension (``workbench_jupyterlab/api.py``) returns these shapes and mypy checks it
against them; ``python -m workbench.documents > extensions/src/rest.generated.ts`` writes their
TypeScript twin, which the extension's front end imports (a unit test fails when the committed
file differs from the declaration). Records shared with the widgets (segments, hits, history
entries, annotation state) are the ones of :mod:`workbench.documents._records`.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from workbench.documents._records import (
    AnnotationState,
    Bounds,
    HistoryEntry,
    HitInfo,
    SegmentInfo,
    TrajInfo,
)
from workbench.documents._typescript import ts_interfaces

__all__ = [
    "REST_RECORDS",
    "AnnotationReply",
    "DocumentState",
    "GradeData",
    "ListPage",
    "ListRow",
    "Message",
    "SearchSnippet",
    "StoreSummary",
    "TrajectoryData",
    "TrajectoryDocument",
    "TrajectoryPayload",
    "typescript",
]


class Message(TypedDict):
    """One chat message of a prompt."""

    role: str
    content: str


class GradeData(TypedDict):
    """``Grade.to_dict()``: a verdict, a score, who graded, and the grader's details."""

    correct: bool | None
    score: float | None
    grader: str
    details: dict[str, Any]


class TrajectoryData(TypedDict):
    """``Trajectory.to_dict()`` as the MIME payload carries it (``tokens`` left out: null)."""

    prompt: list[Message]
    raw: str
    think_format: str
    thinking_span: list[int]
    answer_span: list[int]
    constraints: list[dict[str, Any]]
    model: str | None
    backend: str | None
    sampling: dict[str, Any]
    tokens: None
    finish_reason: str | None
    status: str
    timings: dict[str, Any]
    gold: str | None
    grade: GradeData | None
    source: str | None
    source_id: str | None
    tags: list[str]
    metadata: dict[str, Any]
    parent_id: str | None
    id: str
    created_at: float
    schema_version: int


class TrajectoryPayload(TypedDict):
    """``application/vnd.workbench.trajectory+json``; segments, hits and labels are optional."""

    version: int
    trajectory: TrajectoryData
    n_tokens: int
    segments: NotRequired[list[SegmentInfo]]
    hits: NotRequired[list[HitInfo]]
    labels: NotRequired[list[str]]


class DocumentState(AnnotationState):
    """The annotation state plus the values in force: ``[segment_id, kind, value]``."""

    latest: list[list[Any]]


class TrajectoryDocument(TypedDict):
    """Everything the extension's viewer shows of one trajectory."""

    payload: TrajectoryPayload
    segments: list[SegmentInfo]
    hits: list[HitInfo]
    segments_stored: bool
    labels: list[str]
    state: DocumentState


class AnnotationReply(TypedDict):
    """The answer to an annotation: it, the value it superseded (what undo writes back), the state."""

    annotation: HistoryEntry
    previous: Any
    state: DocumentState


class SearchSnippet(TypedDict):
    """Where a search text was found in a row: plain text (the front end escapes it)."""

    field: str
    start: int
    end: int
    before: str
    match: str
    after: str


class ListRow(TypedDict):
    """One row of the trajectory list (the small columns and a one-line prompt preview).

    ``snippet``: during a text search, the first match and the text around it.
    """

    id: str
    model: str | None
    status: str
    think_format: str
    thinking_chars: int
    answer_chars: int
    n_tokens: int | None
    grade: float | None
    correct: bool | None
    tags: list[str]
    source: str | None
    source_id: str | None
    parent_id: str | None
    created_at: float
    prompt: str
    snippet: NotRequired[SearchSnippet]


class ListPage(TypedDict):
    """One page of the trajectory list; ``total`` when the count was asked for.

    ``total_exact`` is ``False`` when a text search's large total is an estimate (see
    :meth:`workbench.Store.search`).
    """

    rows: list[ListRow]
    offset: int
    limit: int
    total: NotRequired[int]
    total_exact: NotRequired[bool]


class StoreSummary(TypedDict):
    """What the panel's filters offer: counts by model, status and tag; sorts; labels."""

    store: str
    total: int
    annotations: int
    models: dict[str, int]
    statuses: dict[str, int]
    tags: dict[str, int]
    graded: int
    sorts: list[str]
    grades: list[str]
    labels: list[str]
    mime: str


REST_RECORDS: tuple[type, ...] = (
    Message,
    GradeData,
    TrajectoryData,
    TrajectoryPayload,
    DocumentState,
    TrajectoryDocument,
    AnnotationReply,
    SearchSnippet,
    ListRow,
    ListPage,
    StoreSummary,
)
"""The extension's payloads, in declaration order (the shared records come first in the file)."""

_SHARED: tuple[type, ...] = (Bounds, SegmentInfo, HitInfo, TrajInfo, HistoryEntry, AnnotationState)


def typescript() -> str:
    """Return ``extensions/src/rest.generated.ts``: the shared records and the REST payloads."""
    out = [
        "// Generated by `python -m workbench.documents` from workbench/documents/_payloads.py.",
        "// Do not edit: change the Python declaration and regenerate (`make labextension`).",
        "/* eslint-disable */",
        "",
        *ts_interfaces(_SHARED),
        *ts_interfaces(REST_RECORDS),
    ]
    return "\n".join(out)
