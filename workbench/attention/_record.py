"""Constraint attention as polars frames: per token, segment, layer and constraint; thinking on vs off.

Definitions (reconstructed from "When Thinking Fails", arXiv 2505.11423; see
``docs/constraint_attention.md``):

* ``α[t, l, c]``: the attention mass generated token ``t`` puts, in layer ``l`` (heads averaged),
  on the prompt tokens of constraint ``c`` (a value in ``[0, 1]``);
* ``β[l] = mean_{t∈R} α[t, l]`` over a token set ``R``: thinking tokens, answer tokens, or all;
* ``Δ[l] = β_off[l] − β_on[l]``: thinking off minus thinking on, for two trajectories of the same
  prompt; the paper plots it per layer, split into WIN and LOSE cases (:data:`OUTCOMES`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.errors import ValidationError
from workbench.segment import Segment
from workbench.trajectory import Trajectory, new_id

__all__ = [
    "OUTCOMES",
    "PARTS",
    "ConstraintAttention",
    "outcome",
    "thinking_delta",
    "token_parts",
]

PARTS: tuple[str, ...] = ("thinking", "answer", "other")
"""Where a generated token lies: in the thinking, in the answer, or neither (tags, prefill)."""

OUTCOMES: tuple[str, ...] = ("win", "lose", "both_correct", "both_wrong", "ungraded")
"""How thinking changed the result of a prompt: ``win`` (correct only with thinking), ``lose``
(correct only without), the two ties, or ``ungraded`` when either side lacks a verdict."""


def token_parts(trajectory: Trajectory, offsets: np.ndarray) -> np.ndarray:
    """Return the part (:data:`PARTS`) of each generated token, from its character span."""
    starts = offsets[:, 0] if len(offsets) else np.zeros(0, dtype=np.int64)
    ends = offsets[:, 1] if len(offsets) else np.zeros(0, dtype=np.int64)
    mid = (starts + np.maximum(ends, starts + 1) - 1) // 2 if len(offsets) else starts
    out = np.full(len(offsets), "other", dtype=object)
    for name, (s, e) in (
        ("thinking", trajectory.thinking_span),
        ("answer", trajectory.answer_span),
    ):
        if e > s:
            out[(mid >= s) & (mid < e)] = name
    return out


@dataclass
class ConstraintAttention:
    """Per-token constraint attention of one trajectory under one model.

    Attributes
    ----------
    trajectory_id, model
        What was measured, with which model.
    mass
        ``float32[G, L, C]``: generated tokens × layers × constraints (heads averaged).
    offsets
        Character span of each generated token in the trajectory's raw text, ``int32[G, 2]``.
    parts
        :data:`PARTS` label of each generated token.
    constraints
        A name per constraint (its text).
    token_text
        The text of each generated token (for hover labels).
    per_head
        Optional ``float32[G, L, H, C]`` (never stored).
    meta
        How it was computed (live or teacher-forced, constraint kinds and spans, …).
    id, created_at
        Identity and time (the store keeps one result per trajectory, model and constraints).

    This is the one record type of constraint attention: what :func:`constraint_attention`
    computes, what a live run records, and what :meth:`Store.add_attention
    <workbench.store.Store.add_attention>` stores and :meth:`Store.get_attention
    <workbench.store.Store.get_attention>` returns.
    """

    trajectory_id: str
    model: str
    mass: np.ndarray
    offsets: np.ndarray
    parts: np.ndarray
    constraints: list[str]
    token_text: list[str] = field(default_factory=list)
    per_head: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.mass = np.ascontiguousarray(self.mass, dtype=np.float32)
        self.offsets = np.ascontiguousarray(self.offsets, dtype=np.int32).reshape(-1, 2)
        self.parts = np.asarray(self.parts)
        o = "ConstraintAttention"
        if self.mass.ndim != 3:
            raise ValidationError(f"{o}.mass", f"needs 3 axes, got {self.mass.shape}")
        if self.mass.shape[0] != self.offsets.shape[0]:
            raise ValidationError(
                f"{o}.offsets", f"{self.offsets.shape[0]} spans for {self.mass.shape[0]} tokens"
            )
        if self.parts.shape[0] != self.mass.shape[0]:
            raise ValidationError(
                f"{o}.parts", f"{self.parts.shape[0]} parts for {self.mass.shape[0]} tokens"
            )
        if self.mass.shape[2] != len(self.constraints):
            raise ValidationError(
                f"{o}.constraints",
                f"{len(self.constraints)} names for {self.mass.shape[2]} constraints",
            )

    @classmethod
    def of_trajectory(
        cls,
        trajectory: Trajectory,
        *,
        model: str,
        mass: np.ndarray,
        offsets: np.ndarray,
        constraints: Sequence[str],
        **fields: Any,
    ) -> ConstraintAttention:
        """Build a result for ``trajectory``: token parts and texts are read off its raw text."""
        offsets = np.ascontiguousarray(offsets, dtype=np.int32).reshape(-1, 2)
        return cls(
            trajectory_id=trajectory.id,
            model=model,
            mass=mass,
            offsets=offsets,
            parts=token_parts(trajectory, offsets),
            constraints=list(constraints),
            token_text=[trajectory.raw[s:e] for s, e in offsets.tolist()],
            **fields,
        )

    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return int(self.mass.shape[1])

    def tokens(self) -> pl.DataFrame:
        """One row per generated token, layer and constraint.

        Columns: ``token, layer, constraint, mass, part, char_start, char_end``.
        """
        g, n_layers, n_c = self.mass.shape
        token = np.repeat(np.arange(g), n_layers * n_c)
        layer = np.tile(np.repeat(np.arange(n_layers), n_c), g)
        cons = np.tile(np.arange(n_c), g * n_layers)
        return pl.DataFrame(
            {
                "token": token.astype(np.int32),
                "layer": layer.astype(np.int16),
                "constraint": pl.Series(np.asarray(self.constraints, dtype=object)[cons]),
                "mass": self.mass.reshape(-1).astype(np.float32),
                "part": pl.Series(self.parts[token].astype(str)),
                "char_start": self.offsets[token, 0].astype(np.int32),
                "char_end": self.offsets[token, 1].astype(np.int32),
            }
        )

    def total(self) -> np.ndarray:
        """``α[t, l]`` on all constraints together, ``float32[G, L]`` (the masses add up)."""
        return self.mass.sum(axis=2)

    def layers(self, *, by_constraint: bool = False) -> pl.DataFrame:
        """``β[l]`` per part (and ``all``): columns ``part, layer, [constraint,] beta, tokens``."""
        frames = []
        values = self.mass if by_constraint else self.total()[:, :, None]
        names = self.constraints if by_constraint else ["all"]
        for part in ("all", *PARTS):
            mask = np.ones(len(self.parts), bool) if part == "all" else self.parts == part
            n = int(mask.sum())
            if n == 0:
                continue
            beta = values[mask].mean(axis=0)  # [L, C']
            for ci, name in enumerate(names):
                frames.append(
                    pl.DataFrame(
                        {
                            "part": part,
                            "layer": np.arange(self.n_layers, dtype=np.int16),
                            "constraint": name,
                            "beta": beta[:, ci].astype(np.float64),
                            "tokens": n,
                        }
                    )
                )
        out = pl.concat(frames) if frames else pl.DataFrame()
        return out if by_constraint or out.is_empty() else out.drop("constraint")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Display in Jupyter: a ConstraintHeatmap widget, or an escaped table of ``β[l]``."""
        from workbench.display import mimebundle

        return mimebundle(self, "attention")

    def __repr__(self) -> str:
        return (
            f"ConstraintAttention(trajectory_id={self.trajectory_id!r}, model={self.model!r}, "
            f"tokens={len(self.parts)}, layers={self.n_layers}, constraints={self.constraints!r})"
        )

    def segments(
        self, segments: Sequence[Segment], *, layers: Sequence[int] | None = None
    ) -> pl.DataFrame:
        """Mean constraint mass per segment and constraint (over the segment's tokens and layers).

        Parameters
        ----------
        segments
            The trajectory's analysis segments (character spans in the raw text).
        layers
            Layers to average (default: all).

        Returns
        -------
        polars.DataFrame
            ``segment, index, label, constraint, mass, tokens`` (``mass`` null for a segment
            without tokens).
        """
        chosen = list(range(self.n_layers)) if layers is None else list(layers)
        per_token = self.mass[:, chosen, :].mean(axis=1)  # [G, C]
        starts = self.offsets[:, 0]
        rows: dict[str, list[Any]] = {
            k: [] for k in ("segment", "index", "label", "constraint", "mass", "tokens")
        }
        for seg in segments:
            s, e = seg.char_span
            mask = (starts >= s) & (starts < e)
            n = int(mask.sum())
            for ci, name in enumerate(self.constraints):
                rows["segment"].append(seg.id)
                rows["index"].append(seg.index)
                rows["label"].append(seg.labels[0] if seg.labels else None)
                rows["constraint"].append(name)
                rows["mass"].append(float(per_token[mask, ci].mean()) if n else None)
                rows["tokens"].append(n)
        return pl.DataFrame(
            rows,
            schema={
                "segment": pl.String,
                "index": pl.Int64,
                "label": pl.String,
                "constraint": pl.String,
                "mass": pl.Float64,
                "tokens": pl.Int64,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary: per-layer ``β`` per part, per-token total mass."""
        layers = self.layers()
        return {
            "trajectory_id": self.trajectory_id,
            "model": self.model,
            "constraints": self.constraints,
            "tokens": int(self.mass.shape[0]),
            "layers": self.n_layers,
            "beta": {
                part: layers.filter(pl.col("part") == part)["beta"].round(6).to_list()
                for part in layers["part"].unique(maintain_order=True).to_list()
            },
            "token_mass_mean_over_layers": np.round(self.total().mean(axis=1), 6).tolist(),
            **({"meta": self.meta} if self.meta else {}),
        }


def outcome(off: Trajectory, on: Trajectory) -> str:
    """Classify a thinking-off / thinking-on pair of one prompt (:data:`OUTCOMES`)."""
    a = off.grade.correct if off.grade is not None else None
    b = on.grade.correct if on.grade is not None else None
    if a is None or b is None:
        return "ungraded"
    if b and not a:
        return "win"
    if a and not b:
        return "lose"
    return "both_correct" if a else "both_wrong"


def thinking_delta(
    pairs: Sequence[tuple[Trajectory, ConstraintAttention, Trajectory, ConstraintAttention]],
    *,
    part: str = "all",
) -> pl.DataFrame:
    """``Δ[l] = β_off[l] − β_on[l]`` per prompt and layer, with the outcome of each pair.

    Parameters
    ----------
    pairs
        ``(off_trajectory, off_attention, on_trajectory, on_attention)`` per prompt: the same
        prompt answered with thinking off and on, measured with the same model.
    part
        Token set ``R`` of ``β``: ``"all"``, ``"thinking"`` or ``"answer"``. With thinking off
        there are no thinking tokens, so the paper's comparison uses ``"all"`` (every generated
        token).

    Returns
    -------
    polars.DataFrame
        ``off_id, on_id, layer, beta_off, beta_on, delta, outcome``.
    """
    frames = []
    for off_t, off_a, on_t, on_a in pairs:
        if off_a.n_layers != on_a.n_layers:
            raise ValueError(
                f"{off_t.id} and {on_t.id} were measured with models of different depth "
                f"({off_a.n_layers} and {on_a.n_layers} layers)"
            )
        b_off = off_a.layers().filter(pl.col("part") == part)["beta"].to_numpy()
        b_on = on_a.layers().filter(pl.col("part") == part)["beta"].to_numpy()
        if len(b_off) == 0 or len(b_on) == 0:
            raise ValueError(f"no {part!r} tokens in {off_t.id if len(b_off) == 0 else on_t.id}")
        frames.append(
            pl.DataFrame(
                {
                    "off_id": off_t.id,
                    "on_id": on_t.id,
                    "layer": np.arange(off_a.n_layers, dtype=np.int16),
                    "beta_off": b_off,
                    "beta_on": b_on,
                    "delta": b_off - b_on,
                    "outcome": outcome(off_t, on_t),
                }
            )
        )
    if not frames:
        raise ValueError("thinking_delta needs at least one (off, on) pair")
    return pl.concat(frames)
