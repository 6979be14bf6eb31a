"""Grade trajectories and write the grades back to the store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from workbench.errors import ValidationError
from workbench.grade import Grade
from workbench.store.store import Store
from workbench.trajectory import Trajectory

__all__ = ["GRADERS", "TARGETS", "grade_store", "grade_trajectory", "ifeval_constraints"]

GRADERS: tuple[str, ...] = ("math", "ifeval")
TARGETS: tuple[str, ...] = ("answer", "thinking")
"""What a grader reads: the answer with the thinking removed (default), or the thinking (ReasonIF
puts constraints on the reasoning)."""


def ifeval_constraints(trajectory: Trajectory) -> tuple[list[str], list[dict[str, Any]]] | None:
    """Return ``(instruction_id_list, kwargs_list)`` for a trajectory, or ``None``.

    Read from the metadata kept on import (IFEval's ``instruction_id_list`` and ``kwargs``), else
    from the trajectory's constraints whose ``kind`` is an instruction id.
    """
    meta = trajectory.metadata
    ids = meta.get("instruction_id_list")
    if isinstance(ids, list) and ids:
        kwargs = meta.get("kwargs")
        if not isinstance(kwargs, list) or len(kwargs) != len(ids):
            kwargs = [{} for _ in ids]
        return [str(i) for i in ids], [dict(k or {}) for k in kwargs]
    kinds = [(c.kind, c.kwargs) for c in trajectory.constraints if c.kind and ":" in c.kind]
    if kinds:
        return [k for k, _ in kinds], [dict(kw) for _, kw in kinds]
    return None


def _text(trajectory: Trajectory, target: str) -> str:
    if target == "thinking":
        return trajectory.thinking
    # no separate answer (format "none"): the whole output is the answer
    return trajectory.answer


def grade_trajectory(
    trajectory: Trajectory, *, grader: str, target: str = "answer"
) -> Grade | None:
    """Grade one trajectory; ``None`` when it lacks what the grader needs (gold, constraints).

    Parameters
    ----------
    trajectory
        The trajectory.
    grader
        ``"math"`` (final answer against ``trajectory.gold``) or ``"ifeval"`` (the verifiable
        instructions in its metadata or constraints, strict).
    target
        ``"answer"`` or ``"thinking"``.
    """
    if grader not in GRADERS:
        raise ValidationError("grader", f"{grader!r} is not one of {list(GRADERS)}")
    if target not in TARGETS:
        raise ValidationError("target", f"{target!r} is not one of {list(TARGETS)}")
    text = _text(trajectory, target)
    if grader == "math":
        if not trajectory.gold:
            return None
        from workbench.analysis.grading.math import grade_math

        result = grade_math(text, trajectory.gold)
    else:
        found = ifeval_constraints(trajectory)
        if found is None:
            return None
        from workbench.analysis.grading.ifeval import grade_ifeval

        ids, kwargs = found
        result = grade_ifeval(text, ids, kwargs, prompt=trajectory.prompt_text or None)
    if target == "thinking":
        result = {**result, "grader": f"{result['grader']}:thinking"}
    return Grade.from_dict(result)


def grade_store(
    store: Store,
    *,
    grader: str,
    target: str = "answer",
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **filters: Any,
) -> dict[str, Any]:
    """Grade the trajectories matching ``filters`` and store the grades.

    Parameters
    ----------
    store
        The store.
    grader, target
        See :func:`grade_trajectory`.
    overwrite
        Re-grade trajectories that already have a grade (default: skip them).
    progress
        Called with ``(done, total)``.
    **filters
        Store filters, e.g. ``source=...``, ``model=...``.

    Returns
    -------
    dict
        ``{"trajectories", "graded", "skipped_already_graded", "not_applicable", "correct",
        "incorrect", "accuracy"}``.
    """
    frame = store.list_trajectories(columns=["id", "grader"], **filters)
    counts: Counter[str] = Counter()
    total = frame.height
    for done, (tid, existing) in enumerate(frame.iter_rows(), start=1):
        if existing is not None and not overwrite:
            counts["skipped_already_graded"] += 1
        else:
            grade = grade_trajectory(store.get(tid), grader=grader, target=target)
            if grade is None:
                counts["not_applicable"] += 1
            else:
                store.update(tid, grade=grade)
                counts["graded"] += 1
                counts["correct" if grade.correct else "incorrect"] += 1
        if progress is not None:
            progress(done, total)
    graded = counts["correct"] + counts["incorrect"]
    return {
        "trajectories": total,
        "graded": counts["graded"],
        "skipped_already_graded": counts["skipped_already_graded"],
        "not_applicable": counts["not_applicable"],
        "correct": counts["correct"],
        "incorrect": counts["incorrect"],
        "accuracy": counts["correct"] / graded if graded else None,
        "grader": grader,
        "target": target,
    }
