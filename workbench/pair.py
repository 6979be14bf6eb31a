"""Pairs: a chosen and a rejected trajectory for the same prompt (preference data)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any

from workbench._validate import check_choice, check_mapping, check_number, check_str, reject_unknown
from workbench.errors import ValidationError
from workbench.trajectory import new_id

__all__ = ["PAIR_STRATEGIES", "Pair"]

PAIR_STRATEGIES: tuple[str, ...] = (
    "manual",
    "correctness",
    "length",
    "grade",
    "fcs",
    "early_exit",
    "imported",
)
"""How a pair was made: by hand, correct vs incorrect, shorter vs longer correct, higher vs lower
grade, first-correct-solution truncation, early-exit probing, or read from a preference file."""


@dataclass(slots=True, kw_only=True)
class Pair:
    """A preference pair.

    Attributes
    ----------
    prompt_key
        What identifies "the same prompt" (a hash of the prompt messages, or a question id).
    chosen_id, rejected_id
        Trajectory ids.
    strategy
        One of :data:`PAIR_STRATEGIES`.
    provenance
        How the pair was made: parameters of the strategy, grades, probe curves, author, …
    id, created_at
        Identity and creation time (epoch seconds).
    """

    prompt_key: str
    chosen_id: str
    rejected_id: str
    strategy: str
    provenance: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ValidationError` naming the first invalid field."""
        o = "Pair"
        check_str(f"{o}.prompt_key", self.prompt_key, nonempty=True)
        check_str(f"{o}.chosen_id", self.chosen_id, nonempty=True)
        check_str(f"{o}.rejected_id", self.rejected_id, nonempty=True)
        if self.chosen_id == self.rejected_id:
            raise ValidationError(f"{o}.rejected_id", "must differ from chosen_id")
        check_choice(f"{o}.strategy", self.strategy, PAIR_STRATEGIES)
        check_mapping(f"{o}.provenance", self.provenance)
        check_str(f"{o}.id", self.id, nonempty=True)
        check_number(f"{o}.created_at", self.created_at)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict (lossless)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pair:
        """Build from :meth:`to_dict` output, rejecting unknown fields."""
        if not isinstance(data, dict):
            raise ValidationError("Pair", f"expected an object, got {type(data).__name__}")
        reject_unknown("Pair", data, [f.name for f in fields(cls)])
        for required in ("prompt_key", "chosen_id", "rejected_id", "strategy"):
            if required not in data:
                raise ValidationError(f"Pair.{required}", "is required")
        return cls(**data)
