"""The vLLM backend's pure parts, on objects shaped like vLLM's (no vLLM, no GPU needed).

The small dataclasses below mirror the attributes workbench reads from vLLM's
``vllm.outputs.CompletionOutput`` and ``vllm.logprobs.Logprob``: they exercise our translation
code on vLLM's data shapes; the engine itself is only tested in tests/gpu.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from workbench.backends import BudgetForcing, FinishEvent, GenerationRequest, TokenEvent
from workbench.backends._loop_thread import LoopThread
from workbench.backends.models import ModelNotAvailableError, resolve_model
from workbench.backends.vllm_engine import (
    CLOSE_TAG,
    NOT_INSTALLED_MESSAGE,
    VLLMBackend,
    VLLMNotInstalledError,
    completion_to_event,
    finish_event,
    phase_seed,
    plan_phase,
    render_prompt,
    single_token_id,
    strip_stop_token,
    thinking_open,
    token_logprobs,
)
from workbench.errors import WorkbenchError

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Logprob:  # vllm.logprobs.Logprob
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class CompletionOutput:  # vllm.outputs.CompletionOutput (the fields workbench reads)
    index: int = 0
    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    cumulative_logprob: float | None = None
    logprobs: list[dict[int, Logprob]] | None = None
    finish_reason: str | None = None
    stop_reason: int | str | None = None


def _position(
    sampled: int, sampled_lp: float, sampled_rank: int, top: list[tuple[int, float, str]]
):
    d = {tid: Logprob(lp, rank=i + 1, decoded_token=txt) for i, (tid, lp, txt) in enumerate(top)}
    if sampled not in d:
        d[sampled] = Logprob(sampled_lp, rank=sampled_rank, decoded_token=f"t{sampled}")
    return d


# -- imports -------------------------------------------------------------------------------------


def test_importing_workbench_does_not_import_vllm() -> None:
    code = (
        "import sys, workbench, workbench.backends, workbench.backends.vllm_engine\n"
        "bad = sorted(m for m in sys.modules if m == 'vllm' or m.startswith('vllm.'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None, reason="vLLM is installed on this machine"
)
def test_constructor_without_vllm_says_how_to_install() -> None:
    with pytest.raises(VLLMNotInstalledError) as info:
        VLLMBackend("smollm2-135m")
    assert str(info.value) == NOT_INSTALLED_MESSAGE
    assert "pip install 'thinking-workbench[vllm]'" in str(info.value)
    assert "vllm serve" in str(info.value)
    assert isinstance(info.value, WorkbenchError) and isinstance(info.value, ImportError)
    assert VLLMBackend.name == "vllm"


# -- logprobs ------------------------------------------------------------------------------------


def test_token_logprobs_sampled_only() -> None:
    positions = [{5: Logprob(-0.5, 1, "a")}, {7: Logprob(-1.25, 3, "b")}]
    lps, tops, ents = token_logprobs([5, 7], positions, 0)
    assert lps == (-0.5, -1.25)
    assert tops is None and ents is None


def test_token_logprobs_top_k_by_rank_and_sampled_outside_top() -> None:
    # the sampled token 9 has rank 4: vLLM adds it to the dict beside the top 2
    pos = _position(9, -3.0, 4, [(1, -0.2, "x"), (2, -1.9, "y")])
    lps, tops, ents = token_logprobs([9], [pos], 2)
    assert lps == (-3.0,)
    assert tops == ({"x": -0.2, "y": -1.9},)  # top-2 by rank; the sampled one is not among them
    expected = -sum(math.exp(v) * v for v in (-0.2, -1.9, -3.0))
    assert ents is not None and ents[0] == pytest.approx(expected)


def test_token_logprobs_without_rank_sorts_by_logprob_and_dedupes_text() -> None:
    pos = {
        3: Logprob(-2.0, None, "same"),
        4: Logprob(-0.1, None, "same"),
        5: Logprob(-0.7, None, None),
    }
    _, tops, _ = token_logprobs([4], [pos], 3)
    assert tops == ({"same": -0.1, "<5>": -0.7},)


def test_token_logprobs_uses_the_last_positions_and_handles_missing() -> None:
    cumulative = [{1: Logprob(-9.0)}, {2: Logprob(-0.3)}, {3: Logprob(-0.4)}]
    lps, _, _ = token_logprobs([2, 3], cumulative, 0)
    assert lps == (-0.3, -0.4)
    assert token_logprobs([2, 3], None, 0) == (None, None, None)
    assert token_logprobs([], cumulative, 0) == (None, None, None)  # no "[-0:]" surprise
    assert token_logprobs([2, 3], [{2: Logprob(-0.3)}], 0) == (None, None, None)
    lps, _, _ = token_logprobs([8], [{2: Logprob(-0.3)}], 0)
    assert lps is not None and math.isnan(lps[0])


def test_token_logprobs_accepts_mapping_like_positions() -> None:
    class Position:  # a mapping-like position that is not a dict (e.g. flat logprobs)
        def items(self):
            return [(6, Logprob(-0.01, 1, "z"))]

    lps, tops, _ = token_logprobs([6], [Position()], 1)
    assert lps == (-0.01,) and tops == ({"z": -0.01},)


def test_completion_to_event() -> None:
    out = CompletionOutput(
        text=" world",
        token_ids=[11, 12],
        logprobs=[_position(11, -0.1, 1, [(11, -0.1, " wor")]), _position(12, -0.2, 1, [])],
    )
    event = completion_to_event(out, sample=1, top_k=1)
    assert event == TokenEvent(
        sample=1,
        text=" world",
        token_ids=(11, 12),
        logprobs=(-0.1, -0.2),
        entropies=event.entropies,
        top_logprobs=({" wor": -0.1}, {"t12": -0.2}),
    )
    assert event.entropies is not None and len(event.entropies) == 2
    assert not event.forced


def test_completion_to_event_empty_and_no_logprobs() -> None:
    assert completion_to_event(CompletionOutput(finish_reason="stop"), sample=0, top_k=0) is None
    event = completion_to_event(CompletionOutput(text="hi", token_ids=[1]), sample=0, top_k=5)
    assert event is not None and event.logprobs is None and event.top_logprobs is None


def test_strip_stop_token() -> None:
    event = TokenEvent(
        sample=0,
        text="so 4</think>",
        token_ids=(10, 20, 99),
        logprobs=(-1.0, -2.0, -3.0),
        entropies=(0.1, 0.2, 0.3),
        top_logprobs=({"so": -1.0}, {" 4": -2.0}, {CLOSE_TAG: -3.0}),
    )
    stripped = strip_stop_token(event, 99, CLOSE_TAG)
    assert stripped is not None
    assert stripped.text == "so 4" and stripped.token_ids == (10, 20)
    assert stripped.logprobs == (-1.0, -2.0) and stripped.entropies == (0.1, 0.2)
    assert stripped.top_logprobs == ({"so": -1.0}, {" 4": -2.0})
    assert strip_stop_token(event, 42, CLOSE_TAG) is event  # not ending with that token
    only = TokenEvent(sample=0, text=CLOSE_TAG, token_ids=(99,))
    assert strip_stop_token(only, 99, CLOSE_TAG) is None
    hidden = TokenEvent(sample=0, text="x", token_ids=(5, 99))  # a special token: no text
    assert strip_stop_token(hidden, 99, CLOSE_TAG) == TokenEvent(sample=0, text="x", token_ids=(5,))


@pytest.mark.parametrize(
    ("reason", "aborted", "expected", "has_error"),
    [
        ("stop", False, "stop", False),
        ("length", False, "length", False),
        ("abort", True, "cancelled", False),
        ("abort", False, "error", True),
        ("error", False, "error", True),
        ("weird", False, "error", True),
    ],
)
def test_finish_event(reason: str, aborted: bool, expected: str, has_error: bool) -> None:
    event = finish_event(3, reason, aborted=aborted)
    assert isinstance(event, FinishEvent)
    assert event.sample == 3 and event.finish_reason == expected
    assert (event.error is not None) == has_error


def test_finish_event_unfinished() -> None:
    assert finish_event(0, None, aborted=False) is None


# -- thinking and budget forcing -----------------------------------------------------------------


def test_thinking_open() -> None:
    assert thinking_open("")  # no tags: everything counts as thinking
    assert thinking_open("<|im_start|>assistant\n<think>\nhmm")
    assert not thinking_open("<think>\nhmm</think>\n\nThe answer")
    assert not thinking_open("answer</think>")  # close-only format
    assert thinking_open("<think>a</think> b <think>c")
    # Qwen3's template with enable_thinking=False writes an empty, closed block
    assert not thinking_open("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_plan_phase_without_budget_or_after_thinking() -> None:
    kw = {"max_new_tokens": 32, "continues": 0}
    assert plan_phase(generated=0, thinking=True, budget=None, **kw) == ("", 32, False)
    budget = BudgetForcing(max_thinking_tokens=8)
    assert plan_phase(generated=5, thinking=False, budget=budget, **kw) == ("", 27, False)
    assert plan_phase(generated=32, thinking=True, budget=budget, **kw) == ("", 0, False)


def test_plan_phase_max_thinking() -> None:
    budget = BudgetForcing(max_thinking_tokens=8)
    kw = {"max_new_tokens": 32, "continues": 0, "thinking": True, "budget": budget}
    assert plan_phase(generated=0, **kw) == ("", 8, False)
    assert plan_phase(generated=3, **kw) == ("", 5, False)  # a phase cut short: go on to 8
    assert plan_phase(generated=8, **kw) == (budget.end_text, 24, False)
    small = {**kw, "max_new_tokens": 6}
    assert plan_phase(generated=0, **small) == ("", 6, False)  # the overall budget binds first
    zero = BudgetForcing(max_thinking_tokens=0)
    assert plan_phase(generated=0, **{**kw, "budget": zero}) == (zero.end_text, 32, False)


def test_plan_phase_min_thinking() -> None:
    budget = BudgetForcing(min_thinking_tokens=10, max_thinking_tokens=20, max_continues=2)
    kw = {"max_new_tokens": 100, "thinking": True, "budget": budget}
    assert plan_phase(generated=0, continues=0, **kw) == ("", 10, True)
    assert plan_phase(generated=4, continues=1, **kw) == ("", 6, True)
    assert plan_phase(generated=4, continues=2, **kw) == ("", 16, False)  # no continues left
    assert plan_phase(generated=10, continues=0, **kw) == ("", 10, False)
    assert plan_phase(generated=20, continues=0, **kw) == (budget.end_text, 80, False)
    only_min = BudgetForcing(min_thinking_tokens=10)
    assert plan_phase(generated=12, continues=0, **{**kw, "budget": only_min}) == ("", 88, False)


def test_phase_seed() -> None:
    assert phase_seed(None, 1, 0) is None
    assert phase_seed(7, 0, 0) == 7 and phase_seed(7, 2, 0) == 9
    assert len({phase_seed(7, s, p) for s in range(4) for p in range(4)}) == 16


# -- prompt rendering with a real tokenizer ------------------------------------------------------


@pytest.fixture(scope="module")
def smollm_tokenizer():
    pytest.importorskip("transformers", reason="transformers is not installed")
    try:
        path = resolve_model("smollm2-135m", convert=False)
    except ModelNotAvailableError as exc:
        pytest.skip(f"the default model is not converted yet: {exc}")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def test_render_prompt_with_prefill(smollm_tokenizer) -> None:
    request = GenerationRequest(messages="What is 2+2?", thinking_prefill="<think>\n")
    text, prompt_ids, prefill_ids = render_prompt(smollm_tokenizer, request)
    assert text.endswith("<|im_start|>assistant\n") and "What is 2+2?" in text
    assert smollm_tokenizer.decode(prompt_ids) == text
    assert smollm_tokenizer.decode(prefill_ids) == "<think>\n"
    assert thinking_open(text[-64:] + "<think>\n")


@pytest.mark.parametrize("prefill", ["<think>\n", "<think>\nLet me", "\n\nOkay, so", "ing 2+2"])
def test_render_prompt_context_is_the_transformers_context(smollm_tokenizer, prefill) -> None:
    # Both backends must condition on the same ids: the prompt and prefill tokenized together
    from workbench.backends.hf import render_prompt as hf_render_prompt

    request = GenerationRequest(messages="What is 2+2?", thinking_prefill=prefill)
    _, prompt_ids, prefill_ids = render_prompt(smollm_tokenizer, request)
    expected = smollm_tokenizer.encode(
        hf_render_prompt(smollm_tokenizer, request), add_special_tokens=False
    )
    assert prompt_ids + prefill_ids == expected
    assert prefill_ids, "the prefill keeps at least one token of its own"
    assert smollm_tokenizer.decode(prompt_ids + prefill_ids).endswith(prefill)


def test_render_prompt_enable_thinking_and_no_prefill(smollm_tokenizer) -> None:
    request = GenerationRequest(messages="hi", enable_thinking=False)
    text, _, prefill_ids = render_prompt(smollm_tokenizer, request)
    assert prefill_ids == [] and text.endswith("assistant\n")


def test_single_token_id(smollm_tokenizer) -> None:
    # SmolLM2 has no </think> token: min_thinking_tokens is refused for it on vLLM
    assert single_token_id(smollm_tokenizer, CLOSE_TAG) is None
    im_end = single_token_id(smollm_tokenizer, "<|im_end|>")
    assert im_end is not None and smollm_tokenizer.decode([im_end]) == "<|im_end|>"


# -- the event-loop thread -----------------------------------------------------------------------


def test_loop_thread_runs_calls_and_stops() -> None:
    import asyncio

    runner = LoopThread("test-loop")
    try:
        assert runner.alive
        assert runner.call(lambda a, b=0: a + b, 2, b=3) == 5
        assert runner.call(threading.current_thread).name == "test-loop"

        async def forever() -> None:
            await asyncio.Event().wait()

        pending = runner.submit(forever())
    finally:
        runner.stop(timeout=5)
    assert not runner.alive
    assert pending.cancelled()
