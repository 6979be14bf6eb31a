"""Named layouts: each fixture (written by us from the public format descriptions) imports with
its thinking, answer, model, gold and grade, the right number of trajectories, and its layout named
in the report; re-importing adds nothing; a malformed record is reported by line.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from workbench import ImportFormatError, Store, import_file
from workbench.store.importers import LAYOUT_NAMES, recognise
from workbench.think import parse_think

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importing"
LM_EVAL = (
    FIXTURES / "lm_eval" / "Qwen__Qwen3-0.6B" / "samples_gsm8k_2025-01-01T00-00-00.000000.jsonl"
)

# file -> (layout, records, trajectories, pairs)
EXPECTED = {
    "openthoughts.jsonl": ("openthoughts", 3, 3, 0),
    "openthoughts_metadata.jsonl": ("openthoughts", 1, 1, 0),
    "s1k.jsonl": ("s1k", 2, 2, 0),
    "s1k_1.1.jsonl": ("s1k", 2, 4, 0),
    "openr1_math.jsonl": ("openr1_math", 2, 4, 0),
    "chat_completions.jsonl": ("chat_completion", 3, 4, 0),
    "chat_completion.json": ("chat_completion", 1, 1, 0),
    "chat_stream.jsonl": ("chat_completion_chunks", 9, 2, 0),
    "inspect_log.json": ("inspect", 3, 3, 0),
    "trl_preference.jsonl": ("trl_preference", 2, 4, 2),
}


def rows(store: Store) -> list:
    return list(store.iter_trajectories())


def inspect_eval(tmp_path: Path) -> Path:
    """Build an Inspect ``.eval`` zip from the ``.json`` fixture: header.json + one file a sample."""
    log = json.loads((FIXTURES / "inspect_log.json").read_text(encoding="utf-8"))
    path = tmp_path / "2025-01-01T00-00-00_gsm8k-mini_abc.eval"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("_journal/start.json", json.dumps({"version": 2, "eval": log["eval"]}))
        header = {k: v for k, v in log.items() if k != "samples"}
        z.writestr("header.json", json.dumps(header))
        for s in log["samples"]:
            z.writestr(f"samples/{s['id']}_epoch_{s['epoch']}.json", json.dumps(s))
        z.writestr("summaries.json", "[]")
    return path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_imports_with_its_layout_and_is_idempotent(name: str, store: Store) -> None:
    layout, n_records, n_traj, n_pairs = EXPECTED[name]
    report = import_file(store, FIXTURES / name)
    assert report.errors == []
    assert report.layout_name == layout and report.layouts == {layout: n_records}
    assert (report.read, report.imported, report.pairs) == (n_records, n_traj, n_pairs)
    assert f"layout: {layout}" in report.summary()
    assert sum(report.think_formats.values()) == sum(report.models.values()) == n_traj
    again = import_file(store, FIXTURES / name)
    assert (again.imported, again.duplicates, again.pairs) == (0, n_traj, 0)
    assert len(store) == n_traj


def test_openthoughts_markers(store: Store) -> None:
    import_file(store, FIXTURES / "openthoughts.jsonl")
    ts = rows(store)
    assert [t.think_format for t in ts] == ["thought_markers", "thought_markers", "unterminated"]
    t = ts[0]
    assert (
        t.thinking == "Three plus four. Counting up from 3: 4, 5, 6, 7." and t.answer == "3 + 4 = 7"
    )
    assert t.prompt[0]["role"] == "system" and t.prompt_text == "What is 3 + 4?"
    assert "<|" not in t.thinking + t.answer
    assert ts[2].answer == "" and ts[2].thinking.startswith("Primes")


def test_parse_think_recognises_thought_markers() -> None:
    p = parse_think("<|begin_of_thought|>a<|end_of_thought|>b")
    assert (p.think_format, p.thinking, p.answer) == ("thought_markers", "a", "b")
    # <think> tags win when both occur
    assert parse_think("<think>x</think><|begin_of_thought|>").think_format == "tags"


def test_s1k_one_trajectory_per_model(store: Store) -> None:
    import_file(store, FIXTURES / "s1k_1.1.jsonl")
    got = {(t.prompt_text, t.model): t for t in rows(store)}
    t = got[("How many sides has a square?", "gemini-2.0-flash-thinking")]
    assert (t.thinking, t.answer, t.gold) == ("A square is a quadrilateral.", "5", "4")
    assert t.grade is not None and t.grade.correct is False and t.think_format == "field"
    assert t.metadata["grade_reason"] == "5 is wrong" and t.metadata["cot_type"] == "crossword"
    d = got[("What is 3 squared?", "deepseek-r1")]
    assert d.grade is not None and d.grade.correct and d.answer == "The answer is $\\boxed{9}$."
    assert not any(k.endswith(("_attempt", "_thinking_trajectory")) for k in d.metadata)


def test_s1k_original_joins_the_trajectory_list(store: Store) -> None:
    import_file(store, FIXTURES / "s1k.jsonl", model="my-gemini")
    t = rows(store)[1]
    assert t.thinking == "Divide both sides by 3.\n\nSo x = 2." and t.answer == "x = 2"
    assert t.model == "my-gemini" and t.gold == "x = 2" and t.grade is None


def test_openr1_one_trajectory_per_generation(store: Store) -> None:
    import_file(store, FIXTURES / "openr1_math.jsonl", model="deepseek-r1")
    ts = rows(store)
    assert [t.source_id for t in ts] == ["r1-0001:0", "r1-0001:1", "r1-0001:2", "r1-0002:messages"]
    assert [None if t.grade is None else t.grade.correct for t in ts] == [True, False, False, None]
    assert ts[0].grade is not None and ts[0].grade.grader == "math_verify"
    assert ts[1].answer == "$\\boxed{30}$" and ts[1].gold == "32"
    assert ts[2].think_format == "unterminated" and ts[2].finish_reason == "length"
    assert ts[2].metadata["is_reasoning_complete"] is False
    assert ts[3].thinking == "10/4 = 5/2." and ts[3].gold == "\\frac{5}{2}"
    assert all(t.model == "deepseek-r1" for t in ts)
    assert "generations" not in ts[0].metadata and ts[0].metadata["problem_type"] == "Algebra"


def test_chat_completions(store: Store) -> None:
    import_file(store, FIXTURES / "chat_completions.jsonl")
    ts = {t.source_id: t for t in rows(store)}
    a = ts["chatcmpl-a1:0"]
    assert (a.model, a.think_format, a.thinking, a.answer) == (
        "deepseek-reasoner", "field", "2 cubed is 2*2*2 = 8.", "The answer is 8.",
    )  # fmt: skip
    assert a.metadata["usage"]["total_tokens"] == 32 and a.finish_reason == "stop"
    lyon = ts["chatcmpl-a2:1"]
    assert lyon.thinking.startswith("Maybe Lyon") and lyon.finish_reason == "length"
    batch = ts["chatcmpl-a3:0"]
    assert batch.think_format == "tags" and batch.answer == "Hello!"
    assert batch.metadata["custom_id"] == "req-3"


def test_streamed_chunks_are_reassembled(store: Store) -> None:
    import_file(store, FIXTURES / "chat_stream.jsonl")
    ts = {t.source_id: t for t in rows(store)}
    s1 = ts["chatcmpl-s1:0"]
    assert (s1.thinking, s1.answer) == ("The user wants a greeting.", "Hello there!")
    assert s1.metadata["usage"]["total_tokens"] == 13 and s1.metadata["streamed"] is True
    s2 = ts["chatcmpl-s2:0"]
    assert (s2.thinking, s2.answer, s2.model) == ("Two plus two is four.", "4", "Qwen/Qwen3-8B")


@pytest.mark.parametrize("kind", ["json", "eval"])
def test_inspect_logs(kind: str, tmp_path: Path, store: Store) -> None:
    path = FIXTURES / "inspect_log.json" if kind == "json" else inspect_eval(tmp_path)
    report = import_file(store, path)
    assert report.errors == [] and report.layout_name == "inspect" and report.imported == 3
    ts = {t.source_id: t for t in rows(store)}
    one = ts["1:epoch1"]
    assert one.thinking == "Six threes: 3, 6, 9, 12, 15, 18." and one.answer == "ANSWER: 18"
    assert one.model == "claude-3-7-sonnet-latest" and one.gold == "18"
    assert one.grade is not None and one.grade.correct and one.grade.grader == "inspect:match"
    assert one.metadata["task"] == "gsm8k_mini" and one.metadata["run_id"] == "run-1"
    two = ts["2:epoch1"]
    assert two.grade is not None and two.grade.correct is False and two.gold == "3"
    assert [m["role"] for m in two.prompt] == ["system", "user"]
    three = ts["three:epoch2"]
    assert three.think_format == "none" and three.metadata["reasoning_redacted"] is True
    assert three.finish_reason == "length" and three.grade is not None and three.grade.score == 1.0


def test_lm_eval_samples(store: Store) -> None:
    report = import_file(store, LM_EVAL)
    assert report.layout_name == "lm_eval" and report.imported == 3
    ts = rows(store)
    assert all(t.model == "Qwen/Qwen3-0.6B" and t.metadata["task"] == "gsm8k" for t in ts)
    first = ts[0]
    assert first.prompt_text.startswith("Question: Tom has 3 apples") and first.gold == "5"
    assert (
        first.grade is not None
        and first.grade.correct
        and first.grade.grader == "lm_eval:exact_match"
    )
    assert first.thinking == "3 + 2 = 5" and first.metadata["filtered_response"] == "5"
    # two repeats: the doc's metric does not grade each response
    assert [t.grade for t in ts[1:]] == [None, None]
    assert [t.metadata["filtered_response"] for t in ts[1:]] == ["11", "12"]
    assert ts[1].metadata["metrics"] == {"exact_match": 0.0}


def test_lm_eval_loglikelihood_rows_are_rejected_with_a_reason(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / "samples_arc_2025-01-01T00-00-00.jsonl"
    row = {"doc_id": 0, "doc": {"question": "q"}, "target": 0, "resps": [[["-1.5", "False"]]],
           "filtered_resps": [["-1.5", "False"]], "acc": 1.0}  # fmt: skip
    path.write_text(json.dumps(row) + "\n")
    report = import_file(store, path)
    assert report.imported == 0 and "loglikelihood" in report.errors[0].reason
    assert report.errors[0].location == "line 1"


def test_trl_preference_with_reasoning(store: Store) -> None:
    report = import_file(store, FIXTURES / "trl_preference.jsonl")
    assert report.pairs == 2 and store.list_pairs().height == 2
    ts = {t.answer: t for t in rows(store)}
    assert (
        ts["Rome."].thinking == "Italy's capital is Rome." and ts["Rome."].think_format == "field"
    )
    assert ts["6"].metadata["preference"] == "rejected"


def test_layout_can_be_forced_and_is_checked(tmp_path: Path, store: Store) -> None:
    # an OpenR1-style record without a problem field is read as openr1_math only when forced
    path = tmp_path / "gens.jsonl"
    path.write_text(json.dumps({"question": "q?", "generations": ["<think>a</think>b"]}) + "\n")
    report = import_file(store, path, layout="openr1_math")
    assert report.layout_name == "openr1_math" and report.imported == 1
    with pytest.raises(ImportFormatError, match="unknown layout 'nope'"):
        import_file(store, path, layout="nope")
    bad = import_file(store, FIXTURES / "s1k.jsonl", layout="lm_eval")
    assert bad.imported == 0 and len(bad.errors) == 2 and "resps" in bad.errors[0].reason
    assert "lm_eval" in LAYOUT_NAMES and "columns" in LAYOUT_NAMES


@pytest.mark.parametrize("name", ["openthoughts.jsonl", "s1k_1.1.jsonl", "openr1_math.jsonl",
                                  "chat_completions.jsonl", "trl_preference.jsonl"])  # fmt: skip
def test_a_malformed_record_is_reported_by_line_and_the_rest_kept(
    name: str, tmp_path: Path, store: Store
) -> None:
    lines = (FIXTURES / name).read_bytes().splitlines()
    broken = [lines[0], b'{"oops": ', b"\xff\xfe not utf-8", *lines[1:]]
    path = tmp_path / name
    path.write_bytes(b"\n".join(broken) + b"\n")
    report = import_file(store, path)
    layout, _, n_traj, _ = EXPECTED[name]
    assert report.layout_name == layout and report.imported == n_traj
    assert [(e.location, e.reason.split(" (")[0]) for e in report.errors] == [
        ("line 2", "invalid JSON"),
        ("line 3", "invalid UTF-8"),
    ]


def test_a_record_of_the_wrong_shape_is_rejected_not_fatal(tmp_path: Path, store: Store) -> None:
    good = json.loads((FIXTURES / "openr1_math.jsonl").read_text().splitlines()[0])
    bad = {**good, "uuid": "x", "generations": [1, 2]}
    path = tmp_path / "r1.jsonl"
    path.write_text(json.dumps(bad) + "\n" + json.dumps(good) + "\n")
    report = import_file(store, path)
    assert report.imported == 3 and report.errors[0].location == "line 1"
    assert "generations[0] must be text" in report.errors[0].reason


def test_nan_grades_become_null(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "nan.jsonl"
    path.write_text(
        '{"id": "1", "prompt": "p", "response": "r", "grade": NaN}\n'
        '{"id": "2", "prompt": "p", "response": "r", "grade": "nan"}\n'
        '{"id": "3", "prompt": "p", "response": "r", "grade": 1}\n'
    )
    report = import_file(store, path)
    assert report.errors == [] and report.imported == 3
    assert [t.grade is None for t in rows(store)] == [True, True, False]


def test_recognise_leaves_plain_columns_to_field_detection() -> None:
    assert recognise({"prompt": "p", "response": "r"}) is None
    assert recognise({"question": "q", "thinking_trajectories": [], "attempt": ""}) == "s1k"
    assert recognise({"choices": [{"delta": {}}], "id": "x"}) == "chat_completion_chunks"


def test_generic_files_name_their_field_layout(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "p", "response": "<think>t</think>a"}) + "\n")
    report = import_file(store, path)
    assert report.layout_name == "columns" and report.models == {"-": 1}


def test_copy_of_a_fixture_elsewhere_is_a_new_source(tmp_path: Path, store: Store) -> None:
    copy = tmp_path / "copy" / "openr1_math.jsonl"
    copy.parent.mkdir()
    shutil.copy(FIXTURES / "openr1_math.jsonl", copy)
    import_file(store, FIXTURES / "openr1_math.jsonl")
    assert import_file(store, copy).imported == 4  # a different source keys its own records
