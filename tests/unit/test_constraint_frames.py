"""Constraint-attention frames: token, layer, segment aggregation and the thinking on/off drop."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.attention import ConstraintAttention, outcome, thinking_delta, token_parts
from workbench.grade import Grade
from workbench.segment import Segment
from workbench.trajectory import Trajectory

RAW = "<think>\nab cd\n</think>\n\nef"


def traj(correct: bool | None = None, raw: str = RAW) -> Trajectory:
    grade = None if correct is None else Grade(correct=correct, grader="test")
    return Trajectory(prompt=[{"role": "user", "content": "q"}], raw=raw, grade=grade)


def attention(
    t: Trajectory, mass: np.ndarray, offsets: list[tuple[int, int]]
) -> ConstraintAttention:
    offs = np.asarray(offsets, dtype=np.int32)
    return ConstraintAttention(
        trajectory_id=t.id,
        model="m",
        mass=mass.astype(np.float32),
        offsets=offs,
        parts=token_parts(t, offs),
        constraints=["c0", "c1"],
    )


def test_token_parts_follow_the_thinking_and_answer_spans() -> None:
    t = traj()
    offsets = np.asarray([[0, 7], [8, 10], [10, 13], [14, 22], [24, 26]])
    assert token_parts(t, offsets).tolist() == ["other", "thinking", "thinking", "other", "answer"]


def test_layers_average_over_the_tokens_of_each_part() -> None:
    t = traj()
    mass = np.zeros((3, 2, 2))
    mass[0] = [[0.1, 0.2], [0.3, 0.0]]  # thinking
    mass[1] = [[0.3, 0.0], [0.1, 0.0]]  # thinking
    mass[2] = [[0.5, 0.5], [0.0, 0.2]]  # answer
    a = attention(t, mass, [(8, 10), (11, 13), (24, 26)])
    layers = a.layers()
    thinking = layers.filter(part="thinking")
    assert thinking["beta"].to_list() == pytest.approx([0.3, 0.2])
    assert thinking["tokens"].to_list() == [2, 2]
    assert layers.filter(part="answer")["beta"].to_list() == pytest.approx([1.0, 0.2])
    assert layers.filter(part="all")["beta"].to_list() == pytest.approx([1.6 / 3, 0.6 / 3])
    by_c = a.layers(by_constraint=True).filter(part="answer", constraint="c1")
    assert by_c["beta"].to_list() == pytest.approx([0.5, 0.2])
    tokens = a.tokens()
    assert tokens.height == 3 * 2 * 2
    assert tokens.filter(token=2, layer=1, constraint="c1")["mass"].item() == pytest.approx(0.2)


def test_segments_average_their_tokens_and_layers() -> None:
    t = traj()
    mass = np.zeros((3, 2, 2))
    mass[:, :, 0] = [[0.2, 0.4], [0.6, 0.8], [1.0, 1.0]]
    a = attention(t, mass, [(8, 10), (11, 13), (24, 26)])
    segs = [
        Segment(trajectory_id=t.id, char_span=(8, 13), index=0, labels=["planning"]),
        Segment(trajectory_id=t.id, char_span=(14, 22), index=1),
    ]
    frame = a.segments(segs)
    first = frame.filter(index=0, constraint="c0")
    assert first["mass"].item() == pytest.approx(0.5) and first["tokens"].item() == 2
    assert first["label"].item() == "planning"
    assert frame.filter(index=1)["mass"].to_list() == [None, None]
    assert a.segments(segs, layers=[1]).filter(index=0, constraint="c0")[
        "mass"
    ].item() == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("off", "on", "expected"),
    [(False, True, "win"), (True, False, "lose"), (True, True, "both_correct"),
     (False, False, "both_wrong"), (None, True, "ungraded")],
)  # fmt: skip
def test_outcomes(off, on, expected) -> None:
    assert outcome(traj(off), traj(on)) == expected


def test_thinking_delta_is_off_minus_on_per_layer() -> None:
    off_t, on_t = traj(False, raw="ef gh"), traj(True)
    off_a = attention(off_t, np.full((2, 2, 2), 0.25), [(0, 2), (3, 5)])
    on_mass = np.zeros((3, 2, 2))
    on_mass[:, 0, 0] = 0.3
    on_a = attention(on_t, on_mass, [(8, 10), (11, 13), (24, 26)])
    delta = thinking_delta([(off_t, off_a, on_t, on_a)])
    assert delta["delta"].to_list() == pytest.approx([0.2, 0.5])
    assert set(delta["outcome"]) == {"win"}
    with pytest.raises(ValueError, match="no 'thinking' tokens"):
        thinking_delta([(off_t, off_a, on_t, on_a)], part="thinking")
