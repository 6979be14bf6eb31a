"""Annotations: append-only human judgements on trajectories and segments."""

from __future__ import annotations

import functools
import getpass
import math
import time
from dataclasses import dataclass, field, fields
from typing import Any

from workbench._validate import check_choice, check_number, check_str, check_text, reject_unknown
from workbench.errors import ValidationError

__all__ = [
    "ANNOTATION_KINDS",
    "MAX_LABEL_CHARS",
    "MAX_NOTE_CHARS",
    "VERDICTS",
    "Annotation",
    "default_author",
]

ANNOTATION_KINDS: tuple[str, ...] = ("label", "rating", "verdict", "note")
"""What an annotation records.

* ``label``: a thinking-pattern label (string) or a list of labels for a segment or trajectory;
* ``rating``: a number (e.g. 1–5 quality);
* ``verdict``: one of :data:`VERDICTS` (chosen/rejected for preference data, good/bad for
  stepwise supervision);
* ``note``: free text.

A value of ``None`` clears the previous annotation of the same kind on the same target (the clear
is itself recorded, so history is kept).
"""

VERDICTS: tuple[str, ...] = ("chosen", "rejected", "good", "bad")

MAX_LABEL_CHARS = 200
"""Longest label accepted."""

MAX_NOTE_CHARS = 20_000
"""Longest note accepted."""


@functools.cache
def default_author() -> str:
    """Return the login name of the current user, or ``"unknown"``."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass(slots=True, kw_only=True)
class Annotation:
    """One hand-made judgement. Annotations are never updated in place: a new one supersedes.

    Attributes
    ----------
    trajectory_id
        The trajectory annotated.
    kind
        One of :data:`ANNOTATION_KINDS`.
    value
        The label(s), rating, verdict or note text; ``None`` clears.
    segment_id
        The segment annotated, or ``None`` for the whole trajectory.
    author
        Who made it (defaults to the login name).
    created_at
        Epoch seconds.
    id
        Sequence number assigned by the store (``None`` before it is stored).
    source
        Where the value came from, when it was not typed in: for an accepted model suggestion
        ``{"accepted_suggestion": {"label": ..., "label_source": "model", "confidence": ...,
        "labeller": ...}}``. The annotation is still a hand label (the person chose it); this
        keeps what they were shown in the history. JSON-compatible, or ``None``.
    """

    trajectory_id: str
    kind: str
    value: Any = None
    segment_id: str | None = None
    author: str = field(default_factory=default_author)
    created_at: float = field(default_factory=time.time)
    id: int | None = None
    source: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ValidationError` naming the first invalid field."""
        o = "Annotation"
        check_str(f"{o}.trajectory_id", self.trajectory_id, nonempty=True)
        check_choice(f"{o}.kind", self.kind, ANNOTATION_KINDS)
        check_str(f"{o}.segment_id", self.segment_id, optional=True)
        check_str(f"{o}.author", self.author)
        check_number(f"{o}.created_at", self.created_at)
        if self.source is not None and not isinstance(self.source, dict):
            raise ValidationError(
                f"{o}.source", f"expected an object or None, got {type(self.source).__name__}"
            )
        v = self.value
        if v is None:
            return
        if self.kind == "label":
            labels = v if isinstance(v, list) else [v]
            if not labels or not all(
                isinstance(x, str) and 0 < len(x) <= MAX_LABEL_CHARS for x in labels
            ):
                raise ValidationError(
                    f"{o}.value",
                    f"a label is a string of 1–{MAX_LABEL_CHARS} characters, or a list of them",
                )
            for x in labels:
                check_text(f"{o}.value", x)
        elif self.kind == "rating":
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValidationError(f"{o}.value", "a rating is a number")
            try:
                finite = math.isfinite(v)
            except OverflowError:  # an integer beyond float range
                finite = False
            if not finite:
                raise ValidationError(f"{o}.value", "a rating is a finite number, e.g. 1 to 5")
        elif self.kind == "verdict":
            check_choice(f"{o}.value", v, VERDICTS)
        else:
            check_str(f"{o}.value", v)
            if len(v) > MAX_NOTE_CHARS:
                raise ValidationError(
                    f"{o}.value", f"a note has at most {MAX_NOTE_CHARS} characters"
                )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict (lossless)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Annotation:
        """Build from :meth:`to_dict` output, rejecting unknown fields."""
        if not isinstance(data, dict):
            raise ValidationError("Annotation", f"expected an object, got {type(data).__name__}")
        reject_unknown("Annotation", data, [f.name for f in fields(cls)])
        for required in ("trajectory_id", "kind"):
            if required not in data:
                raise ValidationError(f"Annotation.{required}", "is required")
        return cls(**data)
