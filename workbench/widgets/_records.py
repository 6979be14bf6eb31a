"""Build protocol records (:mod:`workbench.widgets._protocol`) from domain objects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from workbench.annotation import Annotation
from workbench.segment import Segment
from workbench.trajectory import Trajectory
from workbench.widgets._protocol import Bounds, HistoryEntry, HitInfo, SegmentInfo, TrajInfo

__all__ = [
    "bounds_of",
    "history_entry",
    "hit_infos",
    "segment_info",
    "traj_info",
    "trajectory_title",
]


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
    s: Segment, *, closed: bool = True, human_label: str | None = None, note: str | None = None
) -> SegmentInfo:
    """Return the record of one segment (``human_label``/``note``: the latest hand annotations)."""
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
    }
