"""Log-sum-exp tensor routines for constraint attention mass: attention with lse, and the mass.

Everything here works on the tensors a transformers attention function receives: ``query``
``[B, H, Q, D]``, ``key``/``value`` ``[B, Hkv, K, D]`` (``H`` a multiple of ``Hkv``: grouped-query
attention), and an optional 4-D mask ``[B or 1, 1 or H, Q, K]`` that is either boolean (``True``:
attend) or additive float (``0``: attend; a very negative value or ``-inf``: masked).

The attention probability that query ``t`` of head ``h`` puts on key ``i`` is
``A[h, t, i] = exp(s[h, t, i] - lse[h, t])`` with ``s`` the (scaled, soft-capped, masked) logits and
``lse[h, t] = logsumexp_i s[h, t, i]``. Given ``lse``, the mass on a set ``C`` of keys,
``Σ_{i∈C} A[h, t, i]``, costs ``O(Q·|C|)`` per head: :func:`constraint_mass_from_lse`.

``lse`` comes from one of two paths:

fused (:func:`fused_attention_with_lse`)
    The fused scaled-dot-product-attention kernels that PyTorch's SDPA dispatches to already
    compute the log-sum-exp and return it next to the output; calling them directly gives the
    attention output *and* ``lse`` in one pass, at the cost of plain SDPA. On CPU this is
    ``aten::_scaled_dot_product_flash_attention_for_cpu`` (float masks, GQA, float32/bfloat16/
    float16; its output is bit-identical to SDPA's on CPU). On CUDA it is
    ``aten::_scaled_dot_product_flash_attention`` (half precision, no mask) or
    ``aten::_scaled_dot_product_efficient_attention`` (any float dtype, additive mask).
blockwise (:func:`blockwise_lse`, :func:`blockwise_attention`)
    Where no fused kernel applies (soft-capping, other devices, a fused kernel that refuses the
    inputs or fails its self-check), ``lse`` is computed over blocks of queries, so that the logits
    of only ``block × K`` entries per head exist at a time: peak extra memory ``O(H·block·K)``,
    never ``O(Q·K)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import torch

__all__ = [
    "DEFAULT_BLOCK_ELEMENTS",
    "MASS_BLOCK_ELEMENTS",
    "blockwise_attention",
    "blockwise_lse",
    "constraint_mass_from_lse",
    "fused_attention_with_lse",
    "fused_lse_available",
    "gather_constraint_keys",
]

logger = logging.getLogger(__name__)

DEFAULT_BLOCK_ELEMENTS = 1 << 22
"""Logit entries (over batch and heads) materialised at once by the blockwise kernels: 4 Mi
float32 values, 16 MiB (a few such temporaries exist at a time)."""

MASS_BLOCK_ELEMENTS = 1 << 20
"""Logit entries materialised at once by :func:`constraint_mass_from_lse` (``B·H·rows·|C|``):
4 MiB temporaries, small next to a layer's activations."""

_FUSED_OK: dict[tuple[str, torch.dtype, bool], bool] = {}
_FUSED_LOCK = threading.Lock()


# -- masks ----------------------------------------------------------------------------------------
def additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Return ``mask`` as an additive float mask of ``dtype`` (boolean ``False`` becomes ``-inf``).

    Parameters
    ----------
    mask
        A boolean mask (``True``: attend), an additive float mask, or ``None``.
    dtype
        The float dtype of the result.

    Returns
    -------
    torch.Tensor or None
        The additive mask (``None`` for ``None``).
    """
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        out = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
        return out.masked_fill_(~mask, float("-inf"))
    return mask.to(dtype)


def _visible_and_bias(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split a mask into a boolean "attended" tensor and an additive bias (``None``: no bias)."""
    if mask.dtype == torch.bool:
        return mask, None
    floor = torch.finfo(mask.dtype).min / 2
    visible = mask > floor
    return visible, torch.where(
        visible, mask, torch.zeros((), dtype=mask.dtype, device=mask.device)
    )


def _softcap(scores: torch.Tensor, softcap: float | None) -> torch.Tensor:
    if softcap is None:
        return scores
    return torch.tanh(scores / softcap) * softcap


def _group_query(query: torch.Tensor, n_kv: int) -> torch.Tensor:
    """``[B, H, Q, D]`` -> ``[B, Hkv, rep, Q, D]`` (a view): the heads sharing a key/value head."""
    b, h, q, d = query.shape
    return query.view(b, n_kv, h // n_kv, q, d)


def _group_mask(mask: torch.Tensor, n_kv: int) -> torch.Tensor:
    """``[B, 1 or H, q, k]`` -> broadcastable ``[B, 1 or Hkv, 1 or rep, q, k]``."""
    b, hm, q, k = mask.shape
    if hm == 1:
        return mask[:, :, None]
    return mask.reshape(b, n_kv, hm // n_kv, q, k)


def _causal_limit(q_len: int, kv_len: int, is_causal: bool) -> int | None:
    """Key index offset of causal visibility: row ``r`` sees keys ``<= r + limit`` (``None``: all)."""
    return kv_len - q_len if is_causal else None


def _block_rows(n_rows: int, per_row: int, budget: int) -> int:
    return max(1, min(n_rows, budget // max(1, per_row)))


# -- blockwise -------------------------------------------------------------------------------------
def blockwise_lse(
    query: torch.Tensor,
    key: torch.Tensor,
    *,
    scaling: float,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
    softcap: float | None = None,
    block_elements: int | None = None,
) -> torch.Tensor:
    """Log-sum-exp of the attention logits of every query, computed over blocks of queries.

    Parameters
    ----------
    query
        ``[B, H, Q, D]``.
    key
        ``[B, Hkv, K, D]`` with ``H % Hkv == 0``.
    scaling
        Factor applied to ``q·k`` before soft-capping and masking.
    mask
        Optional 4-D mask ``[B or 1, 1 or H, Q, K]``, boolean or additive float.
    is_causal
        With no mask: query ``r`` sees keys ``0 .. r + K - Q`` (lower-right aligned, as
        transformers uses SDPA's ``is_causal`` only when ``Q == K``). Ignored when ``mask`` is given.
    softcap
        Logit soft-capping ``tanh(s / softcap) · softcap`` (Gemma 2 style), applied before the mask.
    block_elements
        Logit entries materialised at once (over batch and heads); sets the query block size.
        Default :data:`DEFAULT_BLOCK_ELEMENTS`.

    Returns
    -------
    torch.Tensor
        ``[B, H, Q]`` float32; ``-inf`` for a query that sees no key.
    """
    b, h, q_len, _ = query.shape
    out = torch.full((b, h, q_len), float("-inf"), dtype=torch.float32, device=query.device)
    blocks = _logit_blocks(query, key, scaling, mask, is_causal, softcap, block_elements)
    for r0, r1, _hi, scores in blocks:
        out[:, :, r0:r1] = torch.logsumexp(scores, dim=-1).reshape(b, h, r1 - r0)
    return out


def _logit_blocks(
    query: torch.Tensor,
    key: torch.Tensor,
    scaling: float,
    mask: torch.Tensor | None,
    is_causal: bool,
    softcap: float | None,
    block_elements: int | None,
) -> Iterator[tuple[int, int, int, torch.Tensor]]:
    """Yield ``(r0, r1, hi, logits)`` per block of query rows ``r0:r1`` that sees any key.

    ``logits`` are grouped ``[B, Hkv, rep, r1 - r0, hi]`` float32, scaled, soft-capped and
    masked, over the keys ``:hi`` the block can see (arguments as in :func:`blockwise_lse`).
    """
    b, h, q_len, _ = query.shape
    n_kv, kv_len = key.shape[1], key.shape[2]
    limit = None if mask is not None else _causal_limit(q_len, kv_len, is_causal)
    grouped = _group_query(query, n_kv)
    keys_t = key[:, :, None].transpose(-1, -2).float()  # [B, Hkv, 1, D, K]
    step = _block_rows(q_len, b * h * kv_len, block_elements or DEFAULT_BLOCK_ELEMENTS)
    for r0 in range(0, q_len, step):
        r1 = min(q_len, r0 + step)
        hi = kv_len if limit is None else min(kv_len, r1 - 1 + limit + 1)
        if hi <= 0:
            continue
        scores = torch.matmul(grouped[:, :, :, r0:r1].float(), keys_t[..., :hi]) * scaling
        scores = _softcap(scores, softcap)
        yield r0, r1, hi, _apply_block_mask(scores, mask, limit, r0, r1, hi, n_kv)


def _apply_block_mask(
    scores: torch.Tensor,
    mask: torch.Tensor | None,
    limit: int | None,
    r0: int,
    r1: int,
    hi: int,
    n_kv: int,
) -> torch.Tensor:
    """Mask the grouped logits ``[B, Hkv, rep, r1 - r0, hi]`` of query rows ``r0:r1``."""
    if mask is not None:
        block = _group_mask(mask[:, :, r0:r1, :hi], n_kv)
        if block.dtype == torch.bool:
            return scores.masked_fill(~block, float("-inf"))
        return scores + block.float()
    if limit is not None:
        rows = torch.arange(r0, r1, device=scores.device)[:, None]
        cols = torch.arange(hi, device=scores.device)[None, :]
        return scores.masked_fill(cols > rows + limit, float("-inf"))
    return scores


def blockwise_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    scaling: float,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
    softcap: float | None = None,
    block_elements: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and log-sum-exp over blocks of queries, with eager-attention semantics.

    Used where SDPA cannot compute the attention (soft-capping). The probabilities are computed in
    float32 and cast to the value dtype before the product with the values, as the eager attention
    of transformers does.

    Parameters
    ----------
    query, key, value
        ``[B, H, Q, D]``, ``[B, Hkv, K, D]``, ``[B, Hkv, K, Dv]``.
    scaling, mask, is_causal, softcap, block_elements
        As in :func:`blockwise_lse`.

    Returns
    -------
    tuple of torch.Tensor
        The output ``[B, H, Q, Dv]`` (``query.dtype``) and ``lse`` ``[B, H, Q]`` float32. A query
        that sees no key gets a zero output.
    """
    b, h, q_len, _ = query.shape
    n_kv = key.shape[1]
    dv = value.shape[-1]
    values = value[:, :, None]
    out = torch.zeros((b, n_kv, h // n_kv, q_len, dv), dtype=query.dtype, device=query.device)
    lse = torch.full((b, h, q_len), float("-inf"), dtype=torch.float32, device=query.device)
    blocks = _logit_blocks(query, key, scaling, mask, is_causal, softcap, block_elements)
    for r0, r1, hi, scores in blocks:
        block_lse = torch.logsumexp(scores, dim=-1, keepdim=True)
        probs = torch.exp(scores - block_lse).nan_to_num_(0.0)
        out[:, :, :, r0:r1] = torch.matmul(probs.to(value.dtype), values[:, :, :, :hi])
        lse[:, :, r0:r1] = block_lse.squeeze(-1).reshape(b, h, r1 - r0)
    return out.reshape(b, h, q_len, dv), lse


# -- fused ------------------------------------------------------------------------------------------
def _fused_call(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    scaling: float,
    mask: torch.Tensor | None,
    is_causal: bool,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Run the fused kernel of ``query``'s device; ``None`` when there is none for these inputs."""
    device = query.device.type
    aten: Any = torch.ops.aten
    q_len = query.shape[2]
    if device == "cpu":
        if query.dtype not in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
            return None
        float_mask = additive_mask(mask, query.dtype)
        out, lse = aten._scaled_dot_product_flash_attention_for_cpu(
            query, key, value, 0.0, is_causal, attn_mask=float_mask, scale=scaling
        )
        return out, lse.float()
    if device == "cuda":
        n_rep = query.shape[1] // key.shape[1]
        if n_rep > 1:
            key = key.repeat_interleave(n_rep, dim=1)
            value = value.repeat_interleave(n_rep, dim=1)
        head_dim = query.shape[-1]
        if (
            mask is None
            and query.dtype in (torch.float16, torch.bfloat16)
            and head_dim <= 256
            and head_dim % 8 == 0
            and value.shape[-1] == head_dim
        ):
            result = aten._scaled_dot_product_flash_attention(
                query, key, value, 0.0, is_causal, False, scale=scaling
            )
            return result[0], result[1][..., :q_len].float()
        if query.dtype not in (torch.float32, torch.float16, torch.bfloat16):
            return None
        bias = additive_mask(mask, query.dtype)
        if bias is not None:
            bias = bias.expand(query.shape[0], query.shape[1], q_len, key.shape[2])
        result = aten._scaled_dot_product_efficient_attention(
            query, key, value, bias, True, 0.0, is_causal, scale=scaling
        )
        return result[0], result[1][..., :q_len].float()
    return None


def _self_check(device: torch.device, dtype: torch.dtype, masked: bool) -> bool:
    """Whether the fused kernel's ``lse`` matches :func:`blockwise_lse` on a small random problem."""
    gen = torch.Generator(device="cpu").manual_seed(1234)
    b, h, n_kv, q_len, d = 1, 4, 2, 37, 16

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)

    query, key, value = rand(b, h, q_len, d), rand(b, n_kv, q_len, d), rand(b, n_kv, q_len, d)
    mask = None
    if masked:
        i = torch.arange(q_len)
        mask = ((i[:, None] >= i[None, :]) & (i[:, None] - i[None, :] < 9))[None, None]
        mask = mask.to(device)
    try:
        fused = _fused_call(query, key, value, scaling=0.25, mask=mask, is_causal=not masked)
    except RuntimeError as exc:  # the kernel refuses these inputs on this build/device
        logger.info("fused attention with lse unavailable on %s/%s: %s", device, dtype, exc)
        return False
    if fused is None:
        return False
    expected = blockwise_lse(query, key, scaling=0.25, mask=mask, is_causal=not masked)
    tol = 1e-4 if dtype in (torch.float32, torch.float64) else 3e-2
    ok = bool(torch.allclose(fused[1], expected, atol=tol, rtol=0))
    if not ok:
        logger.warning(
            "fused attention lse on %s/%s disagrees with the blockwise reference; using blockwise",
            device,
            dtype,
        )
    return ok


def fused_lse_available(device: torch.device, dtype: torch.dtype, masked: bool) -> bool:
    """Whether the fused path is used for this device type, dtype and mask presence.

    The answer is established once per process by a self-check (:func:`blockwise_lse` on a small
    random problem) and cached.

    Parameters
    ----------
    device
        The tensors' device.
    dtype
        The query dtype.
    masked
        Whether a mask tensor is passed (rather than a plain causal or no mask).

    Returns
    -------
    bool
        ``True`` when :func:`fused_attention_with_lse` returns a result for such inputs.
    """
    key = (device.type, dtype, masked)
    known = _FUSED_OK.get(key)  # the common case, at every layer of every step: no lock
    if known is not None:
        return known
    with _FUSED_LOCK:
        if key not in _FUSED_OK:
            _FUSED_OK[key] = _self_check(device, dtype, masked)
        return _FUSED_OK[key]


def fused_attention_with_lse(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    scaling: float,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Attention output and log-sum-exp from PyTorch's fused SDPA kernel, or ``None``.

    Parameters
    ----------
    query, key, value
        ``[B, H, Q, D]``, ``[B, Hkv, K, D]``, ``[B, Hkv, K, D]``.
    scaling
        Logit scale.
    mask
        Optional 4-D mask (boolean or additive float).
    is_causal
        SDPA's ``is_causal`` (upper-left aligned; pass it only with ``Q == K`` and no mask).

    Returns
    -------
    tuple of torch.Tensor or None
        ``(output [B, H, Q, D], lse [B, H, Q] float32)``, or ``None`` when no fused kernel serves
        these inputs (another device, a dtype it lacks, a failed self-check or a refusal); the
        caller then falls back to the blockwise path.
    """
    if not fused_lse_available(query.device, query.dtype, mask is not None):
        return None
    try:
        return _fused_call(query, key, value, scaling=scaling, mask=mask, is_causal=is_causal)
    except RuntimeError as exc:  # e.g. alignment or head-size limits of a CUDA kernel
        logger.debug("fused attention refused these inputs (%s); using blockwise", exc)
        return None


# -- the mass ----------------------------------------------------------------------------------------
def gather_constraint_keys(
    key: torch.Tensor, key_index: torch.Tensor, *, scaling: float
) -> torch.Tensor:
    """Gather the constraint keys of ``key`` ``[B, Hkv, K, D]``, scaled and transposed.

    Returns ``[B, Hkv, 1, D, C]``. ``key_index`` is ``[B or 1, C]`` (as in :func:`constraint_mass_from_lse`); the result is
    float32, ready to multiply the grouped queries with.
    """
    b, n_kv = key.shape[0], key.shape[1]
    n_c = key_index.shape[1]
    index = key_index.expand(b, n_c)
    gathered = torch.gather(key, 2, index[:, None, :, None].expand(b, n_kv, n_c, key.shape[-1]))
    return gathered[:, :, None].transpose(-1, -2).float() * scaling


def constraint_mass_from_lse(
    query: torch.Tensor,
    key: torch.Tensor,
    lse: torch.Tensor,
    key_index: torch.Tensor,
    key_valid: torch.Tensor | None = None,
    *,
    scaling: float,
    mask: torch.Tensor | None = None,
    is_causal: bool = False,
    softcap: float | None = None,
    row_start: int = 0,
    max_index: int | None = None,
    block_elements: int | None = None,
    key_groups: torch.Tensor | None = None,
    constraint_keys: torch.Tensor | None = None,
) -> torch.Tensor:
    """Attention mass each query puts on a set of keys: ``Σ_{i∈C} exp(s[t, i] - lse[t])``.

    Parameters
    ----------
    query
        ``[B, H, Q, D]``.
    key
        ``[B, Hkv, K, D]``.
    lse
        ``[B, H, Q]``: the log-sum-exp of each query's logits over all its visible keys.
    key_index
        ``[B or 1, C]`` int64 indices into the key axis (clamped into range by the caller).
    key_valid
        ``[B or 1, C]`` bool, or ``None`` (all valid); entries that are ``False`` contribute
        nothing (padding of per-row sets, keys outside the window or not yet seen).
    scaling, mask, is_causal, softcap
        As in :func:`blockwise_lse`; they must describe the same logits as ``lse``.
    row_start
        Compute rows ``row_start .. Q - 1`` only.
    max_index
        ``key_index.max()`` if the caller knows it (saves a device synchronisation): with a plain
        causal mask, query blocks that see every constraint key skip the masking.
    block_elements
        Logit entries materialised at once (default :data:`MASS_BLOCK_ELEMENTS`).
    key_groups
        Optional ``[C, G]`` float32 membership matrix (``1`` where key ``i`` belongs to group
        ``g``): the mass is then summed per group, for several constraints in one pass.
    constraint_keys
        The result of :func:`gather_constraint_keys` for these ``key``, ``key_index`` and
        ``scaling``, when the caller kept it from an earlier call (the keys of prompt positions do
        not change while a KV cache grows): saves gathering them again at every decode step.

    Returns
    -------
    torch.Tensor
        ``[B, H, Q - row_start]`` float32 masses in ``[0, 1]`` (``[B, H, Q - row_start, G]``
        with ``key_groups``).
    """
    b, h, q_len, _ = query.shape
    n_kv, kv_len = key.shape[1], key.shape[2]
    n_c = key_index.shape[1]
    if q_len - row_start == 1 and mask is None and softcap is None and key_valid is None:
        # A decode step (one new query, every constraint key visible; a causal last row sees all
        # keys): the fewest ops, since at every layer of every generated token each torch call
        # costs about as much as its arithmetic. The same products as the block loop below.
        if constraint_keys is None:
            constraint_keys = gather_constraint_keys(key, key_index, scaling=scaling)
        d, rep = query.shape[-1], h // n_kv
        # 3-D products (bmm, mm): a third of the dispatch cost of broadcasting 5-D matmuls
        last = query[:, :, -1:].reshape(b * n_kv, rep, d).float()
        probs = torch.bmm(last, constraint_keys.reshape(b * n_kv, d, n_c))  # [B·Hkv, rep, C]
        probs.sub_(lse[:, :, -1:].reshape(b * n_kv, rep, 1)).exp_()
        if key_groups is None:
            return probs.sum(-1).view(b, h, 1)
        if key_groups.dtype != torch.float32 or key_groups.device != query.device:
            key_groups = key_groups.to(device=query.device, dtype=torch.float32)
        return torch.mm(probs.view(b * h, n_c), key_groups).view(b, h, 1, key_groups.shape[1])
    limit = None if mask is not None else _causal_limit(q_len, kv_len, is_causal)
    if limit is not None and max_index is None:
        max_index = int(key_index.max())
    index = key_index.expand(b, n_c)
    if constraint_keys is None:
        constraint_keys = gather_constraint_keys(key, key_index, scaling=scaling)
    keys_t = constraint_keys  # [B, Hkv, 1, D, C]
    grouped = _group_query(query, n_kv)
    hidden_key = None if key_valid is None else ~key_valid.expand(b, n_c)[:, None, None, None, :]
    lse_grouped = lse.view(b, n_kv, h // n_kv, q_len)
    groups = None if key_groups is None else key_groups.to(device=query.device, dtype=torch.float32)
    tail = () if groups is None else (int(groups.shape[1]),)
    out = torch.empty((b, h, q_len - row_start, *tail), dtype=torch.float32, device=query.device)
    per_row = b * h * max(1, n_c)
    step = _block_rows(q_len - row_start, per_row, block_elements or MASS_BLOCK_ELEMENTS)
    for r0 in range(row_start, q_len, step):
        r1 = min(q_len, r0 + step)
        probs = torch.matmul(grouped[:, :, :, r0:r1].float(), keys_t)  # [B, Hkv, rep, rows, C]
        if softcap is not None:
            probs.div_(softcap).tanh_().mul_(softcap)
        hidden = hidden_key
        if mask is not None:
            picked = torch.take_along_dim(mask[:, :, r0:r1, :], index[:, None, None, :], dim=-1)
            seen, bias = _visible_and_bias(_group_mask(picked, n_kv))
            if bias is not None:
                probs.add_(bias)
            hidden = ~seen if hidden is None else hidden | ~seen
        elif limit is not None and max_index is not None and r0 + limit < max_index:
            rows = torch.arange(r0, r1, device=query.device)[:, None]
            late = index[:, None, None, None, :] > rows + limit
            hidden = late if hidden is None else hidden | late
        probs.sub_(lse_grouped[:, :, :, r0:r1, None]).exp_()
        if hidden is not None:
            probs.masked_fill_(hidden, 0.0)
        summed = probs.sum(-1) if groups is None else torch.matmul(probs, groups)
        out[:, :, r0 - row_start : r1 - row_start] = summed.reshape(b, h, r1 - r0, *tail)
    return out
