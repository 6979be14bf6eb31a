"""Constraints of an instruction: finding their wording in a prompt and their token positions.

How much attention a model pays to them is :mod:`workbench.attention`.
"""

from workbench.constraints.cues import CONSTRAINT_WORDING, CUES
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
    "clause_spans",
    "constraint_from_phrase",
    "constraint_from_span",
    "constraints_from_ifeval",
    "find_constraints",
    "locate_constraint",
    "resolve_constraints",
]
