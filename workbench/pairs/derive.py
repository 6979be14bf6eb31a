"""Derived trajectories: a trace's thinking cut short, closed, and followed by an answer."""

from __future__ import annotations

import hashlib
from typing import Any

from workbench.grade import Grade
from workbench.pairs.values import DERIVED_KEY
from workbench.think import END_THINKING
from workbench.trajectory import Trajectory

__all__ = ["DEFAULT_EXIT_TEXT", "DEFAULT_OPEN_TEXT", "derived_dedup_key", "truncated_trajectory"]

DEFAULT_OPEN_TEXT = "<think>\n"
"""What opens the thinking of a derived trajectory (and of an early-exit probe's prefill)."""

DEFAULT_EXIT_TEXT = END_THINKING
"""What closes the thinking early (the end-of-thinking text forced by early-exit probing)."""


def truncated_trajectory(
    trajectory: Trajectory,
    cut: int,
    answer: str,
    *,
    kind: str,
    grade: Grade | None,
    metadata: dict[str, Any] | None = None,
    open_text: str = DEFAULT_OPEN_TEXT,
    exit_text: str = DEFAULT_EXIT_TEXT,
) -> Trajectory:
    """Return a new trajectory: the thinking of ``trajectory`` up to ``cut``, closed, then ``answer``.

    Parameters
    ----------
    trajectory
        The original (it becomes the new trajectory's ``parent_id``).
    cut
        Where the thinking is cut, in :attr:`Trajectory.raw` coordinates (inside the thinking span).
    answer
        The answer written after the closed thinking.
    kind
        How it was derived (``"fcs"``, ``"early_exit"``), stored as metadata ``derived`` and as a
        tag ``derived:<kind>``.
    grade
        The new trajectory's grade (the original's when the answer is the original answer).
    metadata
        More metadata (merged over the original's).
    open_text, exit_text
        What opens and closes the thinking.
    """
    start, end = trajectory.thinking_span
    if not start <= cut <= end:
        raise ValueError(f"cut {cut} is outside the thinking span {trajectory.thinking_span}")
    kept = trajectory.raw[start:cut].rstrip()
    raw = f"{open_text}{kept}{exit_text}{answer.strip()}"
    meta = {
        **trajectory.metadata,
        DERIVED_KEY: kind,
        "parent_thinking_chars": end - start,
        "kept_thinking_chars": len(kept),
        **(metadata or {}),
    }
    return Trajectory(
        prompt=[dict(m) for m in trajectory.prompt],
        raw=raw,
        constraints=list(trajectory.constraints),
        model=trajectory.model,
        backend=trajectory.backend,
        sampling=dict(trajectory.sampling),
        finish_reason="stop",
        status="complete",
        gold=trajectory.gold,
        grade=grade,
        source=trajectory.source,
        tags=[*trajectory.tags, f"derived:{kind}"],
        metadata=meta,
        parent_id=trajectory.id,
    )


def derived_dedup_key(derived: Trajectory, kind: str) -> str:
    """Return the store's de-duplication key of a derived trajectory.

    Deriving the same text from the same parent again finds the stored trajectory instead of adding
    a copy.
    """
    digest = hashlib.sha1(derived.raw.encode("utf-8")).hexdigest()[:16]
    return f"derived:{kind}:{derived.parent_id}:{digest}"
