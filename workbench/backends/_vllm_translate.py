"""Pure translation between vLLM's output objects and workbench events (tested without vLLM).

The functions read vLLM's ``CompletionOutput`` and ``Logprob`` objects by attribute, so they run on
any stand-in with the same attributes; :mod:`workbench.backends.vllm_engine` uses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import queue
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.backends.base import FinishEvent, GenerationRequest, TokenEvent, truncated_entropy
from workbench.backends.prompting import chat_prompt_text

__all__ = [
    "LogprobArrays",
    "completion_to_event",
    "finish_event",
    "forced_event",
    "phase_seed",
    "render_prompt",
    "single_token_id",
    "strip_stop_token",
    "token_logprobs",
]

_SEED_STRIDE = 1_000_003
"""Seed offset between the phases of one sample (see :func:`phase_seed`)."""


# --------------------------------------------------------------------------------------------
# Pure translation: vLLM-shaped objects in, workbench events out (tested without vLLM).
# --------------------------------------------------------------------------------------------


def _rank(entry: Any) -> float:
    rank = getattr(entry, "rank", None)
    return float(rank) if isinstance(rank, int) else math.inf


def _token_text(token_id: int, entry: Any) -> str:
    decoded = getattr(entry, "decoded_token", None)
    return decoded if isinstance(decoded, str) else f"<{token_id}>"


def _position(entry: Any) -> Mapping[int, Any]:
    return entry if isinstance(entry, Mapping) else dict(entry.items())


LogprobArrays = tuple[
    tuple[float, ...] | None, tuple[dict[str, float], ...] | None, tuple[float, ...] | None
]
"""``(logprobs, top_logprobs, entropies)`` of the tokens of one event, each ``None`` if unknown."""


def token_logprobs(
    token_ids: Sequence[int], logprobs: Sequence[Any] | None, top_k: int
) -> LogprobArrays:
    """Translate vLLM's per-token logprob dicts into workbench's per-token arrays.

    Parameters
    ----------
    token_ids
        The new tokens of one delta.
    logprobs
        vLLM's ``CompletionOutput.logprobs``: one ``{token id: Logprob}`` mapping per token, each
        holding the sampled token and the top-``k`` alternatives (``Logprob`` has ``logprob``,
        ``rank`` and ``decoded_token``). When it holds more positions than ``token_ids`` (a
        cumulative list), the last ``len(token_ids)`` are used.
    top_k
        The number of alternatives requested (``SamplingParams.logprobs``).

    Returns
    -------
    tuple
        ``(logprobs, top_logprobs, entropies)``: the sampled tokens' log-probabilities (``nan``
        where the sampled token is missing from its mapping); when ``top_k > 0`` the top ``top_k``
        alternatives by rank as ``{decoded token: logprob}`` (the first of tokens that decode
        alike wins) and :func:`truncated_entropy` over every returned alternative. Each is
        ``None`` when unknown (no logprobs, or fewer positions than tokens).
    """
    n = len(token_ids)
    if not n or logprobs is None:
        return None, None, None
    positions = list(logprobs)
    if len(positions) < n:
        return None, None, None
    positions = positions[len(positions) - n :]
    sampled: list[float] = []
    tops: list[dict[str, float]] = []
    entropies: list[float] = []
    for token_id, raw in zip(token_ids, positions, strict=True):
        position = _position(raw)
        chosen = position.get(int(token_id))
        sampled.append(math.nan if chosen is None else float(chosen.logprob))
        if top_k > 0:
            ranked = sorted(position.items(), key=lambda kv: (_rank(kv[1]), -kv[1].logprob))
            top: dict[str, float] = {}
            for alt_id, alt in ranked[:top_k]:
                top.setdefault(_token_text(int(alt_id), alt), float(alt.logprob))
            tops.append(top)
            entropies.append(truncated_entropy([alt.logprob for alt in position.values()]))
    if top_k > 0:
        return tuple(sampled), tuple(tops), tuple(entropies)
    return tuple(sampled), None, None


def completion_to_event(output: Any, *, sample: int, top_k: int) -> TokenEvent | None:
    """Turn one DELTA ``CompletionOutput`` into a :class:`TokenEvent` (``None`` when it is empty).

    Parameters
    ----------
    output
        An object with ``text`` (the new text), ``token_ids`` (the new tokens) and ``logprobs``
        (see :func:`token_logprobs`), as vLLM's ``CompletionOutput`` with
        ``output_kind=RequestOutputKind.DELTA``.
    sample
        The workbench sample index the output belongs to.
    top_k
        The number of alternatives requested.
    """
    text = output.text or ""
    ids = tuple(int(t) for t in (output.token_ids or ()))
    if not text and not ids:
        return None
    lps, tops, ents = token_logprobs(ids, getattr(output, "logprobs", None), top_k)
    return TokenEvent(
        sample=sample, text=text, token_ids=ids, logprobs=lps, entropies=ents, top_logprobs=tops
    )


def forced_event(sample: int, text: str, token_ids: Sequence[int], top_k: int) -> TokenEvent:
    """Return the event of forced text (prefill, ``end_text``, ``continue_text``).

    vLLM did not sample these tokens, so their log-probabilities are unknown: they are ``nan``
    (entropies too, and no alternatives, when ``top_k > 0``), which keeps the per-token arrays of
    the recorded sample aligned with its token ids.
    """
    ids = tuple(int(t) for t in token_ids)
    n = len(ids)
    return TokenEvent(
        sample=sample,
        text=text,
        token_ids=ids,
        forced=True,
        logprobs=(math.nan,) * n if n else None,
        entropies=(math.nan,) * n if n and top_k > 0 else None,
        top_logprobs=({},) * n if n and top_k > 0 else None,
    )


def strip_stop_token(event: TokenEvent, token_id: int, tag: str) -> TokenEvent | None:
    """Remove a trailing stop token (and its text ``tag``) from an event.

    Used when a sample stopped on the closing-thinking token that budget forcing replaces with
    ``continue_text``. Returns ``None`` when nothing is left.
    """
    if not event.token_ids or event.token_ids[-1] != token_id:
        return event
    text = event.text[: -len(tag)] if tag and event.text.endswith(tag) else event.text
    ids = event.token_ids[:-1]
    if not text and not ids:
        return None
    return dataclasses.replace(
        event,
        text=text,
        token_ids=ids,
        logprobs=None if event.logprobs is None else event.logprobs[:-1],
        entropies=None if event.entropies is None else event.entropies[:-1],
        top_logprobs=None if event.top_logprobs is None else event.top_logprobs[:-1],
    )


def finish_event(sample: int, reason: str | None, *, aborted: bool) -> FinishEvent | None:
    """Map vLLM's ``finish_reason`` to a :class:`FinishEvent` (``None`` while unfinished).

    ``"stop"`` and ``"length"`` are kept; ``"abort"`` becomes ``"cancelled"`` when workbench
    aborted the request (``aborted``), else ``"error"``; anything else is an ``"error"``.
    """
    if reason is None:
        return None
    if reason in ("stop", "length"):
        return FinishEvent(sample=sample, finish_reason=reason)
    if reason == "abort":
        if aborted:
            return FinishEvent(sample=sample, finish_reason="cancelled")
        return FinishEvent(sample=sample, finish_reason="error", error="vLLM aborted the request")
    if reason == "error":
        return FinishEvent(
            sample=sample, finish_reason="error", error="vLLM reported an error for the request"
        )
    return FinishEvent(
        sample=sample, finish_reason="error", error=f"unknown finish reason from vLLM: {reason!r}"
    )


def phase_seed(seed: int | None, sample: int, phase: int) -> int | None:
    """Return the seed of one phase of one sample (``None`` when the request has no seed).

    Phase 0 of sample ``i`` uses ``seed + i`` (as vLLM seeds the children of an ``n > 1``
    request); later phases are offset so they do not replay the first phase's random stream.
    """
    if seed is None:
        return None
    return seed + sample + phase * _SEED_STRIDE


def render_prompt(tokenizer: Any, request: GenerationRequest) -> tuple[str, list[int], list[int]]:
    """Render a request's chat prompt with a Hugging Face-style tokenizer.

    Returns
    -------
    tuple
        ``(prompt_text, prompt_ids, prefill_ids)``: the chat template applied with the generation
        prompt (and ``enable_thinking`` when the request sets it) and the model's context split in
        two. The context is the prompt text and ``request.thinking_prefill`` tokenized *together*
        (no special tokens added: the template writes them), exactly as the transformers backend
        tokenizes it, so both backends condition on the same ids. ``prefill_ids`` are the ids
        after the longest prefix shared with the prompt tokenized on its own (``[]`` without a
        prefill); a BPE merge across the boundary moves at most a token or two into the prefill.
        The model's context is ``prompt_ids + prefill_ids``.
    """
    text = chat_prompt_text(tokenizer, request)
    prompt_ids = [int(t) for t in tokenizer.encode(text, add_special_tokens=False)]
    prefill = request.thinking_prefill or ""
    if not prefill:
        return str(text), prompt_ids, []
    context = [int(t) for t in tokenizer.encode(text + prefill, add_special_tokens=False)]
    shared = 0
    for a, b in zip(prompt_ids, context, strict=False):
        if a != b:
            break
        shared += 1
    return str(text), context[:shared], context[shared:]


def single_token_id(tokenizer: Any, text: str) -> int | None:
    """Return the id of ``text`` when the tokenizer encodes it as exactly one token, else ``None``."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    return int(ids[0]) if len(ids) == 1 else None


# --------------------------------------------------------------------------------------------
# Engine helpers run on the backend's loop thread.
# --------------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    cause = exc.__cause__
    if cause is not None:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return text


async def _pump(
    engine: Any,
    prompt: dict[str, Any],
    params: Any,
    request_id: str,
    out: queue.Queue[tuple[str, str, Any]],
) -> None:
    """Feed one vLLM request's outputs into a thread-safe queue (runs on the loop thread).

    Puts ``("output", id, RequestOutput)`` per output, then ``("end", id, None)``, or
    ``("error", id, message)``. Cancelling the task makes vLLM abort the request.
    """
    try:
        async for output in engine.generate(prompt, params, request_id):
            out.put(("output", request_id, output))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        out.put(("error", request_id, _describe(exc)))
    else:
        out.put(("end", request_id, None))


async def _abort_quietly(engine: Any, request_id: str) -> None:
    with contextlib.suppress(Exception):  # the request may be gone already
        await engine.abort(request_id)
