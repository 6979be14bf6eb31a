"""The grade of a trajectory: correct or not, a score, which grader said so, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench._validate import check_json, check_number, check_str, reject_unknown
from workbench.errors import ValidationError

__all__ = ["Grade"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Grade:
    """A grader's verdict on a trajectory.

    Attributes
    ----------
    correct
        ``True``/``False``, or ``None`` when the grader gives only a score (a judge's 1–10).
    score
        A number (1.0 correct, 0.0 wrong, partial credit between, or a judge scale).
    grader
        Who graded: ``"math"``, ``"ifeval"``, ``"manual"``, ``"imported"``, …
    details
        Anything JSON the grader reports (the extracted answer, per-instruction verdicts, …).

    Examples
    --------
    >>> Grade.coerce(True)
    Grade(correct=True, score=1.0, grader='unspecified', details=None)
    >>> Grade.coerce(7.5).correct is None
    True
    """

    correct: bool | None = None
    score: float | None = None
    grader: str = "unspecified"
    details: Any = None

    def __post_init__(self) -> None:
        if self.correct is not None and not isinstance(self.correct, bool):
            raise ValidationError(
                "Grade.correct", f"expected True, False or None, got {self.correct!r}"
            )
        check_number("Grade.score", self.score, optional=True)
        check_str("Grade.grader", self.grader, nonempty=True)
        if self.correct is None and self.score is None:
            raise ValidationError("Grade", "give correct, score or both")
        object.__setattr__(self, "details", check_json("Grade.details", self.details))

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"correct", "score", "grader", "details"}``."""
        return {
            "correct": self.correct,
            "score": self.score,
            "grader": self.grader,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grade:
        """Build from :meth:`to_dict` output, rejecting unknown fields."""
        reject_unknown("Grade", data, ("correct", "score", "grader", "details"))
        return cls(
            correct=data.get("correct"),
            score=data.get("score"),
            grader=data.get("grader") or "unspecified",
            details=data.get("details"),
        )

    @classmethod
    def coerce(cls, value: Any, *, grader: str = "unspecified") -> Grade | None:
        """Turn ``None``, a :class:`Grade`, a dict, a bool or a number into a grade.

        A bool is ``correct`` with score 1.0/0.0; a number is a ``score`` with ``correct``
        unknown.
        """
        if value is None or isinstance(value, Grade):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        if isinstance(value, bool):
            return cls(correct=value, score=1.0 if value else 0.0, grader=grader)
        if isinstance(value, int | float):
            check_number("Trajectory.grade", value)
            return cls(score=float(value), grader=grader)
        raise ValidationError(
            "Trajectory.grade",
            f"expected a Grade, a dict, a bool or a finite number, got {type(value).__name__}",
        )
