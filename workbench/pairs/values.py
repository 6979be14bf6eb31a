"""What the pair strategies compare: correctness, numeric fields, lengths and prompt groups."""

from __future__ import annotations

import math
from typing import Any

from workbench.analysis._keyword_stats import CORRECT_THRESHOLD
from workbench.trajectory import Trajectory

__all__ = [
    "DERIVED_KEY",
    "GRADE_FIELDS",
    "completion_chars",
    "field_value",
    "group_value",
    "has_prompt",
    "is_correct",
    "trajectory_provenance",
]

DERIVED_KEY = "derived"
"""Metadata key naming how a trajectory was derived from its parent (``"fcs"``, ``"early_exit"``)."""

GRADE_FIELDS: tuple[str, ...] = ("grade", "score")
"""Names of the grade's score for :func:`field_value` (any other name is a metadata key)."""


def is_correct(trajectory: Trajectory, *, threshold: float = CORRECT_THRESHOLD) -> bool | None:
    """Return whether a trajectory counts as correct (``None`` when ungraded).

    Parameters
    ----------
    trajectory
        The trajectory.
    threshold
        For grades with a score but no verdict (a judge's score on a 0–1 scale), the score from
        which it counts as correct (default :data:`~workbench.analysis._keyword_stats.CORRECT_THRESHOLD`).
    """
    grade = trajectory.grade
    if grade is None:
        return None
    if grade.correct is not None:
        return grade.correct
    return None if grade.score is None else grade.score >= threshold


def field_value(trajectory: Trajectory, field: str) -> float | None:
    """Return the numeric value of ``field`` for a trajectory, or ``None`` when it has none.

    ``"grade"`` (or ``"score"``) is the grade's score; any other name is read from the metadata
    (e.g. ``"judge_grade"``). Booleans count as 1/0; numeric strings are parsed; anything else
    (missing, null, text, NaN) is ``None``.
    """
    if field in GRADE_FIELDS:
        value: Any = None if trajectory.grade is None else trajectory.grade.score
    else:
        value = trajectory.metadata.get(field)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def completion_chars(trajectory: Trajectory) -> int:
    """Return the length of what a model wrote for the prompt: thinking plus answer (characters)."""
    return len(trajectory.thinking) + len(trajectory.answer)


def has_prompt(trajectory: Trajectory) -> bool:
    """Return whether the trajectory has a non-empty prompt (training rows need one)."""
    return any(str(m.get("content") or "").strip() for m in trajectory.prompt)


def group_value(trajectory: Trajectory, by: str | None) -> str | None:
    """Return what makes trajectories answers to "the same prompt".

    ``by=None`` uses the hash of the prompt messages (:func:`~workbench.trajectory.prompt_key`);
    otherwise the metadata key ``by`` (e.g. ``"question_id"``), ``None`` when it is missing.
    """
    if by is None:
        from workbench.trajectory import prompt_key

        return prompt_key(trajectory.prompt)
    value = trajectory.metadata.get(by)
    if value is None:
        return None
    return value if isinstance(value, str) else repr(value)


def trajectory_provenance(trajectory: Trajectory) -> dict[str, Any]:
    """Return what a pair records about one of its trajectories (ids, grade, lengths)."""
    return {
        "id": trajectory.id,
        "source": trajectory.source,
        "source_id": trajectory.source_id,
        "model": trajectory.model,
        "parent_id": trajectory.parent_id,
        "grade": None if trajectory.grade is None else trajectory.grade.to_dict(),
        "thinking_chars": len(trajectory.thinking),
        "answer_chars": len(trajectory.answer),
        "n_tokens": None if trajectory.tokens is None else len(trajectory.tokens),
    }
