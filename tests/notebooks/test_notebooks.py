"""Execute every research notebook top to bottom; any cell error fails the test.

Each notebook runs in a fresh kernel in a temporary copy of ``notebooks/`` (so it writes nothing
into the checkout), with ``$WORKBENCH_STORE`` in that folder, quick mode on unless
``WORKBENCH_QUICK`` says otherwise, and the third-party data from ``$WORKBENCH_EXTERNAL_DATA`` (or
``../shared/data/external``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, external_data_dir

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
NEEDS_DATA = {
    "01_constraint_attention",
    "02_aha_keywords_across_models",
    "03_overthinking_and_pairs",
}
CELL_TIMEOUT_S = 1200
# quick mode takes about a minute per notebook on 2 cores; full mode (WORKBENCH_QUICK=0) up to ~15
pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(3600)]


def _artifacts() -> Path:
    base = Path(os.environ.get("WORKBENCH_ARTIFACTS", REPO / "artifacts"))
    path = base / "notebooks" if base.name != "notebooks" else base
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record_timing(name: str, seconds: float, quick: bool) -> None:
    path = _artifacts() / "timings.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = {"seconds": round(seconds, 1), "quick": quick}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def test_the_research_notebooks_are_there() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert names == [
        "00_quickstart",
        "01_constraint_attention",
        "02_aha_keywords_across_models",
        "03_overthinking_and_pairs",
        "04_thought_anchors",
    ], names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel", reason="pip install 'thinking-workbench[notebooks]'")
    data = external_data_dir()
    if notebook.stem in NEEDS_DATA and data is None:
        pytest.skip("third-party data not found: set WORKBENCH_EXTERNAL_DATA")
    work = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", work)
    monkeypatch.setenv("WORKBENCH_STORE", str(work / "workbench.db"))
    monkeypatch.setenv("WORKBENCH_QUICK", os.environ.get("WORKBENCH_QUICK", "1"))
    if data is not None:
        monkeypatch.setenv("WORKBENCH_EXTERNAL_DATA", str(data))
    quick = os.environ["WORKBENCH_QUICK"] == "1"

    nb = nbformat.read(work / notebook.name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - start
        nbformat.write(nb, _artifacts() / notebook.name)  # executed copy, for reading in CI
        _record_timing(notebook.stem, elapsed, quick)

    # the last code cell that prints says what was found, with numbers from this run
    printed = [
        "".join(
            out.get("text", "") for out in cell.get("outputs", []) if out.get("name") == "stdout"
        )
        for cell in nb.cells
        if cell.cell_type == "code"
    ]
    findings = [text for text in printed if "Finding" in text]
    assert findings, f"{notebook.name} printed no finding"
    assert any(ch.isdigit() for ch in findings[-1]), findings[-1]
