"""The records of a trace document: what a view (widget or the JupyterLab extension) draws.

The record shapes are TypedDicts declared here once; the widget protocol
(:mod:`workbench.widgets._protocol`) and the extension's REST payloads use them, and the
TypeScript twins of both are generated from them. The builders turn domain objects into records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypedDict

from workbench.annotation import Annotation
from workbench.segment import Segment
from workbench.trajectory import Trajectory

__all__ = [
    "MAX_HISTORY",
    "AnnotationKey",
    "AnnotationState",
    "Bounds",
    "HistoryEntry",
    "HitInfo",
    "SegmentInfo",
    "TrajInfo",
    "annotation_state",
    "bounds_of",
    "history_entry",
    "hit_infos",
    "latest_values",
    "segment_info",
    "source_text",
    "traj_info",
    "trajectory_title",
]


class Bounds(TypedDict):
    """Where the thinking and the answer lie in a sample's raw text (``None``: not known yet)."""

    think_start: int
    think_end: int | None
    answer_start: int | None


class SegmentInfo(TypedDict):
    """A segment of the thinking, in raw-text coordinates."""

    id: str
    index: int
    start: int
    end: int
    label: str | None
    source: str | None
    closed: bool
    human_label: str | None
    note: str | None
    confidence: float | None
    suggestion: str | None
    suggestion_confidence: float | None


class HitInfo(TypedDict):
    """A keyword hit, in raw-text coordinates."""

    start: int
    end: int
    keyword: str


class TrajInfo(TypedDict):
    """A trajectory's header: identity, model, prompt, grade."""

    id: str
    model: str
    prompt: str
    status: str
    grade: float | None
    correct: bool | None
    think_format: str
    chars: int
    tokens: int | None


class HistoryEntry(TypedDict):
    """One stored annotation, for the history list."""

    id: int
    segment_id: str | None
    kind: str
    value: str
    author: str
    created_at: float
    source: str | None


class AnnotationState(TypedDict):
    """The latest annotations of one trajectory."""

    trajectory_id: str
    rating: float | None
    verdict: str | None
    note: str | None
    segments: list[SegmentInfo]
    history: list[HistoryEntry]


MAX_HISTORY = 200
"""Annotations of a trajectory's history sent to a front end (the newest)."""

AnnotationKey = tuple[str | None, str]
"""(segment id or None for the trajectory, annotation kind)."""


def bounds_of(t: Trajectory) -> Bounds:
    """Where the thinking and the answer of a finished trajectory lie."""
    ts, te = t.thinking_span
    a_start, a_end = t.answer_span
    return {
        "think_start": ts,
        "think_end": te,
        "answer_start": a_start if a_end > a_start else None,
    }


def segment_info(
    s: Segment,
    *,
    closed: bool = True,
    human_label: str | None = None,
    note: str | None = None,
    suggestion: tuple[str, float | None] | None = None,
) -> SegmentInfo:
    """Return the record of one segment.

    ``human_label``/``note`` are the latest hand annotations; ``suggestion`` is a labeller's
    ``(label, confidence)`` offered to the annotator.
    """
    return {
        "id": s.id,
        "index": s.index,
        "start": s.char_span[0],
        "end": s.char_span[1],
        "label": s.labels[0] if s.labels else None,
        "source": s.label_source,
        "closed": closed,
        "human_label": human_label,
        "note": note,
        "confidence": s.confidence,
        "suggestion": None if suggestion is None else suggestion[0],
        "suggestion_confidence": None if suggestion is None else suggestion[1],
    }


def hit_infos(segments: Sequence[Segment]) -> list[HitInfo]:
    """Every keyword hit of the segments, in order."""
    hits: list[HitInfo] = [
        {"start": h[0], "end": h[1], "keyword": h[2]} for s in segments for h in s.keyword_hits
    ]
    hits.sort(key=lambda h: h["start"])
    return hits


def trajectory_title(t: Trajectory, limit: int = 80) -> str:
    """Return a one-line title: the start of the prompt, or the id."""
    text = " ".join(t.prompt_text.split())
    if not text:
        return t.id
    return text if len(text) <= limit else text[: limit - 1] + "…"


def traj_info(t: Trajectory) -> TrajInfo:
    """Return the header record of a trajectory."""
    return {
        "id": t.id,
        "model": t.model or "",
        "prompt": t.prompt_text,
        "status": t.status,
        "grade": None if t.grade is None else t.grade.score,
        "correct": None if t.grade is None else t.grade.correct,
        "think_format": t.think_format or "",
        "chars": len(t.raw),
        "tokens": None if t.tokens is None else len(t.tokens),
    }


def _value_text(value: Any) -> str:
    if value is None:
        return "(cleared)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def history_entry(a: Annotation) -> HistoryEntry:
    """Return the history record of one stored annotation."""
    return {
        "id": int(a.id or 0),
        "segment_id": a.segment_id,
        "kind": a.kind,
        "value": _value_text(a.value),
        "author": a.author,
        "created_at": float(a.created_at),
        "source": source_text(a.source),
    }


def source_text(source: dict[str, Any] | None) -> str | None:
    """Describe an annotation's ``source`` in a few words (``None`` when typed in by hand)."""
    if not source:
        return None
    accepted = source.get("accepted_suggestion")
    if isinstance(accepted, dict):
        who = accepted.get("labeller") or accepted.get("label_source") or "model"
        conf = accepted.get("confidence")
        shown = f" ({conf:.2f})" if isinstance(conf, int | float) else ""
        return f"accepted {who} suggestion{shown}"
    return json.dumps(source, ensure_ascii=False)[:200]


def latest_values(history: Sequence[Annotation]) -> dict[AnnotationKey, Any]:
    """Return the value in force per (segment id, kind): the last of each in ``history``.

    Cleared values (None) are kept, so that a caller can tell "cleared" from "never set".
    """
    latest: dict[AnnotationKey, Any] = {}
    for a in history:
        latest[(a.segment_id, a.kind)] = a.value
    return latest


def _label_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def annotation_state(
    trajectory_id: str,
    segments: Sequence[Segment],
    history: Sequence[Annotation],
    latest: dict[AnnotationKey, Any] | None = None,
    suggestions: dict[str, tuple[str, float | None]] | None = None,
) -> AnnotationState:
    """Return a trajectory's annotation state as the Annotator and the extension's viewer show it.

    Parameters
    ----------
    trajectory_id
        The trajectory.
    segments
        Its segments.
    history
        All its annotations, oldest first (``store.get_annotations(id, history=True)``).
    latest
        :func:`latest_values` of ``history``, when the caller has it already.
    suggestions
        Segment id → a labeller's ``(label, confidence)`` to offer (the Annotator's suggester).

    Returns
    -------
    AnnotationState
        ``rating``/``verdict``/``note`` in force on the trajectory, each segment with its
        ``human_label`` and ``note``, and the last :data:`MAX_HISTORY` annotations.
    """
    if latest is None:
        latest = latest_values(history)
    rating = latest.get((None, "rating"))
    note = latest.get((None, "note"))
    return {
        "trajectory_id": trajectory_id,
        "rating": None if rating is None else float(rating),
        "verdict": latest.get((None, "verdict")),
        "note": None if note is None else str(note),
        "segments": [
            segment_info(
                s,
                human_label=_label_text(latest.get((s.id, "label"))),
                note=_label_text(latest.get((s.id, "note"))),
                suggestion=(suggestions or {}).get(s.id),
            )
            for s in segments
        ],
        "history": [history_entry(a) for a in history[-MAX_HISTORY:]],
    }
