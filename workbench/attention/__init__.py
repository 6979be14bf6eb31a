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

Segment-to-segment attention (Thought Anchors' receiver heads), a second record type
(:class:`SegmentAttention`): :func:`segment_attention` (teacher-forced over a stored trajectory and
its segments) or :func:`segment_mass` (token ids and token spans), exact and without a ``T × T``
matrix; :meth:`SegmentAttention.receiver_heads` / :meth:`SegmentAttention.received` with the
constants of :data:`RECEIVER_PRESETS`; stored with ``Store.add_segment_attention`` /
``Store.get_segment_attention``.

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
    from workbench.attention._receivers import (
        RECEIVER_PRESETS,
        ReceiverParams,
        head_kurtosis,
        rank_heads,
        receiver_params,
        vertical_scores,
    )
    from workbench.attention._record import (
        OUTCOMES,
        PARTS,
        ConstraintAttention,
        outcome,
        thinking_delta,
        token_parts,
    )
    from workbench.attention._segment_capture import SegmentMassCapture, segment_mass
    from workbench.attention._segment_record import (
        SegmentAttention,
        segment_attention,
        segment_token_spans,
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
    "RECEIVER_PRESETS": "workbench.attention._receivers",
    "ReceiverParams": "workbench.attention._receivers",
    "head_kurtosis": "workbench.attention._receivers",
    "rank_heads": "workbench.attention._receivers",
    "receiver_params": "workbench.attention._receivers",
    "vertical_scores": "workbench.attention._receivers",
    "SegmentMassCapture": "workbench.attention._segment_capture",
    "segment_mass": "workbench.attention._segment_capture",
    "SegmentAttention": "workbench.attention._segment_record",
    "segment_attention": "workbench.attention._segment_record",
    "segment_token_spans": "workbench.attention._segment_record",
    "constraint_attention": "workbench.attention._teacher_forced",
    "load_attention": "workbench.attention._teacher_forced",
    "save_attention": "workbench.attention._teacher_forced",
}

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, [])

__all__ = [
    "ATTENTION_NAME",
    "OUTCOMES",
    "PARTS",
    "RECEIVER_PRESETS",
    "ConstraintAttention",
    "ConstraintMassCapture",
    "ReceiverParams",
    "SegmentAttention",
    "SegmentMassCapture",
    "capture_constraint_mass",
    "constraint_attention",
    "constraint_mass",
    "constraint_mass_attention",
    "group_matrix",
    "head_kurtosis",
    "load_attention",
    "normalize_positions",
    "outcome",
    "rank_heads",
    "receiver_params",
    "save_attention",
    "segment_attention",
    "segment_mass",
    "segment_token_spans",
    "thinking_delta",
    "token_parts",
    "vertical_scores",
]
