"""Receiver heads (Thought Anchors, arXiv 2506.19143): heads whose attention piles onto few segments.

From a segment-to-segment matrix ``M[l, h, a, b]`` (:class:`~workbench.attention.SegmentAttention`):

1. the *vertical score* of segment ``b`` in head ``(l, h)`` is the mean of ``M[l, h, a, b]`` over the
   later segments ``a ≥ b + proximity_ignore`` (the attention ``b`` receives from segments far enough
   below it); ``NaN`` when no segment is that far below;
2. the head's *kurtosis* is the (Fisher, biased) kurtosis of its vertical scores over segments, NaNs
   left out: high kurtosis means the head's received attention is concentrated on a few segments;
3. the *receiver heads* are the ``top_k`` heads of highest kurtosis over all layers, and the
   *received* score of a segment is its vertical score averaged over them.

Where this follows the paper (its public code, ``receiver_head_funcs.py``): ``proximity_ignore = 4``,
no depth control (``control_depth = False``), the mean over later segments, kurtosis with NaNs
omitted, the top 20 heads over all layers, and a sentence matrix that *averages* over key tokens as
well as query tokens (``per_key_token = True``: ``M[a, b] / |S_b|``). Ours: the matrix itself sums
over the key segment's tokens (an attention mass, :func:`~workbench.attention.segment_mass`), the
per-layer rank next to the overall one, and ranking one trace at a time (the paper takes the mean
kurtosis over many traces first: pass the mean to :func:`rank_heads` for that).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "RECEIVER_PRESETS",
    "ReceiverParams",
    "head_kurtosis",
    "rank_heads",
    "receiver_params",
    "vertical_scores",
]


@dataclass(frozen=True)
class ReceiverParams:
    """The constants of the receiver-head analysis.

    Attributes
    ----------
    proximity_ignore
        A segment's vertical score counts only segments at least this many positions below it
        (``1``: every later segment; ``0`` also the segment itself).
    control_depth
        Replace each row of the matrix by its ranks among the row's counted entries divided by
        their number, before the column means (the paper's ``control_depth``; off in its receiver
        heads).
    per_key_token
        Divide ``M[a, b]`` by the token count of ``b`` first: the mean over token pairs that the
        paper averages (``True``), rather than the attention mass of the segment (``False``).
    top_k
        How many heads, over all layers, are the receiver heads.
    """

    proximity_ignore: int = 4
    control_depth: bool = False
    per_key_token: bool = True
    top_k: int = 20

    def __post_init__(self) -> None:
        if self.proximity_ignore < 0:
            raise ValueError(f"proximity_ignore must be >= 0, got {self.proximity_ignore}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")


RECEIVER_PRESETS: dict[str, ReceiverParams] = {
    "thought_anchors": ReceiverParams(),
    "mass": ReceiverParams(per_key_token=False),
}
"""Named parameter sets: ``thought_anchors`` (the paper's code) and ``mass`` (ours: the same on the
attention mass of each segment, so long segments weigh by their size)."""


def receiver_params(
    preset: str | ReceiverParams = "thought_anchors", **overrides: Any
) -> ReceiverParams:
    """Return the parameters of a preset (a name of :data:`RECEIVER_PRESETS`), with overrides.

    Raises
    ------
    ValueError
        For an unknown preset name; ``TypeError`` for an unknown parameter.
    """
    if isinstance(preset, ReceiverParams):
        params = preset
    else:
        if preset not in RECEIVER_PRESETS:
            raise ValueError(
                f"unknown receiver preset {preset!r}: one of {sorted(RECEIVER_PRESETS)}"
            )
        params = RECEIVER_PRESETS[preset]
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(params, **given) if given else params


def _row_ranks(mat: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) of each row's finite entries divided by their count; NaN stays NaN."""
    out = np.full(mat.shape, np.nan)
    flat = mat.reshape(-1, mat.shape[-1])
    res = out.reshape(-1, mat.shape[-1])
    for i, row in enumerate(flat):
        ok = np.flatnonzero(np.isfinite(row))
        if ok.size == 0:
            continue
        vals = row[ok]
        order = np.argsort(vals, kind="stable")
        ranks = np.empty(ok.size)
        ranks[order] = np.arange(1, ok.size + 1)
        for v in np.unique(vals):  # ties share their mean rank
            tie = vals == v
            if tie.sum() > 1:
                ranks[tie] = ranks[tie].mean()
        res[i, ok] = ranks / ok.size
    return out


def vertical_scores(
    mass: np.ndarray,
    *,
    params: ReceiverParams | None = None,
    key_tokens: np.ndarray | None = None,
) -> np.ndarray:
    """Vertical scores ``[..., S]`` of segment matrices ``mass[..., S, S]`` (rows: queries).

    Parameters
    ----------
    mass
        ``M[..., a, b]``, lower-triangular (e.g. ``[L, H, S, S]``).
    params
        :class:`ReceiverParams` (default: the ``thought_anchors`` preset).
    key_tokens
        Token count of each segment; needed with ``per_key_token``.

    Returns
    -------
    numpy.ndarray
        ``float64[..., S]``; ``NaN`` for a segment with no segment ``proximity_ignore`` below it.
    """
    p = params or RECEIVER_PRESETS["thought_anchors"]
    mat = np.asarray(mass, dtype=np.float64).copy()
    n = mat.shape[-1]
    if p.per_key_token:
        if key_tokens is None:
            raise ValueError("per_key_token needs the segments' token counts (key_tokens)")
        mat = mat / np.asarray(key_tokens, dtype=np.float64)
    a, b = np.indices((n, n))
    mat[..., a - b < p.proximity_ignore] = np.nan  # above the diagonal and the proximity band
    if p.control_depth:
        mat = _row_ranks(mat)
    counted = np.isfinite(mat)
    total = np.where(counted, mat, 0.0).sum(axis=-2)
    count = counted.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def head_kurtosis(scores: np.ndarray) -> np.ndarray:
    """Fisher kurtosis (biased, as ``scipy.stats.kurtosis``' default) over the last axis, NaNs out.

    ``NaN`` where fewer than two finite values or zero variance.
    """
    x = np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(x)
    n = ok.sum(axis=-1)
    mean = np.where(ok, x, 0.0).sum(axis=-1) / np.maximum(n, 1)
    dev = np.where(ok, x - mean[..., None], 0.0)
    m2 = (dev**2).sum(axis=-1) / np.maximum(n, 1)
    m4 = (dev**4).sum(axis=-1) / np.maximum(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = m4 / m2**2 - 3.0
    return np.where((n >= 2) & (m2 > 0), k, np.nan)


def rank_heads(kurtosis: np.ndarray, *, top_k: int | None = None) -> pl.DataFrame:
    """Rank the heads of a ``[L, H]`` kurtosis table.

    Returns
    -------
    polars.DataFrame
        ``layer, head, kurtosis, rank`` (1: highest over all layers; null for NaN),
        ``layer_rank`` (1: highest in its layer) and ``receiver`` (among the ``top_k`` ranks),
        sorted by ``rank``.
    """
    k = np.asarray(kurtosis, dtype=np.float64)
    n_layers, n_heads = k.shape
    frame = pl.DataFrame(
        {
            "layer": np.repeat(np.arange(n_layers), n_heads).astype(np.int32),
            "head": np.tile(np.arange(n_heads), n_layers).astype(np.int32),
            "kurtosis": pl.Series(k.reshape(-1)).fill_nan(None),
        }
    )
    frame = frame.with_columns(
        pl.col("kurtosis").rank("ordinal", descending=True).cast(pl.Int32).alias("rank"),
        pl.col("kurtosis")
        .rank("ordinal", descending=True)
        .over("layer")
        .cast(pl.Int32)
        .alias("layer_rank"),
    )
    limit = top_k if top_k is not None else RECEIVER_PRESETS["thought_anchors"].top_k
    frame = frame.with_columns((pl.col("rank") <= limit).fill_null(False).alias("receiver"))
    return frame.sort(["rank", "layer", "head"], nulls_last=True)
