"""Constraint attention: how much attention a model pays to the instruction's constraints.

One subpackage, one record type (:class:`ConstraintAttention`):

* computing it: :func:`constraint_attention` (teacher-forced over a stored trajectory), or live
  during generation with the transformers backend; the capture itself,
  :func:`capture_constraint_mass` / :func:`constraint_mass`, works on any model whose attention
  goes through transformers' attention interface, in memory ``O(T·|C|)``;
* reading it: :class:`ConstraintAttention` frames per token, layer, segment and constraint;
  :func:`thinking_delta` and :func:`outcome` compare thinking on and off;
* keeping it: :func:`save_attention` / :func:`load_attention` (``Store.add_attention`` /
  ``Store.get_attention``).

The names load lazily: the record and the frames need numpy and polars only; computing needs the
``transformers`` extra (torch and transformers), imported when a computing name is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import lazy_attributes

if TYPE_CHECKING:
    from workbench.attention._function import ATTENTION_NAME, constraint_mass_attention
    from workbench.attention._mass import (
        ConstraintMassCapture,
        capture_constraint_mass,
        constraint_mass,
    )
    from workbench.attention._positions import group_matrix, normalize_positions
    from workbench.attention._record import (
        OUTCOMES,
        PARTS,
        ConstraintAttention,
        outcome,
        thinking_delta,
        token_parts,
    )
    from workbench.attention._teacher_forced import (
        constraint_attention,
        load_attention,
        save_attention,
    )

_WHERE = {
    "ATTENTION_NAME": "workbench.attention._function",
    "constraint_mass_attention": "workbench.attention._function",
    "ConstraintMassCapture": "workbench.attention._mass",
    "capture_constraint_mass": "workbench.attention._mass",
    "constraint_mass": "workbench.attention._mass",
    "group_matrix": "workbench.attention._positions",
    "normalize_positions": "workbench.attention._positions",
    "OUTCOMES": "workbench.attention._record",
    "PARTS": "workbench.attention._record",
    "ConstraintAttention": "workbench.attention._record",
    "outcome": "workbench.attention._record",
    "thinking_delta": "workbench.attention._record",
    "token_parts": "workbench.attention._record",
    "constraint_attention": "workbench.attention._teacher_forced",
    "load_attention": "workbench.attention._teacher_forced",
    "save_attention": "workbench.attention._teacher_forced",
}

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, [])

__all__ = [
    "ATTENTION_NAME",
    "OUTCOMES",
    "PARTS",
    "ConstraintAttention",
    "ConstraintMassCapture",
    "capture_constraint_mass",
    "constraint_attention",
    "constraint_mass",
    "constraint_mass_attention",
    "group_matrix",
    "load_attention",
    "normalize_positions",
    "outcome",
    "save_attention",
    "thinking_delta",
    "token_parts",
]
