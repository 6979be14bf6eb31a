from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench import Store
from workbench.cli import main

ROWS = [
    {
        "id": "q1",
        "prompt": "2+2?",
        "response": "<think>four</think>4",
        "model": "r1",
        "category": "math",
    },
    {"id": "q2", "prompt": "3+3?", "response": "six</think>6", "model": "qwq", "category": "math"},
    {"id": "q3", "prompt": "hi", "response": "hello", "model": "base", "category": "chat"},
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_ls_show_info(
    data: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "import", str(data), "--store", str(store_path))
    assert code == 0 and "imported 3" in out
    code, out, _ = run(capsys, "ls", "--store", str(store_path), "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3
    required = {
        "id",
        "source_id",
        "model",
        "status",
        "think_format",
        "thinking_chars",
        "answer_chars",
        "grade",
        "metadata",
    }
    for row in rows:
        assert required <= set(row)
        assert isinstance(row["metadata"], dict) and row["grade"] is None
    assert [
        (r["source_id"], r["think_format"], r["thinking_chars"], r["answer_chars"]) for r in rows
    ] == [("q1", "tags", 4, 1), ("q2", "close_only", 3, 1), ("q3", "none", 0, 5)]
    assert rows[0]["metadata"] == {"category": "math"}

    code, out, _ = run(
        capsys, "ls", "--store", str(store_path), "--meta", "category=chat", "--json"
    )
    assert [r["source_id"] for r in json.loads(out)] == ["q3"]
    code, out, _ = run(capsys, "ls", "--store", str(store_path), "--model", "r1", "--model", "qwq")
    assert "(2 trajectories)" in out
    code, out, _ = run(capsys, "ls", "--store", str(store_path), "--search", "SIX", "--json")
    assert [r["source_id"] for r in json.loads(out)] == ["q2"]

    tid = rows[0]["id"]
    with Store(store_path) as s:
        s.add_annotation(tid, "rating", 5, author="tester")
    code, out, _ = run(capsys, "show", tid[:8], "--store", str(store_path))
    assert code == 0 and "four" in out and "rating" in out
    code, out, _ = run(capsys, "show", tid, "--store", str(store_path), "--json")
    shown = json.loads(out)
    assert shown["thinking_span"] and shown["annotations"][0]["value"] == 5

    code, out, _ = run(capsys, "info", "--store", str(store_path), "--json")
    info = json.loads(out)
    assert info["counts"]["trajectories"] == 3 and info["think_formats"]["tags"] == 1
    code, out, _ = run(capsys, "info", "--store", str(store_path))
    assert "trajectories  3" in out


def test_graded_filters(data: Path, store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "import", str(data), "--store", str(store_path))
    with Store(store_path) as s:
        ids = s.list_trajectories()["id"].to_list()
        s.update(ids[0], grade=True)
        s.update(ids[1], grade=0.25)
    _, out, _ = run(capsys, "ls", "--store", str(store_path), "--grade", "0.5:", "--json")
    assert [r["grade"] for r in json.loads(out)] == [
        {"correct": True, "score": 1.0, "grader": "manual"}
    ]
    _, out, _ = run(capsys, "ls", "--store", str(store_path), "--correct", "true", "--json")
    assert len(json.loads(out)) == 1
    _, out, _ = run(capsys, "ls", "--store", str(store_path), "--correct", "false", "--json")
    assert json.loads(out) == []  # a score alone is no verdict
    _, out, _ = run(capsys, "ls", "--store", str(store_path), "--ungraded", "--json")
    assert len(json.loads(out)) == 1
    code, _, err = run(capsys, "ls", "--store", str(store_path), "--grade", "high")
    assert code == 2 and "expected a number or a range" in err


def test_env_var_names_the_store(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "env.db"))
    assert run(capsys, "import", str(data))[0] == 0
    assert (tmp_path / "env.db").exists()
    _, out, _ = run(capsys, "ls", "--json")
    assert len(json.loads(out)) == 3


def test_errors_are_one_line_with_nonzero_exit(
    tmp_path: Path, data: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "ls", "--store", str(tmp_path / "none.db"))
    assert code == 2 and err.count("\n") == 1 and "workbench import" in err
    assert not (tmp_path / "none.db").exists()
    code, _, err = run(
        capsys, "import", str(tmp_path / "missing.jsonl"), "--store", str(store_path)
    )
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "import", str(data), "--store", str(store_path), "--map", "response")
    assert code == 2 and "expected target=source" in err
    run(capsys, "import", str(data), "--store", str(store_path))
    code, _, err = run(capsys, "show", "zzzz", "--store", str(store_path))
    assert code == 2 and "workbench ls" in err
    code, _, err = run(capsys, "import", "--store", str(store_path))
    assert code == 2 and "--sample" in err


def test_rejected_records_give_exit_1_and_keep_valid_ones(
    tmp_path: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n" + json.dumps(ROWS[1]) + "\n")
    code, out, err = run(capsys, "import", str(path), "--store", str(store_path), "--json")
    report = json.loads(out)[0]
    assert code == 1 and report["imported"] == 2
    assert report["errors"][0]["location"] == "line 2"
    assert "the valid ones are stored" in err
    with Store(store_path) as s:
        assert len(s) == 2


def test_sample_import_and_console_script(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    proc = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "import", "--sample", "--store", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with Store(db) as s:
        formats = set(s.list_trajectories()["think_format"].to_list())
    assert formats == {"tags", "close_only", "none", "empty", "unterminated", "field"}


def test_generate_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.jsonl"
    bad.write_text("[1, 2]\n")
    code, _, err = run(capsys, "generate", "--prompts", str(bad), "--store", str(tmp_path / "t.db"))
    assert code == 2 and "line 1" in err
    code, _, err = run(
        capsys,
        "generate",
        "--model",
        "no-such-model",
        "--prompt",
        "x",
        "--store",
        str(tmp_path / "t.db"),
    )
    assert code == 2 and "smollm2-135m" in err
    code, _, err = run(
        capsys,
        "generate",
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--prompt",
        "x",
        "--store",
        str(tmp_path / "t.db"),
    )
    assert code == 2 and "cannot connect" in err


def test_import_indexes_for_search_and_index_catches_up(
    data: Path, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, "import", str(data), "--store", str(store_path))
    assert code == 0
    with Store(store_path) as store:
        assert store.has_search_index and store.search_pending == 0  # import indexed it
        from workbench import Trajectory

        store.add(Trajectory(prompt="added from Python", raw="<think>zebra</think>z"))
        assert store.search_pending == 1
    code, out, _ = run(capsys, "info", "--store", str(store_path), "--json")
    info = json.loads(out)
    assert info["search_pending"] == 1
    assert info["listing_cached"] == 3 and info["listing_uncached"] == 1  # import cached it
    code, out, _ = run(capsys, "index", "--store", str(store_path), "--json")
    assert code == 0 and json.loads(out)["indexed"] == 1 and json.loads(out)["listing_cached"] == 4
    code, out, _ = run(capsys, "index", "--store", str(store_path))
    assert code == 0 and "up to date" in out
    code, out, _ = run(capsys, "ls", "--store", str(store_path), "--search", "zebra", "--json")
    assert [r["snippet"]["match"] for r in json.loads(out)] == ["zebra"]
    # --no-index leaves the rows waiting; searches find them anyway
    other = store_path.with_name("other.db")
    code, _, _ = run(capsys, "import", str(data), "--store", str(other), "--no-index")
    with Store(other) as store:
        assert store.search_pending == 3 and store.count(search="SIX") == 1
