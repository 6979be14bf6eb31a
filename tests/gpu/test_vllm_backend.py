"""The in-process vLLM backend on a real GPU with the default model (smollm2-135m).

Run on a CUDA machine with vLLM installed: ``pytest -m gpu tests/gpu``. Elsewhere every test here
skips with the reason.
"""

from __future__ import annotations

import threading
import time

import pytest

from workbench.backends import (
    BudgetForcing,
    FinishEvent,
    GenerationRequest,
    SamplingParams,
    TokenEvent,
)

pytestmark = pytest.mark.gpu

PROMPT = "Write a long story about a lighthouse keeper, with many details."


@pytest.fixture(scope="module")
def backend():
    pytest.importorskip(
        "vllm",
        reason="vLLM is not installed (pip install 'thinking-workbench[vllm]' on a CUDA machine)",
    )
    torch = pytest.importorskip("torch", reason="torch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: torch.cuda.is_available() is False")
    from workbench.backends.models import ModelNotAvailableError
    from workbench.backends.vllm_engine import VLLMBackend

    try:
        b = VLLMBackend(
            "smollm2-135m",
            gpu_memory_utilization=0.3,
            max_model_len=2048,
            engine_kwargs={"enforce_eager": True},
        )
    except ModelNotAvailableError as exc:
        pytest.skip(f"the default model is not available: {exc}")
    yield b
    b.close()


def _run(backend, request, cancel=None):
    events = list(backend.stream(request, cancel=cancel or threading.Event()))
    finishes = [e for e in events if isinstance(e, FinishEvent)]
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    return tokens, finishes


def _text(tokens, sample):
    return "".join(e.text for e in tokens if e.sample == sample)


def test_model_name_and_engine_started(backend) -> None:
    assert backend.name == "vllm"
    assert backend.model_name == "smollm2-135m"


def test_stream_two_greedy_samples_with_logprobs(backend) -> None:
    request = GenerationRequest(
        messages="What is the capital of France? Answer in one sentence.",
        sampling=SamplingParams(n=2, temperature=0, max_new_tokens=32, logprobs=3),
    )
    tokens, finishes = _run(backend, request)
    assert sorted(f.sample for f in finishes) == [0, 1]
    assert all(f.finish_reason in ("stop", "length") for f in finishes)
    for sample in (0, 1):
        assert _text(tokens, sample).strip()
        ids = [t for e in tokens if e.sample == sample for t in e.token_ids]
        assert 0 < len(ids) <= 32
    sampled = [e for e in tokens if e.token_ids]
    assert sampled
    for e in sampled:
        assert e.logprobs is not None and len(e.logprobs) == len(e.token_ids)
        assert all(lp <= 0 for lp in e.logprobs)
        assert e.top_logprobs is not None and all(0 < len(t) <= 3 for t in e.top_logprobs)
        assert e.entropies is not None and all(h >= 0 for h in e.entropies)
    # greedy: the sampled token is the top alternative
    first = sampled[0]
    assert first.logprobs is not None and first.top_logprobs is not None
    assert first.logprobs[0] == pytest.approx(max(first.top_logprobs[0].values()), abs=1e-4)


def test_no_logprobs_requested_still_gives_sampled_logprob(backend) -> None:
    request = GenerationRequest(
        messages="Say hello.", sampling=SamplingParams(temperature=0, max_new_tokens=8)
    )
    tokens, finishes = _run(backend, request)
    assert len(finishes) == 1
    sampled = [e for e in tokens if e.token_ids]
    assert sampled and all(e.logprobs is not None for e in sampled)
    assert all(e.top_logprobs is None and e.entropies is None for e in sampled)


def test_cancel_after_three_tokens(backend) -> None:
    cancel = threading.Event()
    request = GenerationRequest(
        messages=PROMPT, sampling=SamplingParams(n=2, temperature=0.8, max_new_tokens=1500)
    )
    seen = 0
    cancelled_at = None
    finishes = []
    for event in backend.stream(request, cancel=cancel):
        if isinstance(event, TokenEvent) and event.token_ids:
            seen += 1
            if seen == 3:
                cancel.set()
                cancelled_at = time.perf_counter()
        elif isinstance(event, FinishEvent):
            finishes.append(event)
    assert cancelled_at is not None
    elapsed = time.perf_counter() - cancelled_at
    assert elapsed < 1.0, elapsed
    assert sorted(f.sample for f in finishes) == [0, 1]
    assert all(f.finish_reason == "cancelled" for f in finishes)
    # the engine is still usable after an abort
    _, after = _run(
        backend,
        GenerationRequest(
            messages="Say hi.", sampling=SamplingParams(temperature=0, max_new_tokens=4)
        ),
    )
    assert [f.finish_reason for f in after] in (["stop"], ["length"])


def test_budget_forcing_ends_thinking(backend) -> None:
    budget = BudgetForcing(max_thinking_tokens=8)
    request = GenerationRequest(
        messages="What is 17 * 23?",
        sampling=SamplingParams(temperature=0, max_new_tokens=32),
        thinking_prefill="<think>\n",
        budget=budget,
    )
    tokens, finishes = _run(backend, request)
    assert len(finishes) == 1 and finishes[0].finish_reason in ("stop", "length")
    assert tokens[0].forced and tokens[0].text == "<think>\n"
    text = _text(tokens, 0)
    assert text.startswith("<think>\n")
    assert "</think>" in text
    forced_end = [e for e in tokens if e.forced and "</think>" in e.text]
    if forced_end:  # SmolLM2 is not a reasoning model: it (almost) never closes by itself
        assert forced_end[0].text == budget.end_text
        before = tokens[: tokens.index(forced_end[0])]
        assert sum(len(e.token_ids) for e in before if not e.forced) == 8
    sampled = sum(len(e.token_ids) for e in tokens if not e.forced)
    assert sampled <= 32


def test_min_thinking_refused_without_single_close_token(backend) -> None:
    from workbench.errors import ValidationError

    request = GenerationRequest(
        messages="hi",
        sampling=SamplingParams(max_new_tokens=8),
        budget=BudgetForcing(min_thinking_tokens=4, max_thinking_tokens=8),
    )
    with pytest.raises(ValidationError, match="single token"):
        list(backend.stream(request, cancel=threading.Event()))


def test_close_frees_the_engine() -> None:
    pytest.importorskip(
        "vllm",
        reason="vLLM is not installed (pip install 'thinking-workbench[vllm]' on a CUDA machine)",
    )
    torch = pytest.importorskip("torch", reason="torch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: torch.cuda.is_available() is False")
    from workbench.backends.vllm_engine import VLLMBackend
    from workbench.errors import WorkbenchError

    with VLLMBackend(
        "smollm2-135m",
        gpu_memory_utilization=0.3,
        max_model_len=1024,
        engine_kwargs={"enforce_eager": True},
    ) as b:
        runner = b._runner
        assert runner is not None and runner.alive
        free_before_close, _ = torch.cuda.mem_get_info()
        _run(b, GenerationRequest(messages="hi", sampling=SamplingParams(max_new_tokens=4)))
    free_after, _ = torch.cuda.mem_get_info()
    assert free_after > free_before_close  # the engine core's memory came back
    assert not runner.alive  # the event loop thread is gone
    with pytest.raises(WorkbenchError, match="closed"):
        list(b.stream(GenerationRequest(messages="hi"), cancel=threading.Event()))
