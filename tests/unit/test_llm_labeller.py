"""The LLM labeller: prompts, answer parsing, retries, fallbacks and what each label records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.analysis._llm_labeller import LLMLabeller, match_label, parse_labels
from workbench.analysis._llm_prompts import PROMPT_TEMPLATES, prompt_template
from workbench.backends.base import Backend, FinishEvent, GenerationRequest, TokenEvent
from workbench.segment import Segment

VENHOFF = [name for name, _ in PROMPT_TEMPLATES["venhoff"].labels]


class ScriptedBackend(Backend):
    """Answers each request with the next scripted text (records the prompts)."""

    name = "scripted"

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    @property
    def model_name(self) -> str:
        return "scripted-model"

    def stream(
        self, request: GenerationRequest, *, cancel: Any = None, control: Any = None
    ) -> Iterator[Any]:
        assert cancel is not None and not cancel.is_set()
        message = request.messages[-1]
        assert message["role"] == "user" and request.sampling.temperature == 0.0
        self.prompts.append(message["content"])
        answer = self.answers.pop(0) if self.answers else ""
        for i in range(0, len(answer), 7):  # streamed in pieces
            yield TokenEvent(sample=0, text=answer[i : i + 7])
        yield FinishEvent(sample=0, finish_reason="stop")


def segments(texts: list[str], tid: str = "t1") -> list[Segment]:
    out, at = [], 0
    for i, text in enumerate(texts):
        out.append(Segment(trajectory_id=tid, char_span=(at, at + len(text)), index=i, text=text))
        at += len(text) + 1
    return out


def test_labels_match_leniently() -> None:
    assert match_label("Deduction", VENHOFF) == "deduction"
    assert match_label("uncertainty estimation", VENHOFF) == "uncertainty-estimation"
    assert match_label('"4. example_testing"', VENHOFF) == "example-testing"
    assert match_label("back", VENHOFF) == "backtracking"
    assert match_label("poetry", VENHOFF) is None


def test_answers_parse_in_several_shapes() -> None:
    nums = [1, 2, 3]
    assert parse_labels('Sure! {"1": "initializing", "2": "deduction", "3": "x"}', nums,
                        VENHOFF) == {1: "initializing", 2: "deduction"}  # fmt: skip
    assert parse_labels('[{"id": 2, "label": "backtracking"}]', nums, VENHOFF) == {
        2: "backtracking"
    }
    assert parse_labels('["deduction", "deduction"]', nums, VENHOFF) == {
        1: "deduction",
        2: "deduction",
    }
    assert parse_labels("1: deduction\n[3] - adding knowledge\n9: deduction", nums, VENHOFF) == {
        1: "deduction",
        3: "adding-knowledge",
    }
    assert parse_labels("I cannot help with that.", nums, VENHOFF) == {}


def test_templates_follow_the_peers_and_render_the_parts() -> None:
    venhoff = prompt_template("venhoff")
    assert "Venhoff" in venhoff.source and venhoff.name == "venhoff/1"
    assert dict(venhoff.labels)["backtracking"] == "The model decides to change its approach."
    assert "Thought Anchors" in prompt_template("thought_anchors").source
    generic = prompt_template("dto")
    assert generic.name == "dto/generic-1" and generic.labels[0][0] == "problem_understanding"
    text = venhoff.render([(1, "Okay, so we need x."), (2, "Wait, no.")], context="Earlier.")
    assert "[1] Okay, so we need x." in text and "[2] Wait, no." in text
    assert "5. backtracking -> The model decides to change its approach." in text
    assert "Earlier." in text and "JSON object" in text


def test_batches_retry_and_record_prompt_and_model() -> None:
    backend = ScriptedBackend([
        '{"1": "initializing", "2": "deduction", "3": "nonsense"}',  # 3 mislabelled
        '{"3": "backtracking"}',  # the retry asks for part 3 only
        "1: deduction",  # second batch, one part
    ])  # fmt: skip
    labeller = LLMLabeller(backend, taxonomy="venhoff", batch_size=3, retries=1)
    segs = segments(["Okay, we need x.", "So x = 2.", "Wait, that is wrong.", "So x = 3."])
    out = labeller.label_segments(segs)
    assert [s.labels for s in out] == [["initializing"], ["deduction"], ["backtracking"],
                                       ["deduction"]]  # fmt: skip
    assert len(backend.prompts) == 3
    assert "[3] Wait, that is wrong." in backend.prompts[1] and "[1]" not in backend.prompts[1]
    for s in out:
        meta = s.label_meta or {}
        assert s.label_source == "model" and s.confidence is None
        assert meta["model"] == "scripted-model" and meta["template"] == "venhoff/1"
        assert meta["prompt"] in backend.prompts and len(meta["prompt_sha256"]) == 64
        assert "fallback" not in meta
    assert (out[2].label_meta or {})["attempt"] == 2
    # the second batch sees the text before it as context
    assert "Okay, we need x." in backend.prompts[2]


def test_unparseable_answers_fall_back_to_rules_and_say_so() -> None:
    backend = ScriptedBackend(["no idea", "still no idea"])
    out = LLMLabeller(backend, retries=1).label_segments(segments(["Wait, that is wrong."]))
    meta = out[0].label_meta or {}
    assert out[0].labels and out[0].labels[0] in VENHOFF
    assert meta["fallback"] == "rule" and meta["raw_answer"] == "still no idea"
    assert len(backend.prompts) == 2


def test_backend_errors_are_recorded_not_raised() -> None:
    class Failing(ScriptedBackend):
        def stream(
            self, request: GenerationRequest, *, cancel: Any = None, control: Any = None
        ) -> Iterator[Any]:
            yield FinishEvent(sample=0, finish_reason="error", error="connection refused")

    out = LLMLabeller(Failing([]), retries=0).label_segments(segments(["So x = 2."]))
    meta = out[0].label_meta or {}
    assert meta["fallback"] == "rule" and "connection refused" in meta["error"]


def test_label_meta_round_trips_through_the_store(tmp_path: Path) -> None:
    from workbench import Store, Trajectory

    raw = "<think>\nOkay, we need x. So x = 2.\n</think>\n\n2"
    with Store(tmp_path / "s.db") as store:
        t = Trajectory(prompt="x?", raw=raw, model="m")
        store.add(t)
        seg = Segment(trajectory_id=t.id, char_span=(8, 24), text=raw[8:24], labels=["deduction"],
                      label_source="model", label_meta={"model": "m", "prompt": "p"})  # fmt: skip
        store.add_segments(t.id, [seg])
        (back,) = store.get_segments(t.id)
    assert back.label_meta == {"model": "m", "prompt": "p"}
    assert Segment.from_dict(json.loads(json.dumps(back.to_dict()))).label_meta == back.label_meta


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        LLMLabeller(ScriptedBackend([]), batch_size=0)
