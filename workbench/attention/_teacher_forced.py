"""Constraint attention of a recorded trajectory: teacher-forced through a transformers model.

``α[t, l, c]`` is the attention mass (heads averaged) that the forward step which produced
generated token ``t`` (its query is the token before ``t``, as ``generate(output_attentions=True)``
reports it) put in layer ``l`` on the prompt tokens of constraint ``c``. It is computed in one
teacher-forced pass with :func:`workbench.attention.constraint_mass` (memory ``O(T·|C|)``, no
``T × T`` matrix), for every located constraint at once. Live generation with the transformers
backend records the same quantity as the tokens are produced (:class:`~workbench.backends.base.
TokenEvent`'s ``constraint_mass``) and the session stores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.attention._record import ConstraintAttention
from workbench.constraints.spans import resolve_constraints
from workbench.constraints.tokens import teacher_forcing
from workbench.errors import ValidationError
from workbench.store.store import Store
from workbench.trajectory import Constraint, Trajectory

__all__ = ["constraint_attention", "load_attention", "save_attention"]


def constraint_attention(
    trajectory: Trajectory,
    model: Any,
    tokenizer: Any,
    *,
    constraints: Sequence[Constraint] | None = None,
    phrases: Sequence[str] | None = None,
    model_name: str | None = None,
    per_head: bool = False,
    chunk_size: int | None = None,
) -> ConstraintAttention:
    """Compute the constraint attention of a trajectory under ``model``.

    Parameters
    ----------
    trajectory
        A trajectory with a prompt (generated here or imported).
    model, tokenizer
        A transformers causal LM and its fast tokenizer (e.g. ``TransformersBackend.model``).
    constraints
        Constraints with spans; default: :func:`~workbench.constraints.resolve_constraints`
        (recorded constraints, IFEval metadata, or the generic detector).
    phrases
        Phrases of the prompt to use as the constraints instead.
    model_name
        Recorded on the result (default: the model's ``name_or_path``).
    per_head
        Also keep ``float32[G, L, H, C]`` in :attr:`ConstraintAttention.per_head`.
    chunk_size
        Feed long sequences in chunks of this many tokens (bounds activation memory).

    Raises
    ------
    ValidationError
        When no constraint could be located in the prompt (pass ``phrases``), or the trajectory
        has no generated tokens.
    """
    from workbench.attention import constraint_mass

    found = (
        list(constraints) if constraints is not None else resolve_constraints(trajectory, phrases)
    )
    located = [c for c in found if c.spans]
    if not located:
        missing = ", ".join(repr(c.kind or c.text) for c in found) or "none found"
        raise ValidationError(
            "constraints",
            f"no constraint of {trajectory.id} could be located in its prompt ({missing}); "
            "name the phrases to use (phrases=[...] or --constraint TEXT)",
        )
    tf = teacher_forcing(trajectory, tokenizer, located)
    if tf.generated == 0:
        raise ValidationError("Trajectory.raw", f"{trajectory.id} has no generated tokens")
    empty = [c.text for c, p in zip(located, tf.positions, strict=True) if p.size == 0]
    if empty:
        raise ValidationError("constraints", f"constraints cover no prompt token: {empty}")
    union = np.unique(np.concatenate(tf.positions))
    # rows from the query before the first generated token: row j produced token j
    result = constraint_mass(
        model,
        tf.ids,
        union,
        query_start=tf.prompt_len - 1,
        groups=tf.positions,
        per_head=per_head,
        chunk_size=chunk_size,
    )
    rows = slice(0, tf.generated)
    heads = result[rows] if per_head else None
    mass = heads.mean(axis=2) if heads is not None else result[rows]
    name = model_name or str(getattr(getattr(model, "config", None), "name_or_path", "") or "model")
    return ConstraintAttention.of_trajectory(
        trajectory,
        model=name,
        mass=mass,
        offsets=tf.offsets,
        constraints=[c.text for c in located],
        per_head=heads,
        meta={
            "mode": "teacher_forced",
            "replayed": tf.replayed,
            "kinds": [c.kind for c in located],
            "constraint_tokens": [int(p.size) for p in tf.positions],
            "prompt_tokens": tf.prompt_len,
            "query": "the step that produced each token",
        },
    )


def save_attention(store: Store, attention: ConstraintAttention) -> str:
    """Store a result (replacing one for the same trajectory, model and constraints).

    The same as ``store.add_attention(attention)``.
    """
    return store.add_attention(attention)


def load_attention(
    store: Store, trajectory_id: str, *, model: str | None = None
) -> ConstraintAttention:
    """Return the latest stored result of a trajectory; the same as ``store.get_attention``."""
    return store.get_attention(trajectory_id, model=model)
