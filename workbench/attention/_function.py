"""The attention function registered with transformers: SDPA's output, plus the constraint mass.

:func:`constraint_mass_attention` is registered under :data:`ATTENTION_NAME` in transformers'
``AttentionInterface`` (and SDPA's mask function under the same name in
``AttentionMaskInterface``); while a :class:`~workbench.attention.ConstraintMassCapture` is active
for a model's config, every layer's call records into it. While a
:class:`~workbench.attention.SegmentMassCapture` is active, the function does not call SDPA: the
capture's ``_attend`` computes the layer's output and segment mass in one fused pass.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, cast

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import (
    create_position_bias_mask,
    sdpa_attention_forward,
)
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from workbench.attention._lse import (
    blockwise_attention,
    blockwise_lse,
    fused_attention_with_lse,
)

__all__ = ["ATTENTION_NAME", "constraint_mass_attention"]

ATTENTION_NAME = "workbench_constraint_mass"
"""The name the attention function is registered under (``config._attn_implementation``)."""


class _Capture(Protocol):
    """A capture fed each layer's queries, keys and log-sum-exp (constraint mass)."""

    _paths: set[str]

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
    ) -> None: ...


class _AttendingCapture(Protocol):
    """A capture that computes each layer's attention output itself (segment mass, fused)."""

    _paths: set[str]

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
    ) -> torch.Tensor: ...


_ACTIVE: dict[int, _Capture | _AttendingCapture] = {}
"""The active captures (:class:`~workbench.attention.ConstraintMassCapture` or
:class:`~workbench.attention.SegmentMassCapture`), by ``id`` of the decoder config they switched."""
_ACTIVE_LOCK = threading.Lock()


def constraint_mass_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    softcap: float | None = None,
    position_bias: torch.Tensor | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention with SDPA semantics that records the constraint mass of the active capture.

    Registered with transformers' ``AttentionInterface`` as :data:`ATTENTION_NAME`; the signature is
    the interface's. The output is the ``sdpa`` path's (``[B, Q, H, D]``); the attention weights
    are not returned (``None``). With ``softcap`` (which SDPA cannot do) the output follows the
    eager path's semantics instead. The mass is recorded into the :class:`ConstraintMassCapture`
    active on ``module.config``, if any.

    Parameters
    ----------
    module
        The attention module (``layer_idx`` names the layer; ``num_key_value_groups`` and
        ``is_causal`` are read as SDPA's path reads them).
    query, key, value
        Post-RoPE ``[B, H, Q, D]`` queries and ``[B, Hkv, K, D]`` keys/values (cache included).
    attention_mask
        The 4-D mask made by SDPA's mask function, or ``None`` (plain causal or no mask).
    dropout
        Must be ``0`` (the model in eval mode).
    scaling
        Logit scale (default ``D ** -0.5``).
    is_causal
        Overrides ``module.is_causal``.
    softcap
        Attention-logit soft-capping (Gemma 2).
    position_bias
        Additive bias (T5-style), folded into the mask as SDPA's path does.
    **kwargs
        Passed on to SDPA's path; ``s_aux`` (attention sinks) is not supported.

    Returns
    -------
    tuple
        ``(attn_output, None)``.
    """
    if kwargs.get("s_aux") is not None:
        raise NotImplementedError("attention sinks (s_aux) are not supported by constraint mass")
    if dropout:
        raise ValueError("constraint mass needs attention dropout 0: put the model in eval mode")
    capture = _ACTIVE.get(id(getattr(module, "config", None)))
    scale = float(scaling) if scaling is not None else float(query.shape[-1]) ** -0.5
    causal = is_causal if is_causal is not None else bool(getattr(module, "is_causal", True))

    # The preprocessing of transformers' `sdpa_attention_forward`, kept in step with it.
    q_len = query.shape[2]
    mask, original_bias = attention_mask, position_bias
    causal = q_len > 1 and mask is None and causal
    k, v = key, value
    if causal and q_len > 1 and k.shape[2] > q_len:
        k, v = k[:, :, :q_len], v[:, :, :q_len]
        if position_bias is not None:
            position_bias = position_bias[..., :q_len]
    if position_bias is not None:
        mask = create_position_bias_mask(position_bias, mask, causal, query, k)
        causal = False

    # segment mass: output and mass in one pass. `hasattr`, not `isinstance` on the runtime
    # Protocol, which costs ~20 µs per layer per decode step (typing's attribute walk).
    if capture is not None and hasattr(capture, "_attend"):
        out4 = cast(_AttendingCapture, capture)._attend(
            module, query, k, v, mask, causal, softcap, scale
        )
        return out4.transpose(1, 2).contiguous(), None

    lse: torch.Tensor | None = None
    if softcap is not None:
        out4, lse = blockwise_attention(
            query, k, v, scaling=scale, mask=mask, is_causal=causal, softcap=softcap
        )
        output = out4.transpose(1, 2).contiguous()
    else:
        fused = (
            fused_attention_with_lse(query, k, v, scaling=scale, mask=mask, is_causal=causal)
            if capture is not None
            else None
        )
        if fused is not None:
            output, lse = fused[0].transpose(1, 2).contiguous(), fused[1]
        else:
            output = sdpa_attention_forward(
                module,
                query,
                key,
                value,
                attention_mask,
                dropout=dropout,
                scaling=scaling,
                is_causal=is_causal,
                position_bias=original_bias,
                **kwargs,
            )[0]
    if capture is not None:
        if lse is None:
            lse = blockwise_lse(
                query, k, scaling=scale, mask=mask, is_causal=causal, softcap=softcap
            )
            capture._paths.add("blockwise")
        else:
            capture._paths.add("fused" if softcap is None else "blockwise")
        capture._record(module, query, k, lse, mask, causal, softcap, scale)
    return output, None


AttentionInterface.register(ATTENTION_NAME, constraint_mass_attention)
AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)
