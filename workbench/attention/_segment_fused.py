"""One fused pass for segment-to-segment attention: a layer's attention output and its segment mass.

While a :class:`~workbench.attention.SegmentMassCapture` is active, the attention function of
:mod:`workbench.attention._function` calls :func:`fused_segment_attention` instead of SDPA, so that
attention is computed once per layer, not once for the output and again for the mass. For each
key/value head (grouped-query heads share it without a repeated copy of the keys) and each block
of query rows, the kernel forms the logits ``q·kᵀ·scale`` over the keys the block can see (one
``torch.mm`` over the block's rows of all the query heads of that group; soft-capped, masked or
causally cut) and their exact row softmax ``P`` (all keys are present; torch's fused softmax
kernel, in place in one buffer reused by every block), and from the same ``P``:

output
    ``P·V`` (one ``torch.mm``), eager attention's semantics;
segment mass
    ``M·P`` with ``M[a, t] = 1`` for the rows ``t`` of query segment ``a`` in the block (the rows
    summed per query segment first: one small product), then the keys summed per key segment
    (``index_add_`` into one bin per segment, float32 over at most one segment's keys) and added
    to the float64 total.

Peak extra memory is one block of logits (``rep × rows × K`` float32,
:data:`FUSED_BLOCK_ELEMENTS`), never ``T × T``. Each ``torch.mm`` runs on all of torch's threads
(a batched product over 3 key/value heads would leave one of 2 cores idle a third of the time).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["FUSED_BLOCK_ELEMENTS", "fused_segment_attention"]

FUSED_BLOCK_ELEMENTS = 1 << 21
"""Logit entries of one key/value head's query block (``rep × rows × K``) materialised at once:
2 Mi float32 values, 8 MiB."""


def _row_segments(spans: np.ndarray, q_pos0: int, q_len: int) -> np.ndarray:
    """``int64[q_len]``: the segment of each query row of this call (``-1``: in no segment)."""
    seg = np.full(q_len, -1, dtype=np.int64)
    for s, (a, b) in enumerate(spans.tolist()):
        r0, r1 = max(a - q_pos0, 0), min(b - q_pos0, q_len)
        if r1 > r0:
            seg[r0:r1] = s
    return seg


def fused_segment_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    spans: np.ndarray,
    *,
    scaling: float,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
    softcap: float | None = None,
    query_position: int = 0,
    key_position: int = 0,
    block_elements: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and summed segment mass of one layer, in one pass over the logits.

    Parameters
    ----------
    query
        ``[1, H, Q, D]`` (post-RoPE; one sequence).
    key, value
        ``[1, Hkv, K, D]`` and ``[1, Hkv, K, Dv]`` with ``H % Hkv == 0`` (cache included).
    spans
        ``int64[S, 2]`` segment token spans in sequence positions
        (:func:`~workbench.attention._segment_kernel.normalize_token_spans`).
    scaling
        Logit scale, applied before soft-capping and the mask.
    mask
        Optional 4-D mask ``[1, 1 or H, Q, K]``, boolean (``True``: attend) or additive float.
    is_causal
        With no mask: query ``r`` sees keys ``0 .. r + K - Q``. Ignored when ``mask`` is given.
    softcap
        Logit soft-capping ``tanh(s / softcap) · softcap``.
    query_position
        Sequence position of query row ``0`` (the tokens fed before this call).
    key_position
        Sequence position of key ``0`` (``> 0`` when a sliding-window cache dropped keys).
    block_elements
        Logit entries per key/value head materialised at once (default
        :data:`FUSED_BLOCK_ELEMENTS`).

    Returns
    -------
    tuple of torch.Tensor
        The output ``[1, H, Q, Dv]`` (``query.dtype``; eager attention's semantics, a query that
        sees no key gets zeros) and the mass ``[H, S, S]`` float64: sums over this call's query
        rows (not yet divided by the segment lengths; row ``a`` is zero when no query of ``a`` is
        in this call).
    """
    b, h, q_len, d = query.shape
    if b != 1:
        raise ValueError(f"segment mass takes one sequence (batch 1), got a batch of {b}")
    n_kv, kv_len = key.shape[1], key.shape[2]
    rep = h // n_kv
    n_seg = spans.shape[0]
    device = query.device
    limit = None if mask is not None else (kv_len - q_len if is_causal else None)
    row_seg = _row_segments(spans, query_position, q_len)
    lo = min(kv_len, max(0, int(spans[0, 0]) - key_position))  # keys before segments: no mass
    bounds = np.clip(spans - key_position - lo, 0, kv_len - lo)
    pre = scaling if softcap is None else 1.0
    q_all = (query[0].float() * pre).view(n_kv, rep, q_len, d)
    keys_t = key[0].float().transpose(1, 2)  # [Hkv, D, K] (a view for float32 keys)
    values = value[0]
    out = torch.zeros((n_kv, rep, q_len, value.shape[-1]), dtype=torch.float32, device=device)
    mass = torch.zeros((n_kv, rep, n_seg, n_seg), dtype=torch.float64, device=device)
    step = max(1, (block_elements or FUSED_BLOCK_ELEMENTS) // max(1, rep * kv_len))
    # the key segment of each key from ``lo`` (``n_seg``: in none), for the per-segment key sums
    key_seg = torch.full((kv_len - lo,), n_seg, dtype=torch.long, device=device)
    for s_i, (a, b_) in enumerate(bounds.tolist()):
        key_seg[a:b_] = s_i
    # one buffer for the logits, turned into probabilities in place; reused by every block
    logits_buf = torch.empty(rep * min(step, q_len) * kv_len, dtype=torch.float32, device=device)
    for r0 in range(0, q_len, step):
        r1 = min(q_len, r0 + step)
        rows = r1 - r0
        hi = kv_len if limit is None else min(kv_len, r1 - 1 + limit + 1)
        if hi <= 0:
            continue
        block_seg = row_seg[r0:r1]
        segs = np.unique(block_seg[block_seg >= 0]) if hi > lo else block_seg[:0]
        member = None
        if segs.size:
            local = np.searchsorted(segs, block_seg)
            inside = np.flatnonzero(block_seg >= 0)
            member = torch.zeros((len(segs), rows), dtype=torch.float32, device=device)
            member[torch.as_tensor(local[inside]), torch.as_tensor(inside)] = 1.0
            seg_index = torch.as_tensor(segs, device=device)
        block_mask = None if mask is None else mask[0, :, r0:r1, :hi]
        causal_from = None if limit is None or r0 + limit + 1 >= hi else r0 + limit + 1
        late = None  # the causal triangle of this block: keys after each row's limit
        if causal_from is not None and limit is not None:
            r_idx = torch.arange(r0 + limit, r1 + limit, device=device)[:, None]
            late = torch.arange(causal_from, hi, device=device)[None, :] > r_idx
        n = rep * rows * hi
        for j in range(n_kv):
            scores = logits_buf[:n].view(rep * rows, hi)
            torch.mm(q_all[j, :, r0:r1].reshape(rep * rows, d), keys_t[j, :, :hi], out=scores)
            scores = scores.view(rep, rows, hi)
            if softcap is not None:
                scores.mul_(scaling / softcap).tanh_().mul_(softcap)
            if block_mask is not None:
                part = (
                    block_mask if block_mask.shape[0] == 1 else block_mask[j * rep : j * rep + rep]
                )
                if part.dtype == torch.bool:
                    scores.masked_fill_(~part, float("-inf"))
                else:
                    scores.add_(part.float())
            elif causal_from is not None and late is not None:
                scores[..., causal_from:].masked_fill_(late, float("-inf"))
            probs = scores  # the softmax in place (each row is read before it is written)
            torch.ops.aten._softmax.out(scores, -1, False, out=probs)
            if block_mask is not None:  # a query that sees no key: zeros, as eager
                probs.nan_to_num_(0.0)
            flat = probs.view(rep * rows, hi)
            if values.dtype == torch.float32:
                block_out = torch.mm(flat, values[j, :hi]).view(rep, rows, -1)
            else:  # eager casts the normalised probabilities to the value dtype
                block_out = torch.mm(flat.to(values.dtype), values[j, :hi]).view(rep, rows, -1)
            out[j, :, r0:r1] = block_out
            if member is None:
                continue
            summed = torch.matmul(member, probs[..., lo:])  # [rep, |segs|, hi - lo]
            per_key_seg = torch.zeros(
                (rep, len(segs), n_seg + 1), dtype=torch.float32, device=device
            )
            per_key_seg.index_add_(2, key_seg[: hi - lo], summed)
            mass[j][:, seg_index] += per_key_seg[..., :n_seg].double()
    output = out.view(1, h, q_len, -1).to(query.dtype)
    return output, mass.reshape(h, n_seg, n_seg)
