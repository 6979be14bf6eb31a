"""The research notebooks: committed without outputs, valid, and shaped like research.

Executing them is the notebook tier's job (``tests/notebooks``); these checks are fast.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.notebook import (
    DATA_ENV,
    QUICK_ENV,
    by_mode,
    external_data,
    find_external_data,
    offline_charts,
    png,
    quick_mode,
    repo_root,
    run_tag,
)

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def test_the_notebooks_are_numbered() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == ["00_", "01_", "02_", "03_", "04_"], NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = load(path)
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], "saved widget state: clear it before committing"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs: strip them"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} was executed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_asks_a_question_and_prints_a_finding(path: Path) -> None:
    cells = load(path)["cells"]
    assert cells[0]["cell_type"] == "markdown" and "**Question.**" in source(cells[0])
    code = [source(c) for c in cells if c["cell_type"] == "code"]
    assert any('print(f"Finding' in c for c in code), "the finding is printed from computed values"
    text = "\n".join(code)
    assert "by_mode(" in text, "sizes depend on quick mode (WORKBENCH_QUICK=1 in CI)"
    # no machine-specific paths: data comes from $WORKBENCH_EXTERNAL_DATA via external_data()
    assert not re.search(r"['\"]/(work|tmp|home|root)/", text), "hard-coded absolute path"
    assert "shared/data/external" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_code_parses(path: Path) -> None:
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            try:
                ast.parse(source(cell))
            except SyntaxError as exc:  # pragma: no cover - the assertion message is the point
                pytest.fail(f"{path.name} cell {i}: {exc}")


def test_quick_mode_and_by_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(QUICK_ENV, "1")
    assert quick_mode() and by_mode(quick=2, full=20) == 2
    monkeypatch.setenv(QUICK_ENV, "no")
    assert not quick_mode() and by_mode(quick=2, full=20) == 20
    monkeypatch.delenv(QUICK_ENV)
    assert not quick_mode()


def test_external_data_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "missing"))
    assert find_external_data() is None
    with pytest.raises(WorkbenchError, match=DATA_ENV):
        external_data("x.jsonl")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.jsonl").write_text("{}\n")
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "d"))
    assert external_data("x.jsonl") == (tmp_path / "d" / "x.jsonl").resolve()
    with pytest.raises(WorkbenchError, match="does not exist"):
        external_data("nope.jsonl")


def test_repo_root_is_this_checkout() -> None:
    assert repo_root() == REPO


def test_run_tags_differ() -> None:
    a, b = run_tag("nb"), run_tag("nb")
    assert a.startswith("nb-") and a != b


def test_offline_charts_render_without_a_cdn() -> None:
    import altair as alt

    before = alt.renderers.active
    try:
        chosen = offline_charts()
        chart = alt.Chart(alt.Data(values=[{"a": 1, "b": "x"}])).mark_bar().encode(x="a:Q", y="b:N")
        bundle = chart._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if chosen == "svg":
            assert "<svg" in data["image/svg+xml"]
            image = png(chart)
            assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert "vl-convert-python" in data["text/plain"]
        assert "cdn" not in json.dumps(data).lower()
    finally:
        alt.renderers.enable(before)
