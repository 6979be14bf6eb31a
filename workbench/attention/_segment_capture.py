"""Segment-to-segment attention of one sequence through a transformers model (teacher-forced).

:func:`segment_mass` runs the model once (or in chunks over a KV cache) with the attention function
of :mod:`workbench.attention._function` switched in, as the constraint-mass capture does; while
:class:`SegmentMassCapture` is active, that function hands every layer's queries, keys and values to
:meth:`SegmentMassCapture._attend`, which computes the layer's attention output and its segment mass
in one pass (:func:`~workbench.attention._segment_fused.fused_segment_attention`), so attention is
computed once. No ``T × T`` matrix is built and ``output_attentions`` is not used. The sums are kept
as float32 lower triangles (the mass is causal) until :meth:`SegmentMassCapture.means` expands
them, so the memory held during the pass is half the ``[L, H, S, S]`` result.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import numpy as np
import torch

from workbench.attention._function import _ACTIVE, _ACTIVE_LOCK, ATTENTION_NAME
from workbench.attention._mass import _decoder_config, _find_cache, _input_ids
from workbench.attention._segment_fused import fused_segment_attention
from workbench.attention._segment_kernel import normalize_token_spans

__all__ = ["SegmentMassCapture", "segment_mass"]


class SegmentMassCapture:
    """Accumulates the segment mass of every forward call of a model while active.

    Attributes
    ----------
    spans
        ``int64[S, 2]`` segment token spans (sequence positions from the start of the KV cache).
    packed
        ``float32[L, H, S·(S+1)/2]``: the lower triangles (:func:`numpy.tril_indices` order) of
        the sums over the query tokens fed so far (:attr:`sums` expands them).
    seen
        ``bool[L]``: the layers recorded (a layer that does not go through the attention interface
        reads ``NaN`` in :meth:`means`).
    block_elements
        Passed on to :func:`~workbench.attention._segment_fused.fused_segment_attention`.
    """

    def __init__(
        self, model: torch.nn.Module, spans: np.ndarray, *, block_elements: int | None = None
    ) -> None:
        self.model = model
        self.config = _decoder_config(model)
        self.spans = np.asarray(spans, dtype=np.int64)
        self.n_layers = int(self.config.num_hidden_layers)
        self.n_heads = int(self.config.num_attention_heads)
        self.block_elements = block_elements
        n = self.spans.shape[0]
        self._tril = np.tril_indices(n)
        self.packed = np.zeros((self.n_layers, self.n_heads, len(self._tril[0])), dtype=np.float32)
        self.seen = np.zeros(self.n_layers, dtype=bool)
        self._paths: set[str] = set()
        self._past = 0
        self._hooks: list[Any] = []
        self._previous: Any = None
        self._active = False

    def __enter__(self) -> Self:
        key = id(self.config)
        with _ACTIVE_LOCK:
            if key in _ACTIVE:
                raise RuntimeError("an attention capture is already active on this model")
            _ACTIVE[key] = self
        try:
            self._previous = self.config._attn_implementation_internal
            self.config._attn_implementation_internal = ATTENTION_NAME
            root = getattr(self.model, "base_model", self.model)
            self._hooks.append(root.register_forward_pre_hook(self._before, with_kwargs=True))
            self._active = True
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        if self._active:
            self.config._attn_implementation_internal = self._previous
        self._active = False
        with _ACTIVE_LOCK:
            if _ACTIVE.get(id(self.config)) is self:
                del _ACTIVE[id(self.config)]

    def _before(
        self, module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        cache = _find_cache(args, kwargs)
        self._past = int(cache.get_seq_length()) if cache is not None else 0

    def _attend(
        self,
        module: torch.nn.Module,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None,
        is_causal: bool,
        softcap: float | None,
        scaling: float,
    ) -> torch.Tensor:
        """One layer's attention output ``[1, H, Q, Dv]``, recording its segment mass."""
        layer = int(getattr(module, "layer_idx", 0))
        q_len, kv_len = query.shape[2], key.shape[2]
        total = self._past + q_len
        output, mass = fused_segment_attention(
            query,
            key,
            value,
            self.spans,
            scaling=scaling,
            mask=mask,
            is_causal=is_causal,
            softcap=softcap,
            query_position=self._past,
            key_position=max(0, total - kv_len),
            block_elements=self.block_elements,
        )
        self._paths.add("fused-segment")
        self._add(layer, mass)
        return output

    def _add(self, layer: int, mass: torch.Tensor) -> None:
        if 0 <= layer < self.n_layers:
            rows, cols = self._tril
            self.packed[layer] += mass.cpu().numpy()[:, rows, cols].astype(np.float32)
            self.seen[layer] = True

    @property
    def sums(self) -> np.ndarray:
        """``float32[L, H, S, S]``: the sums over the query tokens fed so far (zero above the diagonal)."""
        n = self.spans.shape[0]
        out = np.zeros((self.n_layers, self.n_heads, n, n), dtype=np.float32)
        out[:, :, self._tril[0], self._tril[1]] = self.packed
        return out

    def means(self) -> np.ndarray:
        """``float32[L, H, S, S]``: the sums divided by each query segment's token count."""
        counts = (self.spans[:, 1] - self.spans[:, 0]).astype(np.float32)
        out = self.sums
        out /= counts[None, None, :, None]
        out[~self.seen] = np.nan
        return out


def segment_mass(
    model: torch.nn.Module,
    input_ids: Sequence[int] | np.ndarray | torch.Tensor,
    token_spans: Sequence[Sequence[int]] | np.ndarray,
    *,
    chunk_size: int | None = None,
    block_elements: int | None = None,
) -> np.ndarray:
    """Teacher-forced segment-to-segment attention mass of one sequence, per layer and head.

    ``M[l, h, a, b] = mean_{t∈S_a} Σ_{i∈S_b, i≤t} A[l, h, t, i]``: the softmax probability the query
    tokens of segment ``a`` put on the tokens of segment ``b``, summed over ``b``'s tokens and
    averaged over ``a``'s; lower-triangular (causal), the diagonal covering keys up to each query.
    Query ``t`` is the token's own position (the attention row of that token in the full forward
    pass, as Thought Anchors reads it), not the step before it.

    Parameters
    ----------
    model
        A transformers causal LM (any whose attention goes through the attention interface), eval
        mode.
    input_ids
        The token ids ``[T]`` (or ``[1, T]``).
    token_spans
        ``[S, 2]`` ``(start, end)`` token spans, sorted and disjoint, none empty
        (:func:`~workbench.attention._segment_kernel.normalize_token_spans`).
    chunk_size
        Feed the sequence in chunks of this many tokens through a KV cache (bounds activation
        memory); the result does not depend on it beyond float rounding.
    block_elements
        Logit entries per key/value head materialised at once per layer (default 2 Mi: 8 MiB).

    Returns
    -------
    numpy.ndarray
        ``float32[L, H, S, S]``.

    Raises
    ------
    ValueError
        For bad ids or spans, or a bad ``chunk_size``.
    """
    device = next(model.parameters()).device
    ids = _input_ids(input_ids, device)
    n_tokens = ids.shape[1]
    spans = normalize_token_spans(token_spans, n_tokens)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    params = inspect.signature(model.forward).parameters
    extra: dict[str, Any] = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    cache_arg = "cache" if "cache" in params else "past_key_values"
    capture = SegmentMassCapture(model, spans, block_elements=block_elements)
    with torch.inference_mode(), capture:
        if chunk_size is None or chunk_size >= n_tokens:
            model(input_ids=ids, use_cache=False, **extra)
        else:
            from transformers import DynamicCache

            cache = DynamicCache(config=getattr(model, "config", None))
            for start in range(0, n_tokens, chunk_size):
                chunk = ids[:, start : start + chunk_size]
                model(input_ids=chunk, use_cache=True, **{cache_arg: cache}, **extra)
            del cache
    if not capture.seen.any():  # pragma: no cover - a model that bypasses the interface
        raise RuntimeError(
            "no layer was recorded: the model's attention does not go through transformers' "
            "AttentionInterface"
        )
    return capture.means()
