"""Segment-to-segment attention mass: its definition, the spans' validation and the naive reference.

For token spans ``S_0 … S_{n-1}`` (sorted, disjoint, non-empty) of one sequence, layer ``l`` and
head ``h``, the *segment mass* is::

    M[l, h, a, b] = mean_{t ∈ S_a} Σ_{i ∈ S_b, i ≤ t} A[l, h, t, i]

the attention probability a query token of segment ``a`` puts on the tokens of segment ``b``,
averaged over the query tokens of ``a``. It is causal, so ``M`` is lower-triangular and the
diagonal ``M[a, a]`` covers, for each query, the keys of its own segment up to itself. Keys outside
every segment (the prompt, text between segments) take part in the softmax but in no ``b``.

This module holds what both the computation and its checks need: :func:`normalize_token_spans`
(the spans' validation) and :func:`naive_segment_mass` (the definition applied to full attention
matrices, the reference the tests and the benchmark compare with). The computation itself is one
fused pass per layer, :func:`~workbench.attention._segment_fused.fused_segment_attention`, driven
by :class:`~workbench.attention._segment_capture.SegmentMassCapture`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["naive_segment_mass", "normalize_token_spans"]


def normalize_token_spans(spans: Sequence[Sequence[int]] | np.ndarray, n_tokens: int) -> np.ndarray:
    """Validate segment token spans and return them as ``int64[S, 2]`` (``[start, end)``).

    Parameters
    ----------
    spans
        One ``(start, end)`` per segment, token indices of the sequence, in order.
    n_tokens
        The sequence length ``T``.

    Raises
    ------
    ValueError
        For no spans, a span that is empty, out of ``[0, T]``, or overlaps or precedes the one
        before it. Drop segments without tokens first (:func:`~workbench.attention.
        segment_attention` skips them and records which).
    """
    arr = np.asarray(spans, dtype=np.int64)
    if arr.size == 0:
        raise ValueError("no segment token spans: give at least one (start, end)")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"segment token spans must be [S, 2], got shape {arr.shape}")
    starts, ends = arr[:, 0], arr[:, 1]
    empty = np.flatnonzero(ends <= starts)
    if empty.size:
        raise ValueError(
            f"segment {int(empty[0])} has an empty token span {arr[empty[0]].tolist()}: drop "
            "segments without tokens"
        )
    if starts[0] < 0 or ends[-1] > n_tokens or np.any(ends > n_tokens):
        raise ValueError(f"segment token spans must lie in [0, {n_tokens}], got {arr.tolist()}")
    bad = np.flatnonzero(starts[1:] < ends[:-1])
    if bad.size:
        i = int(bad[0]) + 1
        raise ValueError(
            f"segment {i} {arr[i].tolist()} overlaps or precedes segment {i - 1} "
            f"{arr[i - 1].tolist()}: spans must be sorted and disjoint"
        )
    return arr


def naive_segment_mass(attentions: Sequence[Any], spans: np.ndarray) -> np.ndarray:
    """Sum full attention matrices ``[1, H, T, T]`` (one per layer) over segment blocks.

    Returns ``float64[L, H, S, S]`` means over query tokens (tests and benchmarks only: it needs
    every ``T × T`` matrix).
    """
    out = []
    for att in attentions:
        a = att[0].double().cpu().numpy() if isinstance(att, torch.Tensor) else np.asarray(att[0])
        layer = np.zeros((a.shape[0], len(spans), len(spans)))
        for i, (qs, qe) in enumerate(spans.tolist()):
            for j, (ks, ke) in enumerate(spans.tolist()):
                layer[:, i, j] = a[:, qs:qe, ks:ke].sum(-1).mean(-1)
        out.append(layer)
    return np.stack(out)
