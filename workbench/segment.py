"""Segments: contiguous spans of the thinking, labelled with thinking patterns."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from workbench._validate import (
    Span,
    check_choice,
    check_number,
    check_span,
    check_str,
    check_str_list,
    reject_unknown,
)
from workbench.errors import ValidationError

__all__ = ["LABEL_SOURCES", "KeywordHit", "Segment", "segment_id"]

LABEL_SOURCES: tuple[str, ...] = ("rule", "model", "human", "peer")
"""Who assigned a segment's labels: a cue rule, a trained labeller, a person, or imported peer data."""

KeywordHit = tuple[int, int, str]
"""A keyword match: ``(start, end, keyword)`` in :attr:`Trajectory.raw` coordinates."""


def segment_id(trajectory_id: str, span: Span) -> str:
    """Return the stable id of the segment covering ``span`` of a trajectory.

    The id depends only on the trajectory and the span, so annotations made on a segment stay
    attached to the same text when a trajectory is segmented again.
    """
    return f"{trajectory_id}:{span[0]}-{span[1]}"


@dataclass(slots=True, kw_only=True)
class Segment:
    """A contiguous span of a trajectory's thinking.

    Attributes
    ----------
    trajectory_id
        The trajectory this segment belongs to.
    char_span
        ``(start, end)`` in :attr:`Trajectory.raw` coordinates.
    index
        Position of the segment in its trajectory (0-based).
    text
        The segment's text (``raw[start:end]``); filled in by the store when read.
    token_span
        ``(start, end)`` token indices, when known.
    labels
        Thinking-pattern labels (a segment may carry several).
    label_source
        One of :data:`LABEL_SOURCES`, or ``None`` when unlabelled.
    confidence
        Confidence of the labeller in ``[0, 1]``, when it gives one.
    keyword_hits
        Reflection-keyword matches inside the segment.
    segmenter
        Name of the segmentation strategy that produced it.
    label_meta
        How the labels were made, when a labeller records it: for the LLM labeller the model,
        backend, prompt template and the exact prompt; for the fine-tuned labeller its
        directory. JSON-compatible; ``None`` when nothing was recorded.
    id
        Stable id, :func:`segment_id` of the trajectory and the span unless given.
    """

    trajectory_id: str
    char_span: Span
    index: int = 0
    text: str = ""
    token_span: Span | None = None
    labels: list[str] = field(default_factory=list)
    label_source: str | None = None
    confidence: float | None = None
    keyword_hits: list[KeywordHit] = field(default_factory=list)
    segmenter: str = ""
    label_meta: dict[str, Any] | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.char_span, list):
            self.char_span = (self.char_span[0], self.char_span[1])
        if isinstance(self.token_span, list):
            self.token_span = (self.token_span[0], self.token_span[1])
        self.keyword_hits = [(int(h[0]), int(h[1]), str(h[2])) for h in self.keyword_hits]
        if not self.id:
            self.id = segment_id(self.trajectory_id, self.char_span)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ValidationError` naming the first invalid field."""
        o = "Segment"
        check_str(f"{o}.trajectory_id", self.trajectory_id, nonempty=True)
        check_span(f"{o}.char_span", self.char_span, 1 << 62)
        if self.token_span is not None:
            check_span(f"{o}.token_span", self.token_span, 1 << 62)
        if not isinstance(self.index, int) or self.index < 0:
            raise ValidationError(
                f"{o}.index", f"expected a non-negative integer, got {self.index!r}"
            )
        check_str(f"{o}.text", self.text)
        check_str_list(f"{o}.labels", self.labels)
        self.labels = list(self.labels)
        check_choice(f"{o}.label_source", self.label_source, LABEL_SOURCES, optional=True)
        check_number(f"{o}.confidence", self.confidence, optional=True)
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValidationError(f"{o}.confidence", f"must be in [0, 1], got {self.confidence}")
        check_str(f"{o}.segmenter", self.segmenter)
        if self.label_meta is not None and not isinstance(self.label_meta, dict):
            raise ValidationError(
                f"{o}.label_meta",
                f"expected an object or None, got {type(self.label_meta).__name__}",
            )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict (lossless)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["char_span"] = list(self.char_span)
        out["token_span"] = None if self.token_span is None else list(self.token_span)
        out["keyword_hits"] = [list(h) for h in self.keyword_hits]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        """Build from :meth:`to_dict` output, rejecting unknown fields."""
        if not isinstance(data, dict):
            raise ValidationError("Segment", f"expected an object, got {type(data).__name__}")
        reject_unknown("Segment", data, [f.name for f in fields(cls)])
        for required in ("trajectory_id", "char_span"):
            if required not in data:
                raise ValidationError(f"Segment.{required}", "is required")
        return cls(**data)
