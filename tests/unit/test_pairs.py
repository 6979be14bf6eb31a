"""Pair strategies, selection, provenance and summaries (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.training_data import graded_store
from workbench import Store, Trajectory, ValidationError
from workbench.pairs import Selection, make_pairs, pair_summary
from workbench.pairs.values import field_value, is_correct


@pytest.fixture
def graded(tmp_path: Path):
    store, ids = graded_store(tmp_path / "g.db")
    yield store, ids
    store.close()


def pairs_by_ids(store: Store, strategy: str) -> set[tuple[str, str]]:
    frame = store.list_pairs(strategy=strategy)
    return set(zip(frame["chosen_id"], frame["rejected_id"], strict=True))


def test_correctness_pairs_correct_against_incorrect(graded) -> None:
    store, ids = graded
    report = make_pairs(store, "correctness")
    assert report.new_pairs == 3 and report.groups == 2
    assert pairs_by_ids(store, "correctness") == {
        (ids["short"], ids["wrong"]),
        (ids["long"], ids["wrong"]),
        (ids["right2"], ids["wrong2"]),
    }
    prov = store.get_pair(report.pair_ids[0]).provenance
    assert prov["strategy"] == "correctness"
    assert (
        prov["chosen"]["grade"]["correct"] is True and prov["rejected"]["grade"]["correct"] is False
    )
    assert prov["chosen"]["source_id"] in ("short", "long", "right2")
    assert {"chosen_chars", "rejected_chars", "parameters", "group", "author"} <= set(prov)
    assert prov["parameters"]["selection"]["dedup"] is True
    # a second run stores nothing new and loses nothing
    again = make_pairs(store, "correctness")
    assert again.new_pairs == 0 and again.already_stored == 3 and store.list_pairs().height == 3


def test_length_pairs_shorter_correct_is_chosen(graded) -> None:
    store, ids = graded
    report = make_pairs(store, "length")
    assert pairs_by_ids(store, "length") == {(ids["short"], ids["long"])}
    prov = report.pairs[0].provenance
    assert prov["chosen_length"] < prov["rejected_length"] and prov["ratio"] > 1.1
    none = make_pairs(store, "length", selection=Selection(min_ratio=100.0), dry_run=True)
    assert none.pair_ids == [] and none.skipped["ratio"] == 1


def test_grade_pairs_on_a_metadata_field_with_selection(graded) -> None:
    store, ids = graded
    report = make_pairs(store, "grade", field="judge_grade", dry_run=True)
    assert len(report.pair_ids) == 4 and store.list_pairs().is_empty()  # 3 in P1, 1 in P2
    capped = make_pairs(
        store,
        "grade",
        field="judge_grade",
        selection=Selection(min_gap=2.0, min_chosen=5.0, max_per_prompt=1),
    )
    assert pairs_by_ids(store, "grade") == {(ids["short"], ids["wrong"])}  # gap 7, the largest
    prov = capped.pairs[0].provenance
    assert prov["field"] == "judge_grade" and (prov["chosen_value"], prov["rejected_value"]) == (
        9.0,
        2.0,
    )
    assert capped.skipped["per_prompt_cap"] >= 1 and capped.skipped["gap"] >= 1


def test_grade_strategy_defaults_to_the_grade_score(graded) -> None:
    store, ids = graded
    make_pairs(store, "grade")
    assert (ids["short"], ids["wrong"]) in pairs_by_ids(store, "grade")


def test_errors_are_clear_and_write_nothing(graded, tmp_path: Path) -> None:
    store, _ = graded
    with pytest.raises(ValidationError, match="unknown strategy 'best'"):
        make_pairs(store, "best")
    with pytest.raises(ValidationError, match="numeric 'judge'.*judge_grade"):
        make_pairs(store, "grade", field="judge")
    with pytest.raises(ValidationError, match="backend"):
        make_pairs(store, "early_exit")
    with pytest.raises(ValidationError, match="verdict"):
        make_pairs(store, "manual")
    with pytest.raises(ValidationError, match="no trajectories"):
        make_pairs(store, "correctness", model="nobody")
    assert store.list_pairs().is_empty() and len(store) == 5
    with Store(tmp_path / "ungraded.db") as bare:
        bare.add(Trajectory(prompt="q", raw="<think>a</think>b"))
        with pytest.raises(ValidationError, match="graded"):
            make_pairs(bare, "correctness")
        with pytest.raises(ValidationError, match="metadata key 'question_id'"):
            make_pairs(bare, "grade", by="question_id")
    with Store(tmp_path / "noprompt.db") as bare:
        bare.add(Trajectory(raw="<think>a</think>b", metadata={"judge_grade": 3}))
        with pytest.raises(ValidationError, match="--join"):
            make_pairs(bare, "grade", field="judge_grade")


def test_manual_pairs_from_latest_verdicts(graded) -> None:
    store, ids = graded
    store.add_annotation(ids["long"], "verdict", "chosen", author="ann")
    store.add_annotation(ids["wrong"], "verdict", "chosen", author="ann")
    store.add_annotation(ids["wrong"], "verdict", "rejected", author="bob")  # the latest counts
    store.add_annotation(
        ids["right2"], "verdict", "chosen", author="ann"
    )  # no rejected in its group
    report = make_pairs(store, "manual")
    assert pairs_by_ids(store, "manual") == {(ids["long"], ids["wrong"])}
    notes = report.pairs[0].provenance["annotations"]
    assert notes["chosen"]["author"] == "ann" and notes["rejected"]["author"] == "bob"


def test_fcs_cuts_the_thinking_at_the_first_correct_solution(graded) -> None:
    store, ids = graded
    report = make_pairs(store, "fcs")
    assert report.new_pairs == 1 and len(report.derived) == 1
    pair = report.pairs[0]
    assert pair.rejected_id == ids["long"]
    chosen = store.get(pair.chosen_id)
    assert chosen.parent_id == ids["long"] and chosen.metadata["derived"] == "fcs"
    assert chosen.thinking == "Let me compute 6 * 7. Six sevens are 42."
    assert chosen.answer == "The answer is 42." and chosen.think_format == "tags"
    assert chosen.grade is not None and chosen.grade.correct
    assert pair.provenance["fcs_rel_pos"] < 0.5 and pair.provenance["chars_saved"] > 0
    assert report.skipped.get("no_fcs", 0) == 2  # "6 * 7 = 42." ends where the thinking ends…
    # running again finds the derived trajectory and the pair instead of adding copies
    again = make_pairs(store, "fcs")
    assert again.already_stored == 1 and len(store) == 6
    # derived trajectories are not paired again by other strategies
    assert make_pairs(store, "length", dry_run=True).skipped["derived"] == 1


def test_dedup_and_reuse(tmp_path: Path) -> None:
    with Store(tmp_path / "d.db") as store:
        for i, (raw, judge) in enumerate(
            [("<think>x</think>A", 5), ("<think>x</think>A", 1), ("<think>y</think>B", 1)]
        ):
            store.add(
                Trajectory(prompt="q", raw=raw, source="s", source_id=str(i), metadata={"j": judge})
            )
        kept = make_pairs(store, "grade", field="j", dry_run=True)
        assert len(kept.pair_ids) == 1 and kept.skipped["identical"] == 1
        loose = make_pairs(
            store, "grade", field="j", selection=Selection(dedup=False), dry_run=True
        )
        assert len(loose.pair_ids) == 2
        single = make_pairs(
            store, "grade", field="j", selection=Selection(dedup=False, reuse=False), dry_run=True
        )
        assert len(single.pair_ids) == 1 and single.skipped["reused"] == 1


def test_group_by_metadata_key(tmp_path: Path) -> None:
    with Store(tmp_path / "q.db") as store:
        for i, (prompt, qid, judge) in enumerate(
            [("q1 phrased once", "Q", 5), ("q1 phrased twice", "Q", 1), ("other", "R", 3)]
        ):
            store.add(
                Trajectory(prompt=prompt, raw=f"<think>t{i}</think>a{i}", source="s",
                           source_id=str(i), metadata={"qid": qid, "j": judge})
            )  # fmt: skip
        assert make_pairs(store, "grade", field="j", dry_run=True).pair_ids == []
        by_q = make_pairs(store, "grade", field="j", by="qid", dry_run=True)
        assert len(by_q.pair_ids) == 1 and by_q.pairs[0].provenance["group"] == "Q"


def test_summary_counts_and_warns_about_long_rows(graded) -> None:
    store, _ = graded
    make_pairs(store, "correctness")
    make_pairs(store, "length")
    summary = pair_summary(store, max_length=20)
    assert summary["strategies"] == {"correctness": 3, "length": 1} and summary["pairs"] == 4
    assert summary["exact"] is False and summary["lengths"]["total"]["count"] == 4
    assert summary["lengths"]["total"]["over_max_length"] >= 1
    assert "max_length=20" in summary["warnings"][0]
    assert pair_summary(store, max_length=100_000)["warnings"] == []
    with pytest.raises(ValidationError, match="correctness 3"):
        pair_summary(store, strategies=["fcs"])


def test_values() -> None:
    t = Trajectory(prompt="q", raw="a", grade=0.995, metadata={"g": "7.5", "t": "x", "b": True})
    assert is_correct(t) is True and is_correct(t, threshold=1.0) is False
    assert field_value(t, "grade") == 0.995 and field_value(t, "g") == 7.5
    assert (
        field_value(t, "t") is None and field_value(t, "b") == 1.0 and field_value(t, "z") is None
    )
    assert is_correct(Trajectory(prompt="q", raw="a")) is None


def test_provenance_is_json(graded) -> None:
    store, _ = graded
    make_pairs(store, "correctness", model="m")
    for raw in store.list_pairs()["provenance"]:
        prov = json.loads(raw)
        assert prov["parameters"]["filters"] == {"model": "m"}
