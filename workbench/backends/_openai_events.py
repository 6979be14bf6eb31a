"""Turning an OpenAI-compatible server's stream chunks into workbench events (per sample).

Used by :class:`workbench.backends.openai_compat.OpenAIBackend`; see that module for how a
sample's text is recorded (reasoning deltas wrapped in :data:`THINK_OPEN` / :data:`THINK_CLOSE`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.backends._openai_wire import _parse_logprobs
from workbench.backends.base import Event, FinishEvent, TokenEvent
from workbench.think import END_THINKING, THINKING_PREFILL

__all__ = [
    "THINK_CLOSE",
    "THINK_OPEN",
    "SampleState",
    "chunk_events",
    "emit",
    "finish",
    "finish_open",
]

THINK_OPEN = THINKING_PREFILL
"""Emitted before the first reasoning delta of a sample (:data:`workbench.think.THINKING_PREFILL`)."""

THINK_CLOSE = END_THINKING
"""Emitted once when a sample's answer starts after its reasoning (:data:`workbench.think.END_THINKING`)."""


@dataclass(slots=True)
class SampleState:
    """Per-sample bookkeeping while a stream is parsed."""

    started: bool = False  # an event of this sample was yielded (its prefill is out)
    seen: bool = False  # the server sent a choice for this sample
    in_think: bool = False  # inside a <think> block (opened by the wrapper or by the prefill)
    reasoning_seen: bool = False  # the server sent reasoning deltas for this sample
    finished: bool = False


def chunk_events(
    chunk: dict[str, Any], samples: list[SampleState], prefill: str, want_top: bool
) -> Iterator[Event]:
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", 0)
        if not isinstance(index, int) or not 0 <= index < len(samples):
            continue
        st = samples[index]
        if st.finished:
            continue
        st.seen = True
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        reasoning = delta.get("reasoning")
        if not isinstance(reasoning, str) or not reasoning:
            reasoning = delta.get("reasoning_content")
        content = delta.get("content")
        pieces: list[str] = []
        wrappers: set[int] = set()
        if isinstance(reasoning, str) and reasoning:
            if not st.in_think:
                wrappers.add(len(pieces))
                pieces.append(THINK_OPEN)
                st.in_think = True
            st.reasoning_seen = True
            pieces.append(reasoning)
        if isinstance(content, str) and content:
            if st.in_think and st.reasoning_seen:
                wrappers.add(len(pieces))
                pieces.append(THINK_CLOSE)
            st.in_think = False
            pieces.append(content)
        parsed = _parse_logprobs(choice.get("logprobs"), want_top)
        last_model_piece = max((k for k in range(len(pieces)) if k not in wrappers), default=None)
        if parsed is not None and last_model_piece is None:
            last_model_piece = len(pieces)
            pieces.append("")  # logprobs of tokens that carry no text (e.g. a </think> token)
        for k, text in enumerate(pieces):
            if k == last_model_piece and parsed is not None:
                logprobs, top, entropies, token_texts = parsed
                event = TokenEvent(
                    sample=index,
                    text=text,
                    logprobs=logprobs,
                    top_logprobs=top,
                    entropies=entropies,
                    token_texts=token_texts,
                )
            else:
                event = TokenEvent(sample=index, text=text)
            yield from emit(index, samples, prefill, event)
        reason = choice.get("finish_reason")
        if reason is not None:
            if reason in ("stop", "length"):
                yield from finish(index, samples, prefill, reason)
            else:
                yield from finish(
                    index,
                    samples,
                    prefill,
                    "error",
                    f"the server ended sample {index} with finish_reason {reason!r}",
                )


def emit(index: int, samples: list[SampleState], prefill: str, event: Event) -> Iterator[Event]:
    st = samples[index]
    if not st.started:
        st.started = True
        if prefill:
            yield TokenEvent(sample=index, text=prefill, forced=True)
    if isinstance(event, FinishEvent):
        st.finished = True
    yield event


def finish(
    index: int,
    samples: list[SampleState],
    prefill: str,
    reason: str,
    error: str | None = None,
) -> Iterator[Event]:
    finish = FinishEvent(
        sample=index,
        finish_reason=reason,
        error=error,
        reasoning_field=samples[index].reasoning_seen,
    )
    yield from emit(index, samples, prefill, finish)


def finish_open(
    samples: list[SampleState], prefill: str, reason: str, error: str | None = None
) -> Iterator[Event]:
    for i, st in enumerate(samples):
        if not st.finished:
            yield from finish(i, samples, prefill, reason, error)
