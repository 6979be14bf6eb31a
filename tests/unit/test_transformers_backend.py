"""The transformers backend on tiny random models (code paths) and on the real default model."""

from __future__ import annotations

import threading

import pytest

torch = pytest.importorskip("torch", reason="the transformers extra is not installed")

from tests.fixtures.tiny_models import tiny_model  # noqa: E402
from workbench import ValidationError  # noqa: E402
from workbench.backends import (  # noqa: E402
    BudgetForcing,
    FinishEvent,
    GenerationRequest,
    RunControl,
    SamplingParams,
    TokenEvent,
)
from workbench.backends.hf import TransformersBackend, render_prompt  # noqa: E402


@pytest.fixture(scope="module")
def tiny() -> TransformersBackend:
    model, tokenizer = tiny_model("qwen3")
    return TransformersBackend.from_objects(model, tokenizer, name="tiny-qwen3")


def run(backend, request, control=None, cancel=None):
    texts: dict[int, str] = {}
    events: dict[int, list[TokenEvent]] = {}
    finishes: dict[int, FinishEvent] = {}
    for ev in backend.stream(request, cancel=cancel or threading.Event(), control=control):
        if isinstance(ev, TokenEvent):
            texts[ev.sample] = texts.get(ev.sample, "") + ev.text
            events.setdefault(ev.sample, []).append(ev)
        else:
            assert ev.sample not in finishes, "one finish per sample"
            finishes[ev.sample] = ev
    return texts, events, finishes


def greedy(n=1, max_new_tokens=16, **kw) -> SamplingParams:
    return SamplingParams(n=n, temperature=0, max_new_tokens=max_new_tokens, **kw)


def test_greedy_matches_model_generate(tiny: TransformersBackend) -> None:
    req = GenerationRequest(messages="hello", sampling=greedy(max_new_tokens=20))
    _, events, finishes = run(tiny, req)
    prompt = render_prompt(tiny.tokenizer, req)
    ids = tiny.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    reference = tiny.model.generate(ids, max_new_tokens=20, do_sample=False, eos_token_id=None)
    expected = reference[0, ids.shape[1] :].tolist()
    got = [t for ev in events[0] for t in ev.token_ids]
    n_eos = len(expected)
    for i, t in enumerate(expected):
        if t in tiny.eos_ids:
            n_eos = i
            break
    assert got[:n_eos] == expected[:n_eos]
    assert finishes[0].finish_reason in ("stop", "length")


def test_logprobs_and_entropy_are_exact(tiny: TransformersBackend) -> None:
    req = GenerationRequest(
        messages="abc",
        sampling=SamplingParams(temperature=1.0, seed=7, max_new_tokens=12, logprobs=3),
    )
    _, events, _ = run(tiny, req)
    prompt = render_prompt(tiny.tokenizer, req)
    prompt_ids = tiny.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    gen = [ev.token_ids[0] for ev in events[0]]
    full = torch.tensor([prompt_ids + gen])
    with torch.no_grad():
        logits = tiny.model(full).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    for k, ev in enumerate(events[0]):
        row = logp[len(prompt_ids) - 1 + k]
        assert ev.logprobs[0] == pytest.approx(float(row[gen[k]]), abs=1e-4)
        entropy = float(-(row.exp() * row).sum())
        assert ev.entropies[0] == pytest.approx(entropy, abs=1e-4)
        assert ev.top_logprobs is not None and len(ev.top_logprobs[0]) == 3
        assert max(ev.top_logprobs[0].values()) == pytest.approx(float(row.max()), abs=1e-4)


def test_seeded_sampling_is_reproducible_and_samples_differ(tiny: TransformersBackend) -> None:
    req = GenerationRequest(
        messages="x", sampling=SamplingParams(n=3, temperature=1.0, seed=11, max_new_tokens=16)
    )
    a, _, _ = run(tiny, req)
    b, _, _ = run(tiny, req)
    assert a == b
    assert len(set(a.values())) > 1


def test_prefill_and_budget_forcing(tiny: TransformersBackend) -> None:
    req = GenerationRequest(
        messages="q",
        sampling=SamplingParams(n=2, temperature=1.0, seed=3, max_new_tokens=40),
        thinking_prefill="<think>\n",
        budget=BudgetForcing(max_thinking_tokens=6),
    )
    texts, events, _ = run(tiny, req)
    for i in range(2):
        assert texts[i].startswith("<think>\n")
        assert events[i][0].forced and events[i][0].text == "<think>\n"
        forced = "".join(ev.text for ev in events[i][1:] if ev.forced)
        assert forced == "\n</think>\n\n"
        sampled_before = 0
        for ev in events[i][1:]:
            if ev.forced:
                break
            sampled_before += 1
        assert sampled_before == 6


def test_min_thinking_replaces_an_early_close_with_wait(tiny: TransformersBackend) -> None:
    close_id = tiny.close_tag_id
    assert close_id is not None

    def favour_close(module, inputs, output):  # the model wants to close its thinking at once
        output[..., close_id] += 100.0
        return output

    hook = tiny.model.lm_head.register_forward_hook(favour_close)
    try:
        req = GenerationRequest(
            messages="q",
            sampling=greedy(max_new_tokens=14),
            thinking_prefill="<think>\n",
            budget=BudgetForcing(min_thinking_tokens=6, continue_text="Wait", max_continues=2),
        )
        texts, events, _ = run(tiny, req)
    finally:
        hook.remove()
    # "Wait" is 4 byte tokens: the first close comes at 0 thinking tokens, the second at 4 (< 6),
    # the third at 8 and is let through
    assert texts[0].startswith("<think>\nWaitWait</think>")
    assert [ev.forced for ev in events[0][1:10]] == [True] * 8 + [False]


def test_min_thinking_needs_a_single_token_close_tag() -> None:
    backend = TransformersBackend.from_objects(*tiny_model("llama"), name="tiny-llama")
    backend.close_tag_id = None  # as for tokenizers that split </think>
    with pytest.raises(ValidationError, match="one token"):
        list(
            backend.stream(
                GenerationRequest(messages="q", budget=BudgetForcing(min_thinking_tokens=3)),
                cancel=threading.Event(),
            )
        )


def test_injection_and_stop_strings(tiny: TransformersBackend) -> None:
    control = RunControl(n=2)
    control.inject("Wait", sample=1)
    req = GenerationRequest(messages="q", sampling=greedy(n=2, max_new_tokens=10))
    texts, events, _ = run(tiny, req, control=control)
    assert texts[1].startswith("Wait") and not texts[0].startswith("Wait")
    assert [ev.forced for ev in events[1][:4]] == [True] * 4
    # a stop string ends the sample and is not included
    full, _, _ = run(tiny, GenerationRequest(messages="q", sampling=greedy(max_new_tokens=30)))
    target = full[0][5:8]
    cut, _, finishes = run(
        tiny, GenerationRequest(messages="q", sampling=greedy(max_new_tokens=30, stop=(target,)))
    )
    assert cut[0] == full[0][: full[0].find(target)]
    assert finishes[0].finish_reason == "stop"


def test_cancel_stops_within_a_step(tiny: TransformersBackend) -> None:
    cancel = threading.Event()
    seen = 0
    finishes = []
    for ev in tiny.stream(
        GenerationRequest(messages="q", sampling=greedy(n=2, max_new_tokens=500)), cancel=cancel
    ):
        if isinstance(ev, TokenEvent):
            seen += 1
            if seen == 6:
                cancel.set()
        else:
            finishes.append(ev)
    assert seen <= 8
    assert [f.finish_reason for f in finishes] == ["cancelled", "cancelled"]


def test_errors_end_the_samples_readably(
    tiny: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*a, **k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(tiny, "model", boom)
    tiny.model.eval = lambda: None  # type: ignore[attr-defined]
    _, _, finishes = run(tiny, GenerationRequest(messages="q", sampling=greedy(n=2)))
    assert {f.finish_reason for f in finishes.values()} == {"error"}
    assert "out of memory" in finishes[0].error and "fewer samples" in finishes[0].error
