"""Segment-to-segment attention of a trajectory: the record, its frames, and the teacher-forced run.

:class:`SegmentAttention` holds ``M[l, h, a, b]`` (:func:`~workbench.attention.segment_mass`) for the
analysis segments of one trajectory under one model, with the segments' ids, labels and spans, and
reads the receiver heads off it (:mod:`workbench.attention._receivers`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.attention._receivers import (
    ReceiverParams,
    head_kurtosis,
    rank_heads,
    receiver_params,
    vertical_scores,
)
from workbench.errors import ValidationError
from workbench.segment import Segment
from workbench.trajectory import Trajectory, new_id

__all__ = ["SegmentAttention", "segment_attention", "segment_token_spans"]


@dataclass
class SegmentAttention:
    """Segment-to-segment attention of one trajectory under one model.

    Attributes
    ----------
    trajectory_id, model
        What was measured, with which model.
    mass
        ``float32[L, H, S, S]``: ``M[l, h, a, b]``, the mean over the query tokens of segment ``a``
        of the attention probability summed over the tokens of segment ``b`` (lower-triangular).
    segment_ids
        The :class:`~workbench.segment.Segment` id of each row/column.
    char_spans
        ``int32[S, 2]`` character spans in the trajectory's raw text.
    token_spans
        ``int32[S, 2]`` token spans in the teacher-forced sequence (prompt tokens first).
    labels
        The first label of each segment (``None`` when unlabelled).
    meta
        How it was computed (prompt tokens, skipped segments, …).
    id, created_at
        Identity and time (the store keeps one result per trajectory and model).
    """

    trajectory_id: str
    model: str
    mass: np.ndarray
    segment_ids: list[str]
    char_spans: np.ndarray
    token_spans: np.ndarray
    labels: list[str | None] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.mass = np.ascontiguousarray(self.mass, dtype=np.float32)
        self.char_spans = np.ascontiguousarray(self.char_spans, dtype=np.int32).reshape(-1, 2)
        self.token_spans = np.ascontiguousarray(self.token_spans, dtype=np.int32).reshape(-1, 2)
        self.segment_ids = list(self.segment_ids)
        if not self.labels:
            self.labels = [None] * len(self.segment_ids)
        o = "SegmentAttention"
        if self.mass.ndim != 4 or self.mass.shape[2] != self.mass.shape[3]:
            raise ValidationError(f"{o}.mass", f"needs shape [L, H, S, S], got {self.mass.shape}")
        n = self.mass.shape[2]
        for name, size in (
            ("segment_ids", len(self.segment_ids)),
            ("char_spans", self.char_spans.shape[0]),
            ("token_spans", self.token_spans.shape[0]),
            ("labels", len(self.labels)),
        ):
            if size != n:
                raise ValidationError(f"{o}.{name}", f"{size} entries for {n} segments")
        if n and np.any(self.token_spans[:, 1] <= self.token_spans[:, 0]):
            raise ValidationError(f"{o}.token_spans", "every segment needs at least one token")

    # shapes
    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return int(self.mass.shape[0])

    @property
    def n_heads(self) -> int:
        """Number of attention heads per layer."""
        return int(self.mass.shape[1])

    @property
    def n_segments(self) -> int:
        """Number of segments ``S``."""
        return int(self.mass.shape[2])

    @property
    def token_counts(self) -> np.ndarray:
        """Tokens per segment, ``int64[S]``."""
        return (self.token_spans[:, 1] - self.token_spans[:, 0]).astype(np.int64)

    # reading
    def matrix(
        self, *, layers: Sequence[int] | None = None, heads: Sequence[int] | None = None
    ) -> np.ndarray:
        """``float32[S, S]``: ``M`` averaged over ``layers`` and ``heads`` (default: all)."""
        m = self.mass
        if layers is not None:
            m = m[list(layers)]
        if heads is not None:
            m = m[:, list(heads)]
        return m.mean(axis=(0, 1))

    def segments(self) -> pl.DataFrame:
        """Return one row per segment.

        Columns: ``index, segment, label, char_start, char_end, token_start, token_end, tokens``.
        """
        return pl.DataFrame(
            {
                "index": np.arange(self.n_segments, dtype=np.int32),
                "segment": pl.Series(self.segment_ids, dtype=pl.String),
                "label": pl.Series(self.labels, dtype=pl.String),
                "char_start": self.char_spans[:, 0],
                "char_end": self.char_spans[:, 1],
                "token_start": self.token_spans[:, 0],
                "token_end": self.token_spans[:, 1],
                "tokens": self.token_counts.astype(np.int32),
            }
        )

    def vertical_scores(
        self, preset: str | ReceiverParams = "thought_anchors", **overrides: Any
    ) -> np.ndarray:
        """``float64[L, H, S]``: each head's vertical score per segment (see :mod:`._receivers`)."""
        params = receiver_params(preset, **overrides)
        return vertical_scores(self.mass, params=params, key_tokens=self.token_counts)

    def receiver_heads(
        self, preset: str | ReceiverParams = "thought_anchors", **overrides: Any
    ) -> pl.DataFrame:
        """Heads ranked by the kurtosis of their vertical scores.

        Parameters
        ----------
        preset
            A name of :data:`~workbench.attention.RECEIVER_PRESETS` or :class:`ReceiverParams`.
        **overrides
            ``proximity_ignore``, ``control_depth``, ``per_key_token``, ``top_k``.

        Returns
        -------
        polars.DataFrame
            ``layer, head, kurtosis, rank, layer_rank, receiver`` sorted by rank.
        """
        params = receiver_params(preset, **overrides)
        kurt = head_kurtosis(self.vertical_scores(params))
        return rank_heads(kurt, top_k=params.top_k)

    def received(
        self, preset: str | ReceiverParams = "thought_anchors", **overrides: Any
    ) -> pl.DataFrame:
        """Per segment, the vertical score averaged over the receiver heads.

        Returns
        -------
        polars.DataFrame
            :meth:`segments` plus ``received`` (null where no receiver head scores the segment).
        """
        params = receiver_params(preset, **overrides)
        scores = self.vertical_scores(params)
        heads = rank_heads(head_kurtosis(scores), top_k=params.top_k).filter(pl.col("receiver"))
        picked = scores[heads["layer"].to_numpy(), heads["head"].to_numpy()]  # [k, S]
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(picked)
            count = ok.sum(axis=0)
            value = np.where(ok, picked, 0.0).sum(axis=0) / np.maximum(count, 1)
        col = pl.Series("received", np.where(count > 0, value, np.nan)).fill_nan(None)
        return self.segments().with_columns(col)

    def to_dict(self, preset: str | ReceiverParams = "thought_anchors") -> dict[str, Any]:
        """Return a JSON-compatible summary: segments, the mean matrix, receiver heads, received."""
        received = self.received(preset)
        heads = self.receiver_heads(preset).filter(pl.col("receiver"))
        return {
            "kind": "segments",
            "id": self.id,
            "trajectory_id": self.trajectory_id,
            "model": self.model,
            "layers": self.n_layers,
            "heads": self.n_heads,
            "segments": [
                {
                    "index": r["index"],
                    "id": r["segment"],
                    "label": r["label"],
                    "char_span": [r["char_start"], r["char_end"]],
                    "token_span": [r["token_start"], r["token_end"]],
                    "tokens": r["tokens"],
                    "received": None if r["received"] is None else round(r["received"], 6),
                }
                for r in received.iter_rows(named=True)
            ],
            "matrix": np.round(self.matrix().astype(np.float64), 6).tolist(),
            "receiver_heads": [
                {
                    "layer": r["layer"],
                    "head": r["head"],
                    "kurtosis": None if r["kurtosis"] is None else round(r["kurtosis"], 6),
                    "rank": r["rank"],
                }
                for r in heads.iter_rows(named=True)
            ],
            "preset": preset if isinstance(preset, str) else None,
            **({"meta": self.meta} if self.meta else {}),
        }

    def __repr__(self) -> str:
        return (
            f"SegmentAttention(trajectory_id={self.trajectory_id!r}, model={self.model!r}, "
            f"segments={self.n_segments}, layers={self.n_layers}, heads={self.n_heads})"
        )


def segment_token_spans(
    segments: Sequence[Segment], offsets: np.ndarray, *, shift: int = 0
) -> tuple[list[int], np.ndarray]:
    """Map segments' character spans to token spans through token ``offsets``.

    A token belongs to the segment its first character lies in (``start ≤ offset < end``), as
    :meth:`ConstraintAttention.segments` counts them.

    Parameters
    ----------
    segments
        Segments with character spans in the same text as ``offsets``.
    offsets
        ``[G, 2]`` character spans of the tokens, in order.
    shift
        Added to the token indices (the prompt length in a teacher-forced sequence).

    Returns
    -------
    tuple
        The indices (into ``segments``) of the segments that cover at least one token, and their
        ``int64[S', 2]`` token spans.
    """
    starts = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)[:, 0]
    kept: list[int] = []
    spans: list[tuple[int, int]] = []
    for i, seg in enumerate(segments):
        s, e = seg.char_span
        a = int(np.searchsorted(starts, s, side="left"))
        b = int(np.searchsorted(starts, e, side="left"))
        if b > a:
            kept.append(i)
            spans.append((a + shift, b + shift))
    return kept, np.asarray(spans, dtype=np.int64).reshape(-1, 2)


def segment_attention(
    trajectory: Trajectory,
    segments: Sequence[Segment],
    model: Any,
    tokenizer: Any,
    *,
    model_name: str | None = None,
    chunk_size: int | None = None,
    block_elements: int | None = None,
) -> SegmentAttention:
    """Compute the segment-to-segment attention of a trajectory under ``model``.

    The trajectory is teacher-forced as for constraint attention (its prompt through the chat
    template, then the generated text; recorded token ids reused when they decode back to it) and
    each segment's characters are mapped to tokens (:func:`segment_token_spans`). Segments that
    cover no token (e.g. only whitespace between tokens) are skipped and listed in
    ``meta["skipped"]``; the prompt takes part in every softmax but is no segment.

    Parameters
    ----------
    trajectory
        A trajectory with a prompt.
    segments
        Its analysis segments in order (``store.get_segments(id)``), disjoint.
    model, tokenizer
        A transformers causal LM and its fast tokenizer.
    model_name
        Recorded on the result (default: the model's ``name_or_path``).
    chunk_size, block_elements
        As in :func:`~workbench.attention.segment_mass`.

    Raises
    ------
    ValidationError
        When no segment is given or none covers a token, or segments overlap.
    """
    from workbench.attention._segment_capture import segment_mass
    from workbench.constraints.tokens import teacher_forcing

    if not segments:
        raise ValidationError(
            "segments",
            f"{trajectory.id} has no segments: segment it first (`workbench analyze --store DB "
            "--strategy sentences`, or store.add_segments)",
        )
    ordered = sorted(segments, key=lambda s: s.char_span)
    tf = teacher_forcing(trajectory, tokenizer, [])
    kept, spans = segment_token_spans(ordered, tf.offsets, shift=tf.prompt_len)
    if not kept:
        raise ValidationError("segments", f"no segment of {trajectory.id} covers a token")
    if np.any(spans[1:, 0] < spans[:-1, 1]):
        raise ValidationError("segments", f"segments of {trajectory.id} overlap: segment it again")
    mass = segment_mass(model, tf.ids, spans, chunk_size=chunk_size, block_elements=block_elements)
    chosen = [ordered[i] for i in kept]
    skipped = [s.id for i, s in enumerate(ordered) if i not in set(kept)]
    name = model_name or str(getattr(getattr(model, "config", None), "name_or_path", "") or "model")
    return SegmentAttention(
        trajectory_id=trajectory.id,
        model=name,
        mass=mass,
        segment_ids=[s.id for s in chosen],
        char_spans=np.asarray([s.char_span for s in chosen]),
        token_spans=spans,
        labels=[s.labels[0] if s.labels else None for s in chosen],
        meta={
            "mode": "teacher_forced",
            "replayed": tf.replayed,
            "prompt_tokens": tf.prompt_len,
            "tokens": int(tf.ids.shape[0]),
            "skipped": skipped,
            "query": "each token's own position",
            "definition": "mean over the query segment's tokens of the attention probability "
            "summed over the key segment's tokens (causal)",
        },
    )
