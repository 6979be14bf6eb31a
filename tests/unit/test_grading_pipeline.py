from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench import Constraint, Store, Trajectory, ValidationError, import_file
from workbench.analysis.grading.pipeline import grade_store, grade_trajectory, ifeval_constraints
from workbench.cli import main


def test_ifeval_constraints_from_metadata_or_constraints() -> None:
    t = Trajectory(
        raw="hello", metadata={"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    )
    assert ifeval_constraints(t) == (["punctuation:no_comma"], [{}])
    c = Trajectory(
        prompt="Answer in lowercase.",
        raw="<think>Hmm, OK</think>all lowercase here",
        constraints=[Constraint(text="in lowercase", kind="change_case:english_lowercase")],
    )
    assert ifeval_constraints(c) == (["change_case:english_lowercase"], [{}])
    assert ifeval_constraints(Trajectory(raw="x")) is None


def test_grade_trajectory_answer_and_thinking() -> None:
    t = Trajectory(
        prompt="Answer in lowercase.",
        raw="<think>Hmm, OK</think>all lowercase here",
        constraints=[Constraint(text="in lowercase", kind="change_case:english_lowercase")],
    )
    answer = grade_trajectory(t, grader="ifeval")
    assert answer is not None and answer.correct is True and answer.grader == "ifeval"
    assert answer.details == [{"instruction_id": "change_case:english_lowercase", "followed": True}]
    thinking = grade_trajectory(t, grader="ifeval", target="thinking")
    assert (
        thinking is not None and thinking.correct is False and thinking.grader == "ifeval:thinking"
    )
    assert grade_trajectory(Trajectory(raw="x"), grader="ifeval") is None
    with pytest.raises(ValidationError, match="grader"):
        grade_trajectory(t, grader="judge")


@pytest.mark.external
def test_grade_the_ifeval_gpt4_responses(
    external: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ifeval.db"
    folder = external / "ifeval_google"
    with Store(db) as store:
        report = import_file(
            store,
            folder / "input_response_data_gpt4_20231107_145030.shared.jsonl",
            join=folder / "input_data.jsonl",
            on="prompt",
        )
        assert report.imported == 433 and report.unjoined == 0
    assert main(["grade", "--store", str(db), "--grader", "ifeval", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["graded"] == 433 and summary["not_applicable"] == 0
    # GPT-4 follows about four in five IFEval prompts strictly (the peer reports 0.808 on the
    # responses it can score offline)
    assert 0.7 < summary["accuracy"] < 0.9
    assert main(["grade", "--store", str(db), "--grader", "ifeval", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped_already_graded"] == 433
    with Store(db) as store:
        t = store.get(store.list_trajectories(correct=False, limit=1)["id"][0])
        assert t.grade is not None and t.grade.grader == "ifeval"
        followed = [d["followed"] for d in t.grade.details]
        assert not all(followed) and t.grade.score == pytest.approx(sum(followed) / len(followed))


def test_math_grading_in_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "m.db") as store:
        right = store.add(
            Trajectory(raw="<think>17+25=42</think>The answer is \\boxed{42}.", gold="42")
        )
        wrong = store.add(Trajectory(raw="<think>17+25=32</think>The answer is 32.", gold="42"))
        store.add(Trajectory(raw="no gold here"))
        summary = grade_store(store, grader="math")
        assert (summary["graded"], summary["correct"], summary["not_applicable"]) == (2, 1, 1)
        g = store.get(right).grade
        assert g is not None and g.correct is True and g.grader == "math"
        assert g.details["extracted"] == "42" and g.details["strategy"] == "boxed"
        assert store.get(wrong).grade.correct is False
