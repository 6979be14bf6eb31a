"""Choosing among candidate pairs: gaps, required grades, de-duplication and per-prompt caps."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.errors import ValidationError
from workbench.trajectory import Trajectory

__all__ = ["DEFAULT_MIN_RATIO", "Candidate", "Selection", "select"]

DEFAULT_MIN_RATIO = 1.1
"""``length`` strategy: the longer trace must be at least this many times the shorter one."""


@dataclass(slots=True, kw_only=True)
class Candidate:
    """A possible pair, before selection.

    Attributes
    ----------
    chosen, rejected
        The trajectories (``chosen`` may be a derived, not yet stored, trajectory).
    group
        The prompt group both answer.
    gap
        The margin the strategy ranks by (value difference, characters saved, …).
    ratio
        ``length``: longer / shorter; ``None`` for other strategies.
    chosen_value, rejected_value
        The values compared (the field for ``grade``; the grade's score for the others).
    provenance
        Strategy-specific provenance, merged into the stored pair's.
    """

    chosen: Trajectory
    rejected: Trajectory
    group: str
    gap: float = 1.0
    ratio: float | None = None
    chosen_value: float | None = None
    rejected_value: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Which candidate pairs to keep.

    Attributes
    ----------
    min_gap
        Keep a pair only when its gap is at least this: the value difference (``grade``), the
        characters of completion saved (``length``, ``fcs``, ``early_exit``); ``correctness`` and
        ``manual`` pairs have gap 1. Default ``0``: any strictly positive gap (equal values never
        make a pair).
    min_ratio
        ``length`` only: the rejected completion must be at least this many times as long as the
        chosen one (default :data:`DEFAULT_MIN_RATIO`).
    min_chosen
        Required grade: the chosen trajectory's value (the field for ``grade``, else the grade's
        score) must be at least this; a chosen trajectory without a value is then dropped.
    max_rejected
        The rejected trajectory's value must be at most this.
    max_per_prompt
        At most this many pairs per prompt group, the largest gaps first and, among equal gaps,
        the shorter chosen trajectory first (``None``: no cap).
    dedup
        Drop pairs whose chosen and rejected completions are the same text, and pairs repeating
        the (prompt, chosen text, rejected text) of a pair kept before.
    reuse
        Allow a trajectory in several pairs; ``False`` uses each trajectory at most once (largest
        gaps first).
    """

    min_gap: float = 0.0
    min_ratio: float = DEFAULT_MIN_RATIO
    min_chosen: float | None = None
    max_rejected: float | None = None
    max_per_prompt: int | None = None
    dedup: bool = True
    reuse: bool = True

    def __post_init__(self) -> None:
        if self.min_gap < 0:
            raise ValidationError("Selection.min_gap", f"must be >= 0, got {self.min_gap}")
        if self.min_ratio < 1:
            raise ValidationError("Selection.min_ratio", f"must be >= 1, got {self.min_ratio}")
        if self.max_per_prompt is not None and self.max_per_prompt < 1:
            raise ValidationError(
                "Selection.max_per_prompt", f"must be >= 1 or None, got {self.max_per_prompt}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-compatible dict (recorded in each pair's provenance)."""
        return asdict(self)


def _texts(c: Candidate) -> tuple[str, str, str]:
    return (c.group, c.chosen.raw, c.rejected.raw)


def select(
    candidates: Iterable[Candidate], selection: Selection, *, strategy: str
) -> tuple[list[Candidate], Counter[str]]:
    """Apply a :class:`Selection` to candidate pairs.

    Parameters
    ----------
    candidates
        The strategy's candidates.
    selection
        The rules.
    strategy
        The strategy's name (``min_ratio`` applies to ``length`` only).

    Returns
    -------
    tuple
        The kept candidates (grouped by prompt, largest gap first) and the number dropped per
        reason (``gap``, ``ratio``, ``chosen_value``, ``rejected_value``, ``identical``,
        ``duplicate``, ``reused``, ``per_prompt_cap``).
    """
    dropped: Counter[str] = Counter()
    passing: list[Candidate] = []
    for c in candidates:
        if c.gap <= 0 or c.gap < selection.min_gap:
            dropped["gap"] += 1
        elif strategy == "length" and (c.ratio is None or c.ratio < selection.min_ratio):
            dropped["ratio"] += 1
        elif selection.min_chosen is not None and (
            c.chosen_value is None or c.chosen_value < selection.min_chosen
        ):
            dropped["chosen_value"] += 1
        elif selection.max_rejected is not None and (
            c.rejected_value is None or c.rejected_value > selection.max_rejected
        ):
            dropped["rejected_value"] += 1
        elif selection.dedup and c.chosen.raw.strip() == c.rejected.raw.strip():
            dropped["identical"] += 1
        else:
            passing.append(c)
    by_group: dict[str, list[Candidate]] = defaultdict(list)
    for c in passing:
        by_group[c.group].append(c)
    kept: list[Candidate] = []
    seen_texts: set[tuple[str, str, str]] = set()
    used: set[str] = set()
    for group in by_group:
        ranked = sorted(
            by_group[group],
            key=lambda c: (-c.gap, len(c.chosen.raw), c.chosen.id, c.rejected.id),
        )
        count = 0
        for c in ranked:
            key = _texts(c)
            if selection.dedup and key in seen_texts:
                dropped["duplicate"] += 1
                continue
            ids = {c.chosen.id, c.rejected.id, c.chosen.parent_id or c.chosen.id}
            if not selection.reuse and ids & used:
                dropped["reused"] += 1
                continue
            if selection.max_per_prompt is not None and count >= selection.max_per_prompt:
                dropped["per_prompt_cap"] += 1
                continue
            seen_texts.add(key)
            used |= ids
            kept.append(c)
            count += 1
    return kept, dropped
