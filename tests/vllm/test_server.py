"""``vllm serve`` (CPU build) with a reasoning parser, started on loopback, and the openai backend.

The server runs for the whole module in its own process group and is killed when the module ends.
Run with ``make test-vllm``.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from workbench.backends import FinishEvent, GenerationRequest, SamplingParams, TokenEvent

from .conftest import MODEL

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(900)]

PROMPT = "What is 17 + 25? Think first."
ONE_SHOT = [
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "<think>\n2 plus 3 makes 5.\n</think>\n\n5"},
    {"role": "user", "content": PROMPT},
]


@pytest.fixture(scope="module")
def backend(server):
    from workbench.backends.openai_compat import OpenAIBackend

    b = OpenAIBackend(MODEL, base_url=server.base_url, timeout=120)
    yield b
    b.close()


def run(backend, request, cancel=None):
    events = list(backend.stream(request, cancel=cancel or threading.Event()))
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    finishes = [e for e in events if isinstance(e, FinishEvent)]
    return tokens, finishes


def text_of(tokens, sample=0):
    return "".join(e.text for e in tokens if e.sample == sample)


def test_reasoning_arrives_in_the_reasoning_field(backend) -> None:
    import httpx

    body = {
        "model": MODEL,
        "messages": [*ONE_SHOT, {"role": "assistant", "content": "<think>\n"}],
        "continue_final_message": True,
        "add_generation_prompt": False,
        "max_tokens": 64,
        "temperature": 0,
    }
    answer = httpx.post(f"{backend.base_url}/chat/completions", json=body, timeout=120).json()
    message = answer["choices"][0]["message"]
    reasoning = message.get("reasoning") or message.get("reasoning_content")
    assert reasoning, message  # the parser split the thinking off the content


def test_prefill_n_logprobs_and_field_format(backend) -> None:
    request = GenerationRequest(
        messages=ONE_SHOT,
        sampling=SamplingParams(n=2, temperature=0.8, seed=1, max_new_tokens=64, logprobs=3),
        thinking_prefill="<think>\n",
    )
    tokens, finishes = run(backend, request)
    assert sorted(f.sample for f in finishes) == [0, 1]
    assert all(f.finish_reason in ("stop", "length") for f in finishes), finishes
    for sample in (0, 1):
        text = text_of(tokens, sample)
        assert text.startswith("<think>\n"), text  # the prefill, continued
        scored = [e for e in tokens if e.sample == sample and e.logprobs]
        assert scored and all(
            e.top_logprobs is not None and 0 < len(e.top_logprobs[0]) <= 3 for e in scored
        )


def test_streamed_reasoning_field_and_recorded_tokens(backend, tmp_path) -> None:
    """Streamed thinking arrives in the reasoning field; the recorder keeps its tokens and format.

    vLLM's streaming parser decides from the prompt's token ids whether reasoning is still open,
    and a closing tag anywhere in the prompt (the one-shot example's earlier turn) reads as
    "ended": everything then streams as content (see the next test). This prompt has no closing
    tag, so the prefilled thinking streams in the reasoning field.
    """
    from workbench.session import Session

    request = GenerationRequest(
        messages=PROMPT,
        sampling=SamplingParams(n=2, temperature=0.8, seed=2, max_new_tokens=48, logprobs=2),
        thinking_prefill="<think>\n",
    )
    events = list(backend.stream(request, cancel=threading.Event()))
    finishes = {e.sample: e for e in events if isinstance(e, FinishEvent)}
    assert sorted(finishes) == [0, 1]
    assert all(f.reasoning_field for f in finishes.values()), finishes

    session = Session(backend, store=tmp_path / "s.db")
    try:
        run_ = session.generate(
            PROMPT,
            n=2,
            max_new_tokens=48,
            temperature=0.8,
            seed=2,
            logprobs=2,
            thinking_prefill="<think>\n",
            recipe="none",
        )
        trajectories = run_.wait()
        assert run_.status == "complete", run_.error
        assert len(trajectories) == 2
        for t in trajectories:
            assert t.backend == "openai"
            assert t.thinking, "the server's reasoning field became the trajectory's thinking"
            # "field" when the server closed the split; a sample cut off while thinking stays
            # "unterminated", which exports keep open
            expected = "field" if "</think>" in t.raw else "unterminated"
            assert t.think_format == expected, (t.think_format, t.raw)
            tokens = t.tokens
            assert tokens is not None and len(tokens.ids) > 0
            assert tokens.offsets is not None and tokens.logprobs is not None
            assert len(tokens.offsets) == len(tokens.logprobs) == len(tokens.ids)
            start = len("<think>\n")  # the forced prefill holds no model tokens
            assert int(tokens.offsets[0][0]) == start
            assert "".join(t.raw[a:b] for a, b in tokens.offsets.tolist()) == t.raw[start:]
            stored = session.store.get(t.id)
            assert stored.think_format == t.think_format and stored.thinking == t.thinking
            assert stored.tokens is not None
            assert np.allclose(stored.tokens.logprobs, tokens.logprobs)
    finally:
        session.store.close()


def test_closing_tag_in_the_prompt_streams_as_inline_content(backend) -> None:
    """With a closing tag in the prompt, vLLM streams everything as content; tags pass through."""
    request = GenerationRequest(
        messages=ONE_SHOT,
        sampling=SamplingParams(n=1, temperature=0, max_new_tokens=48),
        thinking_prefill="<think>\n",
    )
    events = list(backend.stream(request, cancel=threading.Event()))
    finish = next(e for e in events if isinstance(e, FinishEvent))
    assert not finish.reasoning_field
    text = "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert text.startswith("<think>\n") and text.count("<think>") == 1, text


def test_cancel_closes_the_stream_and_the_server_aborts(backend, server) -> None:
    cancel = threading.Event()
    request = GenerationRequest(
        messages="Write a very long story about the sea.",
        sampling=SamplingParams(temperature=0.8, max_new_tokens=1500),
    )
    seen, cancelled_at, finishes = 0, None, []
    for event in backend.stream(request, cancel=cancel):
        if isinstance(event, TokenEvent) and event.text:
            seen += 1
            if seen == 3:
                cancel.set()
                cancelled_at = time.perf_counter()
        elif isinstance(event, FinishEvent):
            finishes.append(event)
    assert cancelled_at is not None
    latency = time.perf_counter() - cancelled_at
    print(f"cancel latency: {latency * 1000:.0f} ms")
    assert latency < 1.0
    assert [f.finish_reason for f in finishes] == ["cancelled"]
    deadline = time.monotonic() + 20
    while "abort" not in server.log_text().lower() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "abort" in server.log_text().lower(), server.log_tail()
    _, after = run(
        backend,
        GenerationRequest(
            messages="Say hi.", sampling=SamplingParams(temperature=0, max_new_tokens=4)
        ),
    )
    assert [f.finish_reason for f in after] in (["stop"], ["length"])


def test_server_errors_are_readable(backend) -> None:
    too_long = GenerationRequest(messages="word " * 3000, sampling=SamplingParams(max_new_tokens=8))
    _, finishes = run(backend, too_long)
    assert [f.finish_reason for f in finishes] == ["error"]
    assert "HTTP 400" in finishes[0].error and "context" in finishes[0].error.lower(), finishes
    from workbench.backends.openai_compat import OpenAIBackend

    bad = OpenAIBackend(MODEL, base_url=backend.base_url, extra_body={"min_p": 2.0})
    _, finishes = run(
        bad, GenerationRequest(messages="hi", sampling=SamplingParams(max_new_tokens=4))
    )
    bad.close()
    assert [f.finish_reason for f in finishes] == ["error"]
    assert "HTTP 400" in finishes[0].error and "min_p" in finishes[0].error, finishes


def test_eight_concurrent_runs_all_finish(backend, tmp_path) -> None:
    """Eight sessions (one run each, so they overlap) share the backend; the server queues them."""
    from workbench.session import Session

    sessions = [Session(backend, store=tmp_path / f"c{i}.db") for i in range(8)]
    progress = [0] * 8

    def counter(i):
        def count(event):
            if isinstance(event, TokenEvent):
                progress[i] += 1

        return count

    try:
        started = time.perf_counter()
        runs = [
            s.generate(
                f"Tell me a fact about the number {i}.",
                max_new_tokens=32,
                temperature=0.7,
                seed=i,
                recipe="none",
                subscribers=[counter(i)],
            )
            for i, s in enumerate(sessions)
        ]
        # progress is visible while the server queues: run.progress() of a run still in flight
        seen_in_flight: set[int] = set()
        deadline = time.monotonic() + 600
        while not all(r.done for r in runs) and time.monotonic() < deadline:
            for i, r in enumerate(runs):
                p = r.progress()
                if p["status"] == "running" and p["tokens"] > 0:
                    seen_in_flight.add(i)
            time.sleep(0.1)
        done = [r.wait() for r in runs]
        print(
            f"8 concurrent runs: {time.perf_counter() - started:.1f} s; in flight {seen_in_flight}"
        )
        assert [r.status for r in runs] == ["complete"] * 8, [r.error for r in runs]
        assert all(len(t) == 1 and t[0].raw for t in done)
        assert all(p > 0 for p in progress), progress
        assert len(seen_in_flight) >= 2, "runs made visible progress while others were queued"
        assert sum(len(s.store.list_trajectories()) for s in sessions) == 8
    finally:
        for s in sessions:
            s.store.close()
