"""Every Python block of the README runs, in order, in one namespace (on the default model).

A block whose first line is ``# needs: server`` (or ``gpu``, …) is skipped, with that reason; all
the others run in a fresh folder that holds the bundled sample as ``traces.jsonl``, so the README
can never again show code that fails.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
_NEEDS = re.compile(r"^#\s*needs:\s*(.+)$")


def readme_blocks() -> list[tuple[int, str]]:
    """Return ``(line number, code)`` of each Python block of the README."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def test_the_readme_has_python_blocks() -> None:
    assert len(readme_blocks()) >= 4


def test_every_readme_block_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("transformers", reason="the README's blocks run the default model")
    pytest.importorskip("anywidget", reason="the README's widget block needs the widgets extra")
    sample = resources.files("workbench").joinpath("samples/traces.jsonl")
    shutil.copy(str(sample), tmp_path / "traces.jsonl")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "workbench.db"))
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    ran, skipped = [], []
    try:
        for line, code in readme_blocks():
            first = code.lstrip().splitlines()[0] if code.strip() else ""
            needs = _NEEDS.match(first)
            if needs:
                skipped.append((line, needs.group(1)))
                continue
            try:
                exec(compile(code, f"README.md:{line}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"the README block at line {line} fails: {exc!r}") from exc
            ran.append(line)
    finally:
        session = namespace.get("session")
        if session is not None:
            session.close()
    capsys.readouterr()
    assert ran, "no README block ran"
    for line, reason in skipped:  # a skipped block says why, and it is a real requirement
        assert reason.split()[0] in {"server", "gpu", "vllm"}, (line, reason)
