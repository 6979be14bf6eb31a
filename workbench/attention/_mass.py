"""Constraint attention mass of a transformers model, in memory ``O(T·|C|)``.

For a set ``C`` of key positions (the instruction's constraint tokens), layer ``l``, head ``h`` and
query token ``t``, the *constraint mass* is ``α[t, l, h] = Σ_{i∈C} A[l, h, t, i]``: the attention
probability the token puts on the constraint tokens ("When Thinking Fails", arXiv 2505.11423);
averaged over heads it is ``α[t, l]``.

How it works
------------
An attention function (:func:`constraint_mass_attention`) is registered with transformers'
``AttentionInterface`` under the name :data:`ATTENTION_NAME`, with SDPA's mask function under the
same name in ``AttentionMaskInterface``. While a :class:`ConstraintMassCapture` is active, the
model's decoder config is switched to it (and switched back on exit), so every architecture whose
attention goes through the interface is covered: Llama, Qwen2, Qwen3, Gemma 2/3, GPT-2, Mistral and
most decoder-only models of transformers 5.

The function returns the same attention output as the ``sdpa`` path (on CPU, bit for bit: it calls
the very kernel SDPA dispatches to), and records ``α`` for the new queries of each layer from the
log-sum-exp of the logits (:mod:`workbench.attention._lse`): fused where PyTorch's kernel returns
it (CPU; CUDA), blockwise otherwise. No ``T × T`` attention matrix is ever built and
``output_attentions`` is not used.

Positions
---------
Constraint positions are token indices in the sequence the model has been fed since the start of
its KV cache (position ``0`` is the first token of the first forward call of that cache), the same
indices for every layer: sliding-window layers whose cache keeps only the last keys are mapped
correctly, and a constraint token outside a layer's window (or not yet fed) simply gets no mass.
With left-padded batches the indices count the padding.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Self

import numpy as np
import torch

from workbench.attention._function import (
    _ACTIVE,
    _ACTIVE_LOCK,
    ATTENTION_NAME,
    constraint_mass_attention,
)
from workbench.attention._lse import (
    constraint_mass_from_lse,
    gather_constraint_keys,
)
from workbench.attention._positions import PositionsLike, group_matrix, normalize_positions

__all__ = [
    "ATTENTION_NAME",
    "ConstraintMassCapture",
    "capture_constraint_mass",
    "constraint_mass",
    "constraint_mass_attention",
    "group_matrix",
    "normalize_positions",
]


# -- the capture ---------------------------------------------------------------------------------------
def _decoder_config(model: torch.nn.Module) -> Any:
    config = getattr(model, "config", None)
    if config is None:
        raise TypeError(f"{type(model).__name__} has no config: pass a transformers model")
    getter = getattr(config, "get_text_config", None)
    return getter(decoder=True) if getter is not None else config


def _find_cache(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for name in ("cache", "past_key_values"):
        if kwargs.get(name) is not None:
            return kwargs[name]
    for arg in args:
        if hasattr(arg, "get_seq_length") and hasattr(arg, "update"):
            return arg
    return None


class ConstraintMassCapture:
    """Records the constraint mass of every forward call of a model while active.

    Use it through :func:`capture_constraint_mass` (a context manager). Each forward call of the
    model adds one step: an array ``[Q, L]`` (``[Q, L, H]`` with ``per_head``) of float32, ``Q``
    the new query tokens of the call (from ``query_start`` on), ``L`` the decoder layers, ``H``
    the attention heads; with a batch of ``B > 1`` rows, ``[B, Q, L(, H)]``. A layer that does not
    go through the attention interface is ``NaN``. Rows of padding queries are meaningless.

    Attributes
    ----------
    positions
        The constraint token positions (one array shared by all rows, or one per row).
    per_head
        Whether steps keep the head axis.
    query_start
        Queries at token positions before this are skipped (their steps have fewer rows).
    n_layers, n_heads
        Of the decoder.
    steps
        The finished steps, oldest first.
    one_sequence
        Whether every forward call continues one sequence (see :func:`capture_constraint_mass`);
        the constraint keys of each layer are then gathered once and reused.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        constraint_positions: PositionsLike,
        *,
        per_head: bool = False,
        query_start: int = 0,
        groups: Sequence[Sequence[int] | np.ndarray] | None = None,
        one_sequence: bool = False,
    ) -> None:
        if query_start < 0:
            raise ValueError(f"query_start must be >= 0, got {query_start}")
        self.model = model
        self.config = _decoder_config(model)
        self.positions = normalize_positions(constraint_positions)
        self.groups: np.ndarray | None = None
        if groups is not None:
            if len(self.positions) != 1:
                raise ValueError("constraint groups need one position set shared by all rows")
            self.groups = group_matrix(self.positions[0], groups)
        self.per_head = per_head
        self.query_start = int(query_start)
        self.n_layers = int(self.config.num_hidden_layers)
        self.n_heads = int(self.config.num_attention_heads)
        self.steps: list[np.ndarray] = []
        self._paths: set[str] = set()
        self._pending: dict[int, torch.Tensor] = {}
        self._past: int | None = None
        self._index_cache: dict[
            tuple[torch.device, int, int, int], tuple[torch.Tensor, torch.Tensor | None, int]
        ] = {}
        self._group_cache: dict[tuple[str, torch.device], torch.Tensor] = {}
        self.one_sequence = bool(one_sequence)
        self._key_cache: dict[tuple[int, torch.device, int, int], torch.Tensor] = {}
        self._hooks: list[Any] = []
        self._previous: Any = None
        self._active = False

    # context management
    def __enter__(self) -> Self:
        self._attach()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._detach()

    def _attach(self) -> None:
        key = id(self.config)
        with _ACTIVE_LOCK:
            if key in _ACTIVE:
                raise RuntimeError("a constraint-mass capture is already active on this model")
            _ACTIVE[key] = self
        try:
            self._previous = self.config._attn_implementation_internal
            self.config._attn_implementation_internal = ATTENTION_NAME
            root = getattr(self.model, "base_model", self.model)
            self._hooks.append(
                root.register_forward_pre_hook(self._before_forward, with_kwargs=True)
            )
            self._hooks.append(root.register_forward_hook(self._after_forward, always_call=True))
            self._active = True
        except BaseException:
            self._detach()
            raise

    def _detach(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        if self._active or self.config._attn_implementation_internal == ATTENTION_NAME:
            self.config._attn_implementation_internal = self._previous
        self._active = False
        with _ACTIVE_LOCK:
            if _ACTIVE.get(id(self.config)) is self:
                del _ACTIVE[id(self.config)]
        self.flush()

    def _before_forward(
        self, module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.flush()
        cache = _find_cache(args, kwargs)
        self._past = int(cache.get_seq_length()) if cache is not None else 0

    def _after_forward(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        self.flush()
        self._past = None

    # recording
    def _index(
        self, device: torch.device, batch: int, offset: int, kv_len: int
    ) -> tuple[torch.Tensor, torch.Tensor | None, int]:
        """Return the key indices ``[1 or B, C]``, their validity (``None``: all) and maximum.

        Computed on the host (no device synchronisation) and cached for the current forward
        call, where all full-attention layers share one entry and the sliding ones another.
        """
        key = (device, batch, offset, kv_len)
        if key not in self._index_cache:
            rows = self.positions
            if len(rows) > 1 and len(rows) != batch:
                raise ValueError(
                    f"{len(rows)} per-row constraint position sets for a batch of {batch} rows"
                )
            width = max(len(r) for r in rows)
            index = np.zeros((len(rows), width), dtype=np.int64)
            valid = np.zeros((len(rows), width), dtype=np.bool_)
            for i, r in enumerate(rows):
                index[i, : len(r)] = r - offset
                valid[i, : len(r)] = True
            valid &= (index >= 0) & (index < kv_len)
            index = np.clip(index, 0, kv_len - 1)
            self._index_cache[key] = (
                torch.from_numpy(index).to(device),
                None if valid.all() else torch.from_numpy(valid).to(device),
                int(index.max()),
            )
        return self._index_cache[key]

    def _groups_on(self, device: torch.device) -> torch.Tensor:
        key = ("groups", device)
        cached = self._group_cache.get(key)
        if cached is None:
            assert self.groups is not None
            cached = torch.from_numpy(self.groups).to(device)
            self._group_cache[key] = cached
        return cached

    def _record(
        self,
        module: torch.nn.Module,
        query: torch.Tensor,
        key: torch.Tensor,
        lse: torch.Tensor,
        mask: torch.Tensor | None,
        is_causal: bool,
        softcap: float | None,
        scaling: float,
    ) -> None:
        layer = getattr(module, "layer_idx", None)
        if layer is None:
            layer = len(self._pending)
        layer = int(layer)
        if layer in self._pending:  # a new forward call that the hooks did not see
            self.flush()
        batch, _, q_len, _ = query.shape
        kv_len = key.shape[2]
        total = (self._past if self._past is not None else kv_len - q_len) + q_len
        # Keys are the last `kv_len` tokens seen (dynamic caches, sliding windows included); a
        # static cache holds every position at its own index (kv_len >= total).
        offset = max(0, total - kv_len)
        row_start = min(q_len, max(0, self.query_start - (total - q_len)))
        index, valid, max_index = self._index(query.device, batch, offset, kv_len)
        if row_start >= q_len:
            tail = () if self.groups is None else (self.groups.shape[1],)
            mass = torch.zeros(
                (batch, query.shape[1], 0, *tail), dtype=torch.float32, device=query.device
            )
        else:
            keys = None
            if self.one_sequence and valid is None:
                # the keys at the constraint positions stay the same while the sequence grows
                cache_key = (layer, query.device, batch, offset)
                keys = self._key_cache.get(cache_key)
                if keys is None or q_len == kv_len:  # a fresh prompt gathers them again
                    keys = gather_constraint_keys(key, index, scaling=scaling)
                    self._key_cache[cache_key] = keys
            mass = constraint_mass_from_lse(
                query,
                key,
                lse,
                index,
                valid,
                constraint_keys=keys,
                scaling=scaling,
                mask=mask,
                is_causal=is_causal,
                softcap=softcap,
                row_start=row_start,
                max_index=max_index,
                key_groups=None if self.groups is None else self._groups_on(query.device),
            )
        self._pending[layer] = mass if self.per_head else mass.mean(dim=1)

    def flush(self) -> None:
        """Close the current step (if any layer was recorded) and append it to :attr:`steps`."""
        self._index_cache.clear()
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        sample = next(iter(pending.values()))
        batch, rows = sample.shape[0], sample.shape[2 if self.per_head else 1]
        shape = (batch, rows, self.n_layers) + ((self.n_heads,) if self.per_head else ())
        if self.groups is not None:
            shape += (self.groups.shape[1],)
        step = np.full(shape, np.nan, dtype=np.float32)
        layers = [layer for layer in pending if 0 <= layer < self.n_layers]
        if layers:
            tensors = [pending[layer] for layer in layers]
            if len({t.device for t in tensors}) == 1:  # one device-to-host copy for the step
                values = list(torch.stack(tensors).float().cpu().numpy())
            else:  # layers spread over devices (a device map)
                values = [t.float().cpu().numpy() for t in tensors]
            for layer, value in zip(layers, values, strict=True):
                # [B, H, Q(, G)] -> [B, Q, H(, G)] or [B, Q(, G)]
                step[:, :, layer] = np.moveaxis(value, 1, 2) if self.per_head else value
        self.steps.append(step[0] if batch == 1 else step)

    # reading
    @property
    def paths(self) -> frozenset[str]:
        """Which log-sum-exp paths ran so far: ``"fused"`` and/or ``"blockwise"``."""
        return frozenset(self._paths)

    def pop(self) -> list[np.ndarray]:
        """Return the finished steps and forget them (for live generation, step by step)."""
        steps, self.steps = self.steps, []
        return steps

    def concatenate(self) -> np.ndarray:
        """All finished steps joined along the query axis: ``[ΣQ, L(, H)]`` (``[B, ΣQ, …]``)."""
        extra = int(self.per_head) + int(self.groups is not None)
        if not self.steps:
            shape = (0, self.n_layers) + ((self.n_heads,) if self.per_head else ())
            if self.groups is not None:
                shape += (self.groups.shape[1],)
            return np.zeros(shape, dtype=np.float32)
        batched = self.steps[0].ndim > 2 + extra
        return np.concatenate(self.steps, axis=1 if batched else 0)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)


def capture_constraint_mass(
    model: torch.nn.Module,
    constraint_positions: PositionsLike,
    *,
    per_head: bool = False,
    query_start: int = 0,
    groups: Sequence[Sequence[int] | np.ndarray] | None = None,
    one_sequence: bool = False,
) -> ConstraintMassCapture:
    """Record the constraint mass of every forward call of ``model`` inside a ``with`` block.

    On entry the model's decoder attention implementation is switched to
    :func:`constraint_mass_attention`; on exit (errors included) it is switched back. The
    forward passes are otherwise unchanged (same attention output as ``sdpa``), so generation with
    a KV cache works as usual and adds one step per call: with one new token per decode step, an
    array ``[1, L]``.

    Parameters
    ----------
    model
        A transformers model (``…ForCausalLM``, its base model, or a multimodal model whose text
        decoder uses the attention interface).
    constraint_positions
        Token indices of the constraint tokens, from the start of the KV cache; positions not yet
        fed (or past the end) get no mass until they exist; see :func:`normalize_positions`.
    per_head
        Keep the head axis (``[Q, L, H]``) instead of averaging over heads.
    query_start
        Skip queries at token positions before this (their rows are not computed).
    groups
        Optional: one position set per constraint (each a subset of ``constraint_positions``);
        every step then gets a last axis with one mass per group, all from the same pass.
    one_sequence
        Promise that the forward calls in the block feed one sequence (a prompt, then its decode
        steps with the KV cache), as a generation loop does: the keys at the constraint positions
        are then gathered once per layer and reused at every step (measured: a few percent of a
        135M model's decode step). A call whose queries cover the whole key axis (a new prompt)
        gathers them again. Leave it off when the block runs unrelated sequences.

    Returns
    -------
    ConstraintMassCapture
        A context manager; use ``with capture_constraint_mass(...) as capture:``.

    Examples
    --------
    ::

        with capture_constraint_mass(model, [3, 4, 5]) as capture:
            out = model(ids, cache=cache, use_cache=True)  # prefill: one step [T, L]
            for _ in range(n):  # each decode call adds a step [1, L]
                out = model(next_id, cache=out.cache, use_cache=True)
        alpha = capture.concatenate()
    """
    return ConstraintMassCapture(
        model,
        constraint_positions,
        per_head=per_head,
        query_start=query_start,
        groups=groups,
        one_sequence=one_sequence,
    )


# -- teacher forcing ------------------------------------------------------------------------------------
def _input_ids(input_ids: Any, device: torch.device) -> torch.Tensor:
    ids = torch.as_tensor(
        input_ids.cpu() if isinstance(input_ids, torch.Tensor) else np.asarray(input_ids)
    )
    if ids.ndim == 2 and ids.shape[0] == 1:
        ids = ids[0]
    if ids.ndim != 1:
        raise ValueError(f"input_ids must be one sequence ([T] or [1, T]), got {tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError("input_ids is empty")
    if ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise ValueError(f"input_ids must be integer token ids, got {ids.dtype}")
    return ids.to(device=device, dtype=torch.long)[None, :]


def constraint_mass(
    model: torch.nn.Module,
    input_ids: Sequence[int] | np.ndarray | torch.Tensor,
    constraint_positions: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    query_start: int = 0,
    per_head: bool = False,
    chunk_size: int | None = None,
    groups: Sequence[Sequence[int] | np.ndarray] | None = None,
) -> np.ndarray:
    """Teacher-forced constraint mass of every token of one sequence.

    One forward pass under ``torch.inference_mode()`` (or a chunked prefill over a KV cache, which
    bounds the activation memory at long ``T``), keeping only the last position's logits.

    Parameters
    ----------
    model
        A transformers model (see :func:`capture_constraint_mass`), in eval mode.
    input_ids
        The token ids ``[T]`` (or ``[1, T]``): prompt and generated text.
    constraint_positions
        Indices (``0 <= i < T``) of the constraint tokens. Positions at or after ``query_start``
        are allowed: a query then attends to those at or before it only (causal), so early
        queries get no mass from later constraint tokens.
    query_start
        First query position returned (e.g. the start of the generated text); earlier rows are not
        computed.
    per_head
        Keep the head axis.
    chunk_size
        Feed the sequence in chunks of this many tokens through a KV cache (``None``: one pass).
        The result does not depend on it beyond float rounding.
    groups
        One position set per constraint (subsets of ``constraint_positions``): the result gets a
        last axis with the mass on each, computed in the same pass.

    Returns
    -------
    numpy.ndarray
        ``[T - query_start, L]`` float32 (``[T - query_start, L, H]`` with ``per_head``; plus a
        last axis ``G`` with ``groups``).

    Raises
    ------
    ValueError
        For empty or non-integer ids, positions out of range or empty, a bad ``query_start`` or
        ``chunk_size``.
    """
    device = next(model.parameters()).device
    ids = _input_ids(input_ids, device)
    n_tokens = ids.shape[1]
    positions = normalize_positions(constraint_positions)
    if len(positions) != 1:
        raise ValueError("constraint_mass takes one set of constraint positions (one sequence)")
    if positions[0][-1] >= n_tokens:
        raise ValueError(
            f"constraint position {int(positions[0][-1])} is out of range for {n_tokens} tokens"
        )
    if not 0 <= query_start < n_tokens:
        raise ValueError(f"query_start must be in [0, {n_tokens}), got {query_start}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    params = inspect.signature(model.forward).parameters
    extra: dict[str, Any] = {}
    if "logits_to_keep" in params:
        extra["logits_to_keep"] = 1
    cache_arg = "cache" if "cache" in params else "past_key_values"
    with (
        torch.inference_mode(),
        capture_constraint_mass(
            model, positions[0], per_head=per_head, query_start=query_start, groups=groups
        ) as capture,
    ):
        if chunk_size is None or chunk_size >= n_tokens:
            model(input_ids=ids, use_cache=False, **extra)
        else:
            from transformers import DynamicCache

            cache = DynamicCache(config=getattr(model, "config", None))
            for start in range(0, n_tokens, chunk_size):
                chunk = ids[:, start : start + chunk_size]
                model(input_ids=chunk, use_cache=True, **{cache_arg: cache}, **extra)
            del cache
    result = capture.concatenate()
    expected = n_tokens - query_start
    if result.shape[0] != expected:  # pragma: no cover - a model that bypasses the interface
        raise RuntimeError(
            f"captured {result.shape[0]} query rows instead of {expected}: the model's attention "
            "does not go through transformers' AttentionInterface"
        )
    return result
