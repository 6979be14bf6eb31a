"""Sampling continuations of a kept prefix: one request per boundary, samples reported as they end.

Both modes of the importance engine and the DTO early-exit probe
(:func:`workbench.pairs.probe.probe_trajectory`) sample through :func:`sample_continuations`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.backends.base import (
    Backend,
    BudgetForcing,
    FinishEvent,
    GenerationRequest,
    SamplingParams,
    TokenEvent,
)
from workbench.errors import WorkbenchError

__all__ = ["Continuation", "sample_continuations", "split_answer"]


@dataclass(slots=True)
class Continuation:
    """What one sample wrote after the prefill, with its token count and request time."""

    sample: int
    text: str
    n_tokens: int
    elapsed_s: float
    finish_reason: str | None


def split_answer(text: str, close: str) -> str:
    """Return the answer part of a continuation: what follows its last closing tag, else all."""
    if close and close in text:
        text = text[text.rfind(close) + len(close) :]
    return text.strip()


def sample_continuations(
    backend: Backend,
    messages: Sequence[dict[str, Any]],
    prefill: str,
    *,
    n: int,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    seed: int | None,
    enable_thinking: bool | None = None,
    stop: tuple[str, ...] = (),
    budget: BudgetForcing | None = None,
    on_finish: Callable[[Continuation], None] | None = None,
    cancel: threading.Event | None = None,
    what: str = "sampling continuations",
) -> list[Continuation]:
    """Sample ``n`` continuations of ``prefill`` (the start of the assistant turn) in one request.

    Parameters
    ----------
    backend
        Any backend that takes a ``thinking_prefill``.
    messages
        The prompt, as it was sent for the original trajectory.
    prefill
        The forced start of the assistant turn; removed from the returned texts.
    n, max_new_tokens, temperature, top_p, seed, stop
        Sampling.
    budget
        Budget forcing of the continued thinking (resample mode).
    on_finish
        Called with each continuation as soon as its sample ends (samples of a batch end at
        different times; a caller stores them here, so a killed run keeps what finished).
    cancel
        Set to stop the request.
    what
        Named in the error raised when the backend reports one.

    Raises
    ------
    WorkbenchError
        When the backend reports an error for a sample.
    """
    request = GenerationRequest(
        messages=[dict(m) for m in messages],
        sampling=SamplingParams(
            n=n,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            seed=seed,
            stop=stop,
        ),
        enable_thinking=enable_thinking,
        thinking_prefill=prefill,
        budget=budget,
    )
    texts = [""] * n
    tokens = [0] * n
    done: list[Continuation | None] = [None] * n
    started = time.perf_counter()
    for event in backend.stream(request, cancel=cancel or threading.Event()):
        if isinstance(event, TokenEvent):
            texts[event.sample] += event.text
            if not event.forced:
                tokens[event.sample] += max(1, len(event.token_ids)) if event.text else 0
        elif isinstance(event, FinishEvent):
            if event.finish_reason == "error":
                raise WorkbenchError(f"{what} failed: {event.error}")
            text = texts[event.sample]
            if text.startswith(prefill):
                text = text[len(prefill) :]
            result = Continuation(
                event.sample,
                text,
                tokens[event.sample],
                time.perf_counter() - started,
                event.finish_reason,
            )
            done[event.sample] = result
            if on_finish is not None:
                on_finish(result)
    return [c for c in done if c is not None]
