"""What the importance engine stores and plans: sampled continuations and the boundaries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.analysis._segment import segment
from workbench.errors import ValidationError
from workbench.segment import Segment
from workbench.trajectory import Trajectory

__all__ = ["Boundary", "ImportanceSample", "plan_boundaries"]


@dataclass(slots=True, kw_only=True)
class ImportanceSample:
    """One sampled continuation from a boundary, graded.

    Attributes
    ----------
    position
        Index of the boundary (``0`` is the start of the thinking; ``k + 1`` the end of segment
        ``k``).
    boundary
        Character offset of the boundary in :attr:`Trajectory.raw`.
    sample
        Index of the continuation at its boundary.
    seed
        Seed of the request that sampled it (``None``: unseeded).
    text
        What the model wrote after the kept thinking (continued thinking, the close, the answer).
    answer
        The answer part of ``text``.
    answer_key
        The answer normalised for the answer distribution (math: the extracted, normalised final
        answer; ``None`` when nothing could be extracted).
    correct
        The grader's verdict.
    first_segment
        Resample mode: the first segment the continuation wrote (what replaced the dropped
        segment); empty in early-exit mode.
    n_tokens
        Tokens the continuation generated.
    elapsed_s
        Wall time of its request, shared by the request's samples (for cost estimates).
    """

    position: int
    boundary: int
    sample: int
    seed: int | None
    text: str
    answer: str
    answer_key: str | None
    correct: bool
    first_segment: str = ""
    n_tokens: int = 0
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the sample as a JSON-compatible dict."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True, kw_only=True)
class Boundary:
    """A place in the thinking that continuations start from.

    Attributes
    ----------
    position
        ``0 .. n_segments``.
    offset
        Character offset in :attr:`Trajectory.raw`.
    kept
        The thinking kept before it (from the start of the thinking).
    dropped
        The segment that starts here (``None`` at the end of the thinking).
    """

    position: int
    offset: int
    kept: str
    dropped: Segment | None = None


def plan_boundaries(
    trajectory: Trajectory, *, segmenter: str
) -> tuple[list[Segment], list[Boundary]]:
    """Return the thinking's segments and the ``n + 1`` boundaries around them.

    Boundary ``k`` is the start of segment ``k`` (``k < n``) and boundary ``n`` the end of the
    thinking; segment ``k`` is kept by the continuations from boundary ``k + 1`` and dropped by
    those from boundary ``k``.

    Raises
    ------
    ValidationError
        When the trajectory has no thinking, or its thinking has no segment.
    """
    if not trajectory.thinking:
        raise ValidationError(
            "importance.trajectory", f"trajectory {trajectory.id} has no thinking to measure"
        )
    start, end = trajectory.thinking_span
    segments = [s for s in segment(trajectory, strategy=segmenter) if s.char_span[0] < end]
    if not segments:
        raise ValidationError(
            "importance.trajectory", f"trajectory {trajectory.id}: its thinking has no segment"
        )
    offsets = [s.char_span[0] for s in segments] + [end]
    boundaries = []
    for k, offset in enumerate(offsets):
        kept = trajectory.raw[start:offset]
        # the whitespace that followed in the original (before the next segment or the closing
        # tag) stays: a prefix cut mid-line invites the model to end the turn there
        gap = trajectory.raw[offset:]
        kept += gap[: len(gap) - len(gap.lstrip())]
        boundaries.append(
            Boundary(
                position=k,
                offset=offset,
                kept=kept,
                dropped=segments[k] if k < len(segments) else None,
            )
        )
    return segments, boundaries
