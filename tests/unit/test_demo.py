"""`workbench demo`: the headless quickstart pipeline, its pieces, and the command's errors.

Starting JupyterLab itself is tested in the notebook tier (``tests/notebooks/test_demo_lab.py``)
and, with a real browser, in the browser tier (``tests/browser/test_demo.py``).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import workbench as wb
from workbench.cli import main
from workbench.demo import choose_pair, run_quickstart, trace_page
from workbench.errors import WorkbenchError


def traj(thinking: str, answer: str, *, grade: bool | None, closed: bool = True) -> wb.Trajectory:
    raw = f"<think>\n{thinking}\n</think>\n\n{answer}" if closed else f"<think>\n{thinking}"
    return wb.Trajectory(prompt="What is 5 + 3?", raw=raw, model="m", grade=grade)


def test_choose_pair_ranks_correct_closed_answered_shorter_first() -> None:
    right_long = traj("5 + 3. Let me add. 5 + 3 = 8.", "8", grade=True)
    right_short = traj("5 + 3 = 8.", "8", grade=True)
    wrong = traj("5 + 3 = 9.", "9", grade=False)
    open_wrong = traj("5 + 3 is", "", grade=False, closed=False)
    chosen, rejected, reason = choose_pair([wrong, right_long, open_wrong, right_short])
    assert chosen is right_short and rejected is open_wrong
    assert "chosen: correct" in reason and "rejected: incorrect" in reason
    # nothing correct: a closed thinking with an answer still beats an unterminated one
    chosen, rejected, _ = choose_pair([open_wrong, wrong])
    assert chosen is wrong and rejected is open_wrong


def test_choose_pair_needs_two_different_samples() -> None:
    same = traj("5 + 3 = 8.", "8", grade=True)
    with pytest.raises(WorkbenchError, match="at least two"):
        choose_pair([same])
    twin = wb.Trajectory(prompt="What is 5 + 3?", raw=same.raw, model="m", grade=True)
    with pytest.raises(WorkbenchError, match="same text"):
        choose_pair([same, twin])


def test_trace_page_is_a_standalone_escaped_page() -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    t = wb.Trajectory(prompt=evil, raw=f"<think>\n{evil}\n</think>\n\n{evil}", model=evil)
    page = trace_page(t)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_run_quickstart_with_a_tiny_model(tmp_path: Path) -> None:
    """The whole pipeline on a random-weight model (code paths; milliseconds)."""
    from tests.fixtures.tiny_models import tiny_model
    from workbench.backends.hf import TransformersBackend
    from workbench.backends.models import ONE_SHOT_THINK

    backend = TransformersBackend.from_objects(*tiny_model(), name="tiny", recipe=ONE_SHOT_THINK)
    lines: list[str] = []
    result = run_quickstart(tmp_path / "out", model=backend, max_new_tokens=24, log=lines.append)
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {
        "workbench.db", "trace.html", "dpo.jsonl", "README.md"
    }  # fmt: skip
    rows = [json.loads(line) for line in result.dpo.read_text().splitlines()]
    assert len(rows) == 1 and {"prompt", "chosen", "rejected"} <= set(rows[0])
    assert rows[0]["chosen_id"] == result.chosen_id and rows[0]["rejected_id"] == result.rejected_id
    with wb.Store(result.store) as store:
        assert store.count() == 4
        verdicts = store.list_annotations(kind="verdict", history=False)
        assert dict(zip(verdicts["trajectory_id"], verdicts["value"], strict=True)) == {
            result.chosen_id: '"chosen"',
            result.rejected_id: '"rejected"',
        }
        assert store.list_pairs()["strategy"].to_list() == ["manual"]
    assert result.chosen_id in result.trace_html.read_text()
    assert any("exported 1 DPO row" in line for line in lines)


def test_demo_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--headless"]) == 2
    assert "--headless needs --out DIR" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "--out goes with --headless" in capsys.readouterr().err
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["demo", "--headless", "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["demo", "--headless", "--out", str(tmp_path / "o"), "--n", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err


def test_demo_refuses_a_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli._common import CliError
    from workbench.cli.demo import _free_port

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(CliError, match=f"port {busy} is in use"):
            _free_port("127.0.0.1", busy)
    assert _free_port("127.0.0.1", None) > 0


def test_demo_copies_the_notebooks_and_keeps_edited_copies(tmp_path: Path) -> None:
    from workbench.cli.demo import QUICKSTART, _prepare

    copied, kept = _prepare(tmp_path, fresh=False)
    assert copied >= 4 and kept == 0 and (tmp_path / QUICKSTART).is_file()
    (tmp_path / QUICKSTART).write_text("{}")  # the researcher's edits
    copied, kept = _prepare(tmp_path, fresh=False)
    assert copied == 0 and kept >= 4 and (tmp_path / QUICKSTART).read_text() == "{}"
    copied, _ = _prepare(tmp_path, fresh=True)
    assert copied >= 4 and (tmp_path / QUICKSTART).read_text() != "{}"


def test_demo_without_a_checkout_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import workbench.notebook
    from workbench.cli._common import CliError
    from workbench.cli.demo import _prepare

    monkeypatch.setattr(workbench.notebook, "repo_root", lambda: None)
    with pytest.raises(CliError, match="from a clone"):
        _prepare(tmp_path, fresh=False)
