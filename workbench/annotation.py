"""Annotations: append-only human judgements on trajectories and segments."""

from __future__ import annotations

import functools
import getpass
import time
from dataclasses import dataclass, field, fields
from typing import Any

from workbench._validate import check_choice, check_number, check_str, reject_unknown
from workbench.errors import ValidationError

__all__ = ["ANNOTATION_KINDS", "VERDICTS", "Annotation", "default_author"]

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
    """

    trajectory_id: str
    kind: str
    value: Any = None
    segment_id: str | None = None
    author: str = field(default_factory=default_author)
    created_at: float = field(default_factory=time.time)
    id: int | None = None

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
        v = self.value
        if v is None:
            return
        if self.kind == "label":
            ok = isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            if not ok:
                raise ValidationError(f"{o}.value", "a label is a string or a list of strings")
        elif self.kind == "rating":
            check_number(f"{o}.value", v)
        elif self.kind == "verdict":
            check_choice(f"{o}.value", v, VERDICTS)
        else:
            check_str(f"{o}.value", v)

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
