from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench import (
    Annotation,
    Constraint,
    Pair,
    Segment,
    TokenArrays,
    Trajectory,
    ValidationError,
)


def test_trajectory_parses_raw_on_construction() -> None:
    t = Trajectory(prompt="What is 2+2?", raw="<think>2+2=4</think>\n4", model="m")
    assert (t.thinking, t.answer, t.think_format) == ("2+2=4", "4", "tags")
    assert t.prompt == [{"role": "user", "content": "What is 2+2?"}]
    assert t.prompt_text == "What is 2+2?"
    assert t.schema_version == wb.SCHEMA_VERSION
    assert len(t.id) == 16


def test_from_parts_is_field_format() -> None:
    t = Trajectory.from_parts(thinking="hmm", answer="42", model="m")
    assert (t.think_format, t.thinking, t.answer) == ("field", "hmm", "42")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "done"}, "Trajectory.status"),
        ({"think_format": "xml"}, "Trajectory.think_format"),
        ({"grade": "good"}, "Trajectory.grade"),
        ({"grade": float("nan")}, "Trajectory.grade"),
        ({"tags": "a,b"}, "Trajectory.tags"),
        ({"metadata": []}, "Trajectory.metadata"),
        ({"prompt": [{"role": "robot", "content": "x"}]}, "Trajectory.prompt[0].role"),
        ({"prompt": [{"content": "x"}]}, "Trajectory.prompt[0]"),
        ({"think_format": "tags", "thinking_span": (0, 99)}, "Trajectory.thinking_span"),
        ({"finish_reason": "eos"}, "Trajectory.finish_reason"),
        ({"timings": {"total_s": "slow"}}, "Trajectory.timings.total_s"),
        ({"tokens": TokenArrays(ids=[1, 2], logprobs=[0.1])}, "Trajectory.tokens.logprobs"),
        ({"tokens": TokenArrays(ids=[1], offsets=[[0, 50]])}, "Trajectory.tokens.offsets"),
        (
            {"constraints": [Constraint(text="x", spans=[(0, 500)])]},
            "Trajectory.constraints[0].spans[0]",
        ),
        ({"schema_version": 99}, "Trajectory.schema_version"),
    ],
)
def test_validation_names_the_field(kwargs: dict, field: str) -> None:
    base = {"prompt": "hello", "raw": "<think>a</think>b"}
    with pytest.raises(ValidationError) as info:
        Trajectory(**{**base, **kwargs})
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_from_dict_rejects_unknown_fields_with_a_hint() -> None:
    d = Trajectory(raw="x").to_dict()
    d["modle"] = "typo"
    with pytest.raises(
        ValidationError, match=r"Trajectory\.modle: unknown field; did you mean 'model'"
    ):
        Trajectory.from_dict(d)


def _full_trajectory() -> Trajectory:
    return Trajectory(
        prompt=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "Answer in all lowercase: what is 2+2?"},
        ],
        raw="<think>\nWait, 2+2=4.\n</think>\n\nfour",
        constraints=[
            Constraint(
                text="in all lowercase", kind="change_case:english_lowercase", spans=[(10, 26)]
            )
        ],
        model="smollm2-135m",
        backend="transformers",
        sampling={"temperature": 0.6, "top_p": 0.95, "seed": 1},
        tokens=TokenArrays(
            ids=np.array([1, 2, 3]),
            offsets=np.array([[0, 7], [7, 14], [14, 20]]),
            logprobs=np.array([-0.1, -2.5, -0.333333], dtype=np.float32),
            entropies=np.array([1.0, 0.5, 0.25]),
        ),
        finish_reason="stop",
        timings={"first_token_s": 0.25, "total_s": 3.5},
        gold="4",
        grade=1.0,
        source="unit",
        source_id="q1",
        tags=["demo"],
        metadata={"category": "math", "nested": {"a": [1, 2.5, None, True]}},
        parent_id="abc",
    )


def test_json_round_trip_is_lossless() -> None:
    t = _full_trajectory()
    again = Trajectory.from_json(t.to_json())
    assert again == t
    assert again.to_dict() == t.to_dict()
    assert again.tokens is not None and again.tokens.logprobs is not None
    assert again.tokens.logprobs.dtype == np.float32
    assert json.loads(t.to_json())["schema_version"] == wb.SCHEMA_VERSION


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    raw=st.text(max_size=60),
    prompt=st.text(max_size=30),
    metadata=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    tags=st.lists(st.text(max_size=6), max_size=3),
    grade=st.none() | st.floats(0, 1),
    status=st.sampled_from(wb.STATUSES),
)
def test_round_trip_property(raw, prompt, metadata, tags, grade, status) -> None:
    t = Trajectory(prompt=prompt, raw=raw, metadata=metadata, tags=tags, grade=grade, status=status)
    assert Trajectory.from_json(t.to_json()) == t


def test_segment_annotation_pair_round_trip_and_validation() -> None:
    s = Segment(
        trajectory_id="t1",
        char_span=(3, 9),
        index=2,
        labels=["verification"],
        label_source="rule",
        confidence=0.75,
        keyword_hits=[(3, 7, "wait")],
        segmenter="cues",
    )
    assert s.id == "t1:3-9"
    assert Segment.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    with pytest.raises(ValidationError, match="Segment.label_source"):
        Segment(trajectory_id="t1", char_span=(0, 1), label_source="gpt")
    with pytest.raises(ValidationError, match="Segment.confidence"):
        Segment(trajectory_id="t1", char_span=(0, 1), confidence=2.0)

    a = Annotation(trajectory_id="t1", kind="rating", value=4, author="me")
    assert Annotation.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    with pytest.raises(ValidationError, match="Annotation.kind"):
        Annotation(trajectory_id="t1", kind="ratign", value=4)
    with pytest.raises(ValidationError, match="Annotation.value"):
        Annotation(trajectory_id="t1", kind="verdict", value="meh")
    with pytest.raises(ValidationError, match="Annotation.value"):
        Annotation(trajectory_id="t1", kind="rating", value="five")

    p = Pair(
        prompt_key="k", chosen_id="a", rejected_id="b", strategy="manual", provenance={"by": "me"}
    )
    assert Pair.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    with pytest.raises(ValidationError, match="Pair.rejected_id"):
        Pair(prompt_key="k", chosen_id="a", rejected_id="a", strategy="manual")
    with pytest.raises(ValidationError, match="did you mean 'length'"):
        Pair(prompt_key="k", chosen_id="a", rejected_id="b", strategy="lenght")


def test_prompt_key_is_stable_and_content_based() -> None:
    assert wb.prompt_key("hi") == wb.prompt_key([{"role": "user", "content": "hi"}])
    assert wb.prompt_key("hi") != wb.prompt_key("hi!")
