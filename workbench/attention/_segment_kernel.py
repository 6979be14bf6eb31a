"""Segment-to-segment attention mass from the log-sum-exp of the logits, without a ``T × T`` matrix.

For token spans ``S_0 … S_{n-1}`` (sorted, disjoint, non-empty) of one sequence, layer ``l`` and
head ``h``, the *segment mass* is::

    M[l, h, a, b] = mean_{t ∈ S_a} Σ_{i ∈ S_b, i ≤ t} A[l, h, t, i]

the attention probability a query token of segment ``a`` puts on the tokens of segment ``b``,
averaged over the query tokens of ``a``. It is causal, so ``M`` is lower-triangular and the
diagonal ``M[a, a]`` covers, for each query, the keys of its own segment up to itself. Keys outside
every segment (the prompt, text between segments) take part in the softmax but in no ``b``.

How it is computed (:func:`segment_mass_from_lse`): the attention function of
:mod:`workbench.attention._function` hands every layer's post-RoPE queries and keys (grouped-query
heads as the model has them) and the log-sum-exp ``lse`` of each query's logits (from SDPA's fused
kernel, or blockwise); the query rows inside segments are then taken in blocks, and for a block
``exp(q·k·scale − lse)`` over the keys from the first segment's start to the block's causal limit is
formed in one matrix product (``−lse`` rides along as an extra query dimension against a column of
ones), the causal triangle zeroed, the rows summed per query segment (a 0/1 matrix product) and the keys per
key segment (a float64 cumulative sum read at the segment boundaries). Peak extra memory is one block
of ``heads × rows × T`` float32 values (:data:`SEGMENT_BLOCK_ELEMENTS`), never ``T × T``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from workbench.attention._lse import _group_mask, _visible_and_bias

__all__ = ["SEGMENT_BLOCK_ELEMENTS", "normalize_token_spans", "segment_mass_from_lse"]

SEGMENT_BLOCK_ELEMENTS = 1 << 21
"""Probability entries (over heads) materialised at once by :func:`segment_mass_from_lse`: 2 Mi
float32 values, 8 MiB per block."""


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


def _query_plan(
    spans: np.ndarray, q_pos0: int, q_len: int, step: int
) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Blocks of query rows inside segments: ``(r0, r1, row_segment [r1-r0], segments)``.

    Rows are local to the call (``0 .. q_len-1`` at positions ``q_pos0 + r``); a block holds at most
    ``step`` rows, all inside segments, possibly of several segments.
    """
    plan: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    runs: list[tuple[int, int, int]] = []  # (r0, r1, segment) clipped to this call
    for s, (a, b) in enumerate(spans.tolist()):
        r0, r1 = max(a - q_pos0, 0), min(b - q_pos0, q_len)
        if r1 > r0:
            runs.append((r0, r1, s))
    i = 0
    while i < len(runs):
        # merge adjacent runs into one block while it stays contiguous and within `step` rows
        r0 = runs[i][0]
        ids: list[np.ndarray] = []
        r1 = r0
        while i < len(runs) and runs[i][0] == r1 and r1 - r0 < step:
            a, b, s = runs[i]
            take = min(b, r0 + step)
            ids.append(np.full(take - a, s, dtype=np.int64))
            r1 = take
            if take < b:
                runs[i] = (take, b, s)
                break
            i += 1
        row_seg = np.concatenate(ids)
        plan.append((r0, r1, row_seg, np.unique(row_seg)))
    return plan


def segment_mass_from_lse(
    query: torch.Tensor,
    key: torch.Tensor,
    lse: torch.Tensor,
    spans: np.ndarray,
    *,
    scaling: float,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
    softcap: float | None = None,
    query_position: int = 0,
    key_position: int = 0,
    block_elements: int | None = None,
) -> torch.Tensor:
    """Return the summed segment mass of one layer's queries: ``Σ_{t∈S_a} Σ_{i∈S_b} A[h, t, i]``.

    Parameters
    ----------
    query
        ``[1, H, Q, D]`` (post-RoPE; one sequence).
    key
        ``[1, Hkv, K, D]`` with ``H % Hkv == 0`` (the layer's keys, cache included).
    lse
        ``[1, H, Q]``: the log-sum-exp of each query's logits over all its visible keys.
    spans
        ``int64[S, 2]`` segment token spans in sequence positions (:func:`normalize_token_spans`).
    scaling, mask, is_causal, softcap
        The logits ``lse`` was computed from, as in :func:`~workbench.attention._lse.blockwise_lse`
        (``is_causal``: query ``r`` sees keys up to ``r + K - Q``).
    query_position
        Sequence position of query row ``0`` (the tokens fed before this call).
    key_position
        Sequence position of key ``0`` (``> 0`` when a sliding-window cache dropped keys).
    block_elements
        Probability entries materialised at once (default :data:`SEGMENT_BLOCK_ELEMENTS`).

    Returns
    -------
    torch.Tensor
        ``[H, S, S]`` float64 sums over this call's query rows (not yet divided by the segment
        lengths); row ``a`` is zero when no query of ``a`` is in this call.
    """
    b, h, q_len, d = query.shape
    if b != 1:
        raise ValueError(f"segment mass takes one sequence (batch 1), got a batch of {b}")
    n_kv, kv_len = key.shape[1], key.shape[2]
    rep = h // n_kv
    n_seg = spans.shape[0]
    device = query.device
    out = torch.zeros((n_kv, rep, n_seg, n_seg), dtype=torch.float64, device=device)
    lo = max(0, int(spans[0, 0]) - key_position)  # keys before the first segment are never summed
    if lo >= kv_len:
        return out.reshape(h, n_seg, n_seg)
    limit = None if mask is not None else (kv_len - q_len if is_causal else None)
    # key boundaries of each segment in local key columns relative to `lo`, clipped
    bounds = np.clip(spans - key_position - lo, 0, kv_len - lo)
    keys = key[0, :, lo:].float()  # [Hkv, K', D]
    fold = softcap is None  # fold `- lse` into the product: [q·s, -lse] · [k, 1]
    if fold:
        ones = torch.ones((n_kv, kv_len - lo, 1), dtype=keys.dtype, device=device)
        keys = torch.cat([keys, ones], dim=-1)
    keys_t = keys.transpose(1, 2)  # [Hkv, D(+1), K']
    grouped = query[0].view(n_kv, rep, q_len, d)
    lse_g = lse[0].view(n_kv, rep, q_len)
    step = max(1, (block_elements or SEGMENT_BLOCK_ELEMENTS) // max(1, h * (kv_len - lo)))
    for r0, r1, row_seg, segs in _query_plan(spans, query_position, q_len, step):
        rows = r1 - r0
        hi = kv_len if limit is None else min(kv_len, r1 - 1 + limit + 1)
        if hi <= lo:
            continue
        width = hi - lo
        q = grouped[:, :, r0:r1].float()
        if fold:
            q = torch.cat([q * scaling, -lse_g[:, :, r0:r1, None]], dim=-1)
        probs = torch.bmm(q.reshape(n_kv, rep * rows, -1), keys_t[:, :, :width])
        probs = probs.view(n_kv, rep, rows, width)
        if softcap is not None:  # not folded: soft-cap the logits, then subtract lse
            probs.mul_(scaling).div_(softcap).tanh_().mul_(softcap)
            probs.sub_(lse_g[:, :, r0:r1, None])
        if mask is not None:
            block = _group_mask(mask[:, :, r0:r1, lo:hi], n_kv)[0]  # [1 or Hkv, 1 or rep, rows, w]
            seen, bias = _visible_and_bias(block)
            if bias is not None:
                probs.add_(bias.float())
            probs.exp_().masked_fill_(~seen, 0.0)
            probs.nan_to_num_(0.0)  # a query that sees no key (lse = -inf)
        else:
            probs.exp_()
            if limit is not None and r0 + limit < hi:  # the causal triangle of this block
                c0 = max(lo, r0 + limit + 1)
                r_idx = torch.arange(r0, r1, device=device)[:, None]
                c_idx = torch.arange(c0, hi, device=device)[None, :]
                tail = probs[..., c0 - lo :]
                tail.masked_fill_(c_idx > r_idx + limit, 0.0)
        # rows -> their query segments: a [|segs|, rows] 0/1 matrix times the probabilities
        local = np.searchsorted(segs, row_seg)
        member = torch.zeros((len(segs), rows), dtype=torch.float32, device=device)
        member[torch.as_tensor(local, device=device), torch.arange(rows, device=device)] = 1.0
        summed = torch.matmul(member, probs)  # [Hkv, rep, |segs|, width]
        cum = torch.zeros((n_kv, rep, len(segs), width + 1), dtype=torch.float64, device=device)
        torch.cumsum(summed, dim=-1, dtype=torch.float64, out=cum[..., 1:])
        edges = torch.as_tensor(np.minimum(bounds, width), dtype=torch.long, device=device)
        per_key = cum[..., edges[:, 1]] - cum[..., edges[:, 0]]  # [Hkv, rep, |segs|, S]
        out[:, :, torch.as_tensor(segs, device=device)] += per_key
    return out.reshape(h, n_seg, n_seg)


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
