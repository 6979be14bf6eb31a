"""Constraints of an instruction: finding their wording in a prompt and their token positions."""

from workbench.constraints.attention import constraint_attention, load_attention, save_attention
from workbench.constraints.cues import CONSTRAINT_WORDING, CUES
from workbench.constraints.frames import ConstraintAttention, outcome, thinking_delta
from workbench.constraints.spans import (
    clause_spans,
    constraint_from_phrase,
    constraint_from_span,
    constraints_from_ifeval,
    find_constraints,
    locate_constraint,
    resolve_constraints,
)

__all__ = [
    "CONSTRAINT_WORDING",
    "CUES",
    "ConstraintAttention",
    "clause_spans",
    "constraint_attention",
    "constraint_from_phrase",
    "constraint_from_span",
    "constraints_from_ifeval",
    "find_constraints",
    "load_attention",
    "locate_constraint",
    "outcome",
    "resolve_constraints",
    "save_attention",
    "thinking_delta",
]
