from __future__ import annotations

import threading
import time

import pytest

from workbench import TokenArrays, Trajectory, ValidationError
from workbench.backends import (
    BudgetForcing,
    FinishEvent,
    GenerationRequest,
    ReplayBackend,
    SamplingParams,
    TokenEvent,
)
from workbench.backends.replay import replay_pieces


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n": 0}, "SamplingParams.n"),
        ({"temperature": -1}, "SamplingParams.temperature"),
        ({"top_p": 0}, "SamplingParams.top_p"),
        ({"top_k": 0}, "SamplingParams.top_k"),
        ({"max_new_tokens": 0}, "SamplingParams.max_new_tokens"),
        ({"logprobs": 50}, "SamplingParams.logprobs"),
        ({"stop": ""}, "SamplingParams.stop"),
        ({"stop": ["a", ""]}, "SamplingParams.stop"),
        ({"n": True}, "SamplingParams.n"),
        ({"temperature": float("nan")}, "SamplingParams.temperature"),
        ({"seed": "abc"}, "SamplingParams.seed"),
        ({"ignore_eos": "yes"}, "SamplingParams.ignore_eos"),
    ],
)
def test_sampling_validation(kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        SamplingParams(**kwargs)
    assert info.value.field == field


def test_a_string_is_one_stop_string() -> None:
    assert SamplingParams(stop="Paris.").stop == ("Paris.",)
    assert SamplingParams(stop=["a", "b"]).stop == ("a", "b")


def test_budget_and_request_validation() -> None:
    with pytest.raises(ValidationError, match="min_thinking_tokens"):
        BudgetForcing(max_thinking_tokens=10, min_thinking_tokens=20)
    with pytest.raises(ValidationError, match="max_thinking_tokens"):
        BudgetForcing(max_thinking_tokens=-1)
    with pytest.raises(ValidationError, match="empty"):
        GenerationRequest(messages=[])
    req = GenerationRequest(messages="hi")  # type: ignore[arg-type]
    assert req.messages == [{"role": "user", "content": "hi"}]
    assert SamplingParams(stop=("x",)).to_dict()["stop"] == ["x"]


def collect(
    backend: ReplayBackend, request: GenerationRequest, cancel: threading.Event | None = None
):
    texts: dict[int, str] = {}
    finishes: dict[int, str] = {}
    for ev in backend.stream(request, cancel=cancel or threading.Event()):
        if isinstance(ev, TokenEvent):
            texts[ev.sample] = texts.get(ev.sample, "") + ev.text
        else:
            assert isinstance(ev, FinishEvent) and ev.sample not in finishes
            finishes[ev.sample] = ev.finish_reason
    return texts, finishes


def test_replay_reproduces_the_text_of_each_sample() -> None:
    a = Trajectory(
        prompt="p", raw="<think>\nWait, 2 + 2 = 4.\n</think>\n\nThe answer is 4.", model="m"
    )
    b = Trajectory(prompt="p", raw="Hmm.</think> 5", model="m")
    backend = ReplayBackend([a, b], tokens_per_s=None)
    texts, finishes = collect(
        backend, GenerationRequest(messages="p", sampling=SamplingParams(n=3))
    )
    assert texts == {0: a.raw, 1: b.raw, 2: a.raw}
    assert finishes == {0: "stop", 1: "stop", 2: "stop"}
    assert backend.model_name == "replay:m"


def test_replay_uses_stored_tokens_and_respects_the_budget() -> None:
    t = Trajectory(
        raw="abcdef",
        tokens=TokenArrays(
            ids=[7, 8, 9], offsets=[[0, 2], [2, 4], [4, 6]], logprobs=[-0.5, -1.0, -2.0]
        ),
    )
    pieces = replay_pieces(t)
    assert [p[0] for p in pieces] == ["ab", "cd", "ef"] and [p[1] for p in pieces] == [7, 8, 9]
    events = list(
        ReplayBackend(t, tokens_per_s=None).stream(
            GenerationRequest(messages="p", sampling=SamplingParams(max_new_tokens=2)),
            cancel=threading.Event(),
        )
    )
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert [e.token_ids for e in tokens] == [(7,), (8,)] and tokens[1].logprobs == (-1.0,)
    assert events[-1] == FinishEvent(sample=0, finish_reason="length")


def test_replay_speed_and_cancel() -> None:
    t = Trajectory(raw=" ".join(f"w{i}" for i in range(200)))
    backend = ReplayBackend(t, tokens_per_s=100)
    start = time.perf_counter()
    texts, _ = collect(
        backend, GenerationRequest(messages="p", sampling=SamplingParams(max_new_tokens=20))
    )
    elapsed = time.perf_counter() - start
    assert 0.15 < elapsed < 2.0  # 20 tokens at 100 tokens/s
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    texts, finishes = collect(
        backend,
        GenerationRequest(messages="p", sampling=SamplingParams(max_new_tokens=1000)),
        cancel,
    )
    assert finishes == {0: "cancelled"} and 0 < len(texts[0].split()) < 100


def test_replay_rejects_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        ReplayBackend([])
    with pytest.raises(ValidationError, match="positive"):
        ReplayBackend(Trajectory(raw="x"), tokens_per_s=0)


def test_run_control_queues_per_sample() -> None:
    from workbench.backends import RunControl

    control = RunControl(n=2)
    control.inject("Wait", sample=1)
    control.inject("\n</think>\n\n")
    assert control.take(0) == "\n</think>\n\n"
    assert control.take(1) == "Wait\n</think>\n\n"
    assert control.take(1) == ""
    with pytest.raises(ValidationError, match="no sample 5"):
        control.inject("x", sample=5)
    with pytest.raises(ValidationError, match="non-empty"):
        control.inject("")
