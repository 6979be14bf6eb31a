"""Early-exit probing: the curve, the pair, what is stored, and the chart; on the default model too."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench import Store, Trajectory, ValidationError
from workbench.backends.base import (
    Backend,
    Event,
    FinishEvent,
    GenerationRequest,
    RunControl,
    TokenEvent,
)
from workbench.pairs import ProbeConfig, ProbeCurve, make_pairs, probe_trajectory
from workbench.pairs.probe import early_exit_trajectory, probe_boundaries

THINKING = (
    "First I restate the question: seventeen plus twenty-five.\n\n"
    "Wait, I add the tens: 10 + 20 = 30.\n\n"
    "Then the ones: 7 + 5 = 12, so the total is 42.\n\n"
    "Hmm, let me double-check by counting up from 25 by 17, which again gives 42.\n\n"
    "So I am quite sure of the answer now."
)


class ReaderBackend(Backend):
    """Answers with the last number of the thinking it was given, or 'no idea'."""

    name = "reader"

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    @property
    def model_name(self) -> str:
        return "reader"

    def stream(
        self,
        request: GenerationRequest,
        *,
        cancel: threading.Event,
        control: RunControl | None = None,
    ) -> Iterator[Event]:
        self.requests.append(request)
        prefill = request.thinking_prefill or ""
        numbers = re.findall(r"\d+", prefill)
        answer = f"The answer is {numbers[-1]}." if numbers else "no idea"
        for i in range(request.sampling.n):
            yield TokenEvent(sample=i, text=prefill, forced=True)
            # half of the samples lose their nerve before the total is in the thinking
            text = answer if ("42" in prefill or i % 2 == 0) else "no idea"
            yield TokenEvent(sample=i, text=text)
            yield FinishEvent(sample=i, finish_reason="stop")


def trace(**kwargs) -> Trajectory:
    return Trajectory(
        prompt="What is 17 + 25?",
        raw=f"<think>\n{THINKING}\n</think>\n\nThe answer is 42.",
        gold="42",
        grade=True,
        **kwargs,
    )


def test_probe_curve_finds_the_first_boundary_that_reaches_the_threshold() -> None:
    t = trace()
    backend = ReaderBackend()
    boundaries, total = probe_boundaries(t)
    assert total == 4 and len(boundaries) == 4  # 5 segments, the end of the thinking left out
    curve = probe_trajectory(t, backend, config=ProbeConfig(samples=4, stop_at_threshold=False))
    assert [p.p for p in curve.points] == [0.0, 0.0, 1.0, 1.0]
    assert curve.exit_index == 2 and curve.exit_answer == "The answer is 42."
    assert curve.points[2].thinking_chars < curve.thinking_chars
    prefill = backend.requests[0].thinking_prefill
    assert prefill.startswith("<think>\nFirst I restate") and prefill.endswith("\n</think>\n\n")
    assert backend.requests[0].sampling.stop == ("</think>",)
    # stopping at the threshold probes fewer boundaries
    backend = ReaderBackend()
    short = probe_trajectory(t, backend, config=ProbeConfig(samples=4))
    assert len(short.points) == 3 and len(backend.requests) == 3
    # the curve survives JSON
    again = ProbeCurve.from_dict(json.loads(json.dumps(short.to_dict())))
    assert again.to_dict() == short.to_dict()


def test_threshold_and_tokens() -> None:
    t = trace()
    loose = probe_trajectory(
        t, ReaderBackend(), config=ProbeConfig(samples=4, threshold=0.5, stop_at_threshold=False)
    )
    assert loose.exit_index == 2  # "10 + 20 = 30": half the samples say 30, which is wrong
    never = probe_trajectory(
        Trajectory(prompt="q", raw=f"<think>\n{THINKING}\n</think>\n\n7", gold="7"),
        ReaderBackend(),
        config=ProbeConfig(samples=2),
    )
    assert never.exit_index is None and early_exit_trajectory(t, never) is None
    assert all(p.tokens is None for p in never.points)  # no tokenizer, no recorded tokens

    class Words:
        def encode(self, text: str, add_special_tokens: bool = False) -> list[str]:
            return text.split()

    counted = probe_trajectory(t, ReaderBackend(), config=ProbeConfig(samples=2), tokenizer=Words())
    assert counted.points[0].tokens == len(THINKING.split("\n\n")[0].split())


def test_custom_grader_and_bad_input() -> None:
    t = trace()
    curve = probe_trajectory(
        t, ReaderBackend(), config=ProbeConfig(samples=2), grader=lambda tr, a: "30" in a
    )
    assert curve.exit_index == 1 and curve.grader == "<lambda>"
    with pytest.raises(ValidationError, match="no gold answer"):
        probe_trajectory(Trajectory(prompt="q", raw="<think>a. b.</think>c"), ReaderBackend())
    with pytest.raises(ValidationError, match="no thinking"):
        probe_trajectory(Trajectory(prompt="q", raw="answer", gold="1"), ReaderBackend())
    with pytest.raises(ValidationError, match="inside the thinking"):
        probe_trajectory(t, ReaderBackend(), boundaries=[0])
    with pytest.raises(ValidationError, match="threshold"):
        ProbeConfig(threshold=0.0)


def test_early_exit_pairs_are_stored_with_the_curve(tmp_path: Path) -> None:
    with Store(tmp_path / "e.db") as store:
        original = store.add(trace(model="m"))
        report = make_pairs(
            store, "early_exit", backend=ReaderBackend(), probe=ProbeConfig(samples=4)
        )
        assert report.new_pairs == 1 and len(report.derived) == 1
        pair = store.get_pair(report.pair_ids[0])
        assert pair.strategy == "early_exit" and pair.rejected_id == original
        curve = ProbeCurve.from_dict(pair.provenance["probe"])
        assert [p.p for p in curve.points] == [0.0, 0.0, 1.0] and curve.exit_index == 2
        assert pair.provenance["exit_p"] == 1.0 and pair.provenance["chars_saved"] > 0
        chosen = store.get(pair.chosen_id)
        assert chosen.parent_id == original and chosen.metadata["derived"] == "early_exit"
        assert (
            chosen.thinking.endswith("so the total is 42.") and chosen.answer == "The answer is 42."
        )
        assert chosen.metadata["early_exit_probe"]["exit_index"] == 2
        assert store.get(original).metadata["early_exit_probe"]["points"][2]["p"] == 1.0
        # saving too little makes no pair (and says why)
        strict = make_pairs(
            store,
            "early_exit",
            backend=ReaderBackend(),
            probe=ProbeConfig(samples=4, min_saved_fraction=0.9),
            dry_run=True,
        )
        assert strict.pair_ids == [] and strict.skipped["saves_too_little"] == 1


def test_probe_chart_and_frame(tmp_path: Path) -> None:
    from workbench.charts.probe import probe_chart, probe_frame, stored_curves

    with Store(tmp_path / "c.db") as store:
        store.add(trace())
        make_pairs(
            store,
            "early_exit",
            backend=ReaderBackend(),
            probe=ProbeConfig(samples=2, stop_at_threshold=False),
        )
        curves = stored_curves(store)
    frame = probe_frame(curves)
    assert frame.height == 4 and frame["exit"].to_list() == [False, False, True, False]
    assert frame["rel_pos"].is_sorted()
    spec = probe_chart(curves).to_dict()
    assert len(spec["layer"]) == 3
    assert probe_chart(frame, x="index").to_dict()["layer"][0]["encoding"]["x"]["field"] == "index"
