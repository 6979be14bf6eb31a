"""`workbench pairs` and `workbench export`, and the pm-llm-benchmark traces end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.training_data import graded_store
from workbench import Store
from workbench.cli import main
from workbench.export import check_trl, load_rows


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    store, _ = graded_store(tmp_path / "cli.db")
    store.close()
    return str(tmp_path / "cli.db")


def test_pairs_then_export(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pairs", "--store", db, "--strategy", "grade", "--field",
                       "judge_grade", "--min-gap", "2", "--json")  # fmt: skip
    report = json.loads(out)
    assert (
        code == 0 and report["new_pairs"] == 3 and report["summary"]["strategies"] == {"grade": 3}
    )
    code, out, _ = run(capsys, "pairs", "--store", db, "--strategy", "correctness")
    assert code == 0 and "stored 3 pairs (3 new" in out and "6 pairs over 2 prompts" not in out
    code, out, err = run(capsys, "pairs", "--store", db, "--summary", "--max-length", "10")
    assert code == 0 and "6 pairs over 2 prompts: grade 3, correctness 3" in out
    assert "max_length=10" in err

    out_file = tmp_path / "dpo.jsonl"
    code, out, err = run(capsys, "export", "dpo", "--store", db, "--out", str(out_file),
                         "--strategy", "grade")  # fmt: skip
    assert code == 0 and "wrote 3 rows" in out and "dataset card" in out and err == ""
    assert len(load_rows(out_file, cache_dir=tmp_path / "hf")) == 3
    code, out, _ = run(capsys, "export", "sft", "--store", db, "--out", str(tmp_path / "s.parquet"),
                       "--from", "correct", "--style", "standard", "--json")  # fmt: skip
    summary = json.loads(out)
    assert code == 0 and summary["rows"] == 3 and summary["style"] == "standard"
    assert len(summary["row_lengths"]) == 3
    code, out, _ = run(capsys, "export", "kto", "--store", db, "--out", str(tmp_path / "k.jsonl"),
                       "--no-card")  # fmt: skip
    assert code == 0 and "wrote" in out and not (tmp_path / "k.README.md").exists()


def test_cli_errors_exit_2_with_one_line(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "pairs", "--store", db, "--strategy", "grade", "--field", "nope")
    assert code == 2 and "numeric 'nope'" in err and err.count("\n") == 1
    code, _, err = run(capsys, "pairs", "--store", db)
    assert code == 2 and "--strategy" in err
    code, _, err = run(capsys, "export", "dpo", "--store", db, "--out", str(tmp_path / "d.jsonl"))
    assert code == 2 and "no stored pairs" in err
    code, _, err = run(capsys, "export", "stepwise", "--store", db, "--out",
                       str(tmp_path / "s.jsonl"))  # fmt: skip
    assert code == 2 and "good/bad" in err
    code, _, err = run(capsys, "pairs", "--store", str(tmp_path / "none.db"), "--strategy", "fcs")
    assert code == 2 and "no store" in err
    with pytest.raises(SystemExit):
        main(["pairs", "--store", db, "--strategy", "best"])


@pytest.mark.external
def test_pm_llm_benchmark_grade_pairs_export_for_trl(
    external: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance path: judge grades → grade pairs → DPO file TRL accepts."""
    from tests.fixtures.qwen3_tokenizer import default_model_tokenizer, qwen3_tokenizer

    pytest.importorskip("trl", reason="TRL is not installed")
    data = external / "pm_llm_benchmark_traces"
    db = str(tmp_path / "pm.db")
    code, _, _ = run(capsys, "import", str(data / "traces.jsonl"), "--store", db,
                     "--join", str(data / "questions.jsonl"), "--on", "question_id")  # fmt: skip
    assert code == 0
    code, out, err = run(capsys, "pairs", "--store", db, "--strategy", "grade", "--field",
                         "judge_grade", "--min-gap", "2", "--max-per-prompt", "3")  # fmt: skip
    assert code == 0 and "grade:" in out and "over max_length 1024" in out
    assert "TRL keeps the start" in err  # these traces are long
    with Store(db, readonly=True) as store:
        pairs = store.list_pairs()
        assert 0 < pairs.height <= 3 * 41
        for prov in map(json.loads, pairs["provenance"].to_list()[:5]):
            assert prov["chosen_value"] - prov["rejected_value"] >= 2
            assert prov["chosen"]["source_id"].startswith("pmllm::")
    out_file = tmp_path / "dpo.jsonl"
    code, out, _ = run(capsys, "export", "dpo", "--store", db, "--out", str(out_file))
    assert code == 0 and f"wrote {pairs.height} rows" in out
    rows = load_rows(out_file, cache_dir=tmp_path / "hf")
    assert [r["pair_id"] for r in rows] == pairs["id"].to_list()  # one row per stored pair
    for tokenizer in (qwen3_tokenizer(), default_model_tokenizer()):
        result = check_trl(rows, tokenizer)
        assert result["rows"] == result["conversational"] == pairs.height
        assert result["example"]["chosen"].startswith("<think>\n")


def test_early_exit_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.test_early_exit import ReaderBackend, trace
    from workbench.cli import training

    db = str(tmp_path / "e.db")
    with Store(db) as store:
        store.add(trace(source="s", source_id="1"))
        store.add(trace(source="s", source_id="2", model="other"))
    monkeypatch.setattr(training, "_backend", lambda args: ReaderBackend())
    code, out, _ = run(capsys, "pairs", "--store", db, "--strategy", "early_exit", "--samples",
                       "2", "--limit", "1", "--json")  # fmt: skip
    report = json.loads(out)
    assert code == 0 and report["new_pairs"] == 1 and report["skipped"]["over_limit"] == 1
    assert report["parameters"]["probe"]["samples"] == 2
    code, out, _ = run(capsys, "export", "sft", "--store", db, "--out", str(tmp_path / "s.jsonl"),
                       "--strategy", "early_exit", "--json")  # fmt: skip
    rows = load_rows(tmp_path / "s.jsonl", cache_dir=tmp_path / "hf")
    assert code == 0 and len(rows) == 1
    assert rows[0]["completion"][0]["content"].endswith(
        "so the total is 42.\n</think>\n\nThe answer is 42."
    )
