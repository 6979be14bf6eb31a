"""Importer fuzz (issue 14, defects 4, 5 and 7): files of JSONL, CSV and Parquet records with hostile
values. Whatever the file holds, every valid record is kept, every bad one is reported by its line or
row with a reason, nothing raises a traceback, the store passes ``quick_check`` afterwards, and a
second import adds nothing."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench.cli import main as cli_main
from workbench.errors import ImportFormatError, StoreError
from workbench.store.importers import import_file, parse_mapping

FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Cell text: commas, quotes and newlines included; never starting with a comma or newline, the one
# way an unclosed quote earlier in a CSV file could close into a well-formed row (see the docs).
TEXT = st.text(st.sampled_from('ab c,"\n\u00e9\u4e2d.'), max_size=12).filter(
    lambda s: not s.startswith((",", "\n"))
)

GOOD = ("plain", "nan_grade", "inf_grade", "nan_meta", "big_ok", "bool_grade")
BAD_JSON = (
    "huge_grade", "huge_meta", "very_deep", "deep", "surrogate", "bad_utf8",
    "wrong_type", "bad_grade", "not_json", "digits",
)  # fmt: skip
BAD_CSV = ("too_few", "too_many", "unclosed", "bad_utf8", "bad_grade", "inf_text_grade")


@contextmanager
def fresh_store() -> Iterator[tuple[wb.Store, Path]]:
    with tempfile.TemporaryDirectory() as tmp, wb.Store(Path(tmp) / "s.db") as store:
        yield store, Path(tmp)


def _json_line(i: int, kind: str, text: str) -> bytes:
    rec: dict[str, Any] = {"id": f"r{i}", "prompt": f"q{i} {text}", "response": f"a {text}"}
    extra = ""
    if kind == "nan_grade":
        rec["grade"] = math.nan
    elif kind == "inf_grade":
        rec["grade"] = -math.inf
    elif kind == "nan_meta":
        rec["score"] = [math.nan, math.inf]
    elif kind == "big_ok":
        rec["n"] = 2**62
    elif kind == "bool_grade":
        rec["grade"] = True
    elif kind == "huge_grade":
        rec["grade"] = 10**400
    elif kind == "huge_meta":
        rec["n"] = 2**64
    elif kind == "very_deep":  # deeper than the JSON parser's recursion limit
        extra = ', "x": ' + "[" * 5000 + "]" * 5000
    elif kind == "deep":  # readable, but deeper than the store keeps
        extra = ', "x": ' + "[" * 100 + "]" * 100
    elif kind == "surrogate":
        rec["response"] = "a \ud800 b"
    elif kind == "wrong_type":
        rec["response"] = {"text": 42}
    elif kind == "bad_grade":
        rec["grade"] = "maybe"
    elif kind == "digits":  # an integer beyond Python's int-from-text limit
        extra = ', "n": ' + "7" * 5000
    line = json.dumps(rec)  # NaN / Infinity written as JSON's common extension
    if extra:
        line = line[:-1] + extra + "}"
    blob = line.encode("utf-8")
    if kind == "bad_utf8":
        blob = blob.replace(b'"a ', b'"a \xff\xfe ', 1)
    if kind == "not_json":
        blob = blob[: len(blob) // 2]
    return blob + b"\n"


def _csv_row(i: int, kind: str, text: str) -> bytes:
    grade = {"nan_grade": "NaN", "inf_grade": "", "bool_grade": "true", "bad_grade": "maybe",
             "inf_text_grade": "1" + "0" * 400}.get(kind, "")  # fmt: skip
    cells = [f"r{i}", f"q{i} {text}", f"a {text}", grade]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    line = out.getvalue()
    if kind == "too_few":
        line = f"r{i},q{i}\n"
    elif kind == "too_many":
        line = f"r{i},q{i},a,,surplus\n"
    elif kind == "unclosed":
        line = f'r{i},q{i},"a never closed {i},\n'
    blob = line.encode("utf-8")
    if kind == "bad_utf8":
        blob = f"r{i},q{i},a \udcff,\n".encode("utf-8", "surrogateescape")
    return blob


def check(
    store: wb.Store, path: Path, good: set[str], bad: set[str], *, truncated: bool = False
) -> wb.ImportReport:
    """Import ``path``; assert what was kept, what was reported, and that a re-import adds nothing."""
    report = import_file(store, path)
    kept = set(store.list_trajectories()["source_id"].to_list())
    assert kept == good, (kept ^ good, report.errors)
    where = {e.location for e in report.errors}
    assert where == bad, (where ^ bad, report.errors)
    for e in report.errors:
        assert e.reason and "\n" not in e.reason and "Traceback" not in e.reason, e
    assert report.imported == len(good)
    assert store.check() == []
    again = import_file(store, path)
    assert again.imported == 0 and len(again.errors) == len(report.errors)
    assert len(store) == len(good)
    return report


def _locations(kinds: list[tuple[str, str]], make: Any, bad_kinds: tuple[str, ...], first: int):
    """Build the file's bytes and the expected good ids and bad locations."""
    blobs, good, bad, line = [], set(), set(), first
    for i, (kind, text) in enumerate(kinds):
        blob = make(i, kind, text)
        if kind in bad_kinds:
            bad.add(f"line {line}")
        else:
            good.add(f"r{i}")
        blobs.append(blob)
        line += blob.count(b"\n")
    return b"".join(blobs), good, bad


@FAST
@given(
    st.lists(st.tuples(st.sampled_from(GOOD + BAD_JSON), TEXT), min_size=1, max_size=8),
    st.booleans(),
)
def test_jsonl_fuzz(records: list[tuple[str, str]], gz: bool) -> None:
    records = [("plain", "first"), *records]  # the first record fixes the layout
    data, good, bad = _locations(records, _json_line, BAD_JSON, 1)
    with fresh_store() as (store, tmp):
        path = tmp / ("t.jsonl.gz" if gz else "t.jsonl")
        path.write_bytes(gzip.compress(data) if gz else data)
        check(store, path, good, bad)


@FAST
@given(
    st.lists(st.tuples(st.sampled_from(GOOD + BAD_CSV), TEXT), min_size=1, max_size=8),
    st.booleans(),
)
def test_csv_fuzz(rows: list[tuple[str, str]], gz: bool) -> None:
    rows = [(k if k in BAD_CSV or k in ("plain", "nan_grade", "bool_grade") else "plain", t)
            for k, t in rows]  # fmt: skip
    rows = [("plain", "first"), *rows]
    data, good, bad = _locations(rows, _csv_row, BAD_CSV, 2)
    with fresh_store() as (store, tmp):
        path = tmp / ("t.csv.gz" if gz else "t.csv")
        data = b"id,prompt,response,grade\n" + data
        path.write_bytes(gzip.compress(data) if gz else data)
        report = check(store, path, good, bad)
        ungraded = store.list_trajectories(graded=False)["source_id"].to_list()
        nan_ids = {f"r{i}" for i, (k, _) in enumerate(rows) if k == "nan_grade"}
        assert nan_ids <= set(ungraded), report.errors


@FAST
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), TEXT),
            st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0, 0.5, None]),
            st.sampled_from([0, 2**62, 2**63 - 1]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["ok", "huge_uint", "string_grade"]),
)
def test_parquet_fuzz(rows: list[tuple[str | None, float | None, int]], twist: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(rows)
    columns: dict[str, Any] = {
        "id": [f"r{i}" for i in range(n)],
        "prompt": [f"q{i}" for i in range(n)],
        "response": [r[0] for r in rows],
        "grade": [r[1] for r in rows],
        "n": [r[2] for r in rows],
    }
    good = {f"r{i}" for i in range(n)}
    bad: set[str] = set()
    if twist == "huge_uint":  # beyond the 64-bit signed integers the store keeps
        columns["n"] = pa.array([2**64 - 1 if i % 2 else 1 for i in range(n)], pa.uint64())
        bad = {f"row {i + 1}" for i in range(n) if i % 2}
        good = {f"r{i}" for i in range(n) if not i % 2}
    elif twist == "string_grade":
        columns["grade"] = ["maybe" if i % 2 else "yes" for i in range(n)]
        bad = {f"row {i + 1}" for i in range(n) if i % 2}
        good = {f"r{i}" for i in range(n) if not i % 2}
    with fresh_store() as (store, tmp):
        path = tmp / "t.parquet"
        pq.write_table(pa.table(columns), path)
        check(store, path, good, bad)
        graded = store.list_trajectories(graded=True)["source_id"].to_list()
        for i, (_, grade, _) in enumerate(rows):
            if twist != "string_grade" and (grade is None or not math.isfinite(grade)):
                assert f"r{i}" not in graded  # NaN / ±Inf grades: no grade


def _gz_truncation(records: int, cut: float) -> None:
    data = b"".join(_json_line(i, "plain", "x" * (i % 7)) for i in range(records))
    packed = gzip.compress(data)
    end = 20 + int((len(packed) - 21) * cut)  # past the gzip header, before the last byte
    with fresh_store() as (store, tmp):
        path = tmp / "t.jsonl.gz"
        path.write_bytes(packed[:end])
        report = import_file(store, path)
        kept = sorted(store.list_trajectories()["source_id"].to_list(), key=lambda s: int(s[1:]))
        assert kept == [f"r{i}" for i in range(len(kept))]  # a prefix, whole lines only
        assert [e.location for e in report.errors] == [f"line {len(kept) + 1}"]
        assert "truncated" in report.errors[0].reason
        assert store.check() == []
        assert import_file(store, path).imported == 0


@FAST
@given(st.integers(min_value=50, max_value=400), st.floats(min_value=0.0, max_value=1.0))
def test_truncated_gz_keeps_whole_lines_and_says_where(records: int, cut: float) -> None:
    _gz_truncation(records, cut)


@pytest.mark.slow
@SLOW
@given(st.integers(min_value=50, max_value=5_000), st.floats(min_value=0.0, max_value=1.0))
def test_truncated_gz_slow(records: int, cut: float) -> None:
    _gz_truncation(records, cut)


@pytest.mark.slow
@SLOW
@given(st.lists(st.tuples(st.sampled_from(GOOD + BAD_JSON), TEXT), min_size=1, max_size=40))
def test_jsonl_fuzz_slow(records: list[tuple[str, str]]) -> None:
    test_jsonl_fuzz.hypothesis.inner_test(records, False)  # type: ignore[attr-defined]


@pytest.mark.slow
@SLOW
@given(st.lists(st.tuples(st.sampled_from(GOOD + BAD_CSV), TEXT), min_size=1, max_size=40))
def test_csv_fuzz_slow(rows: list[tuple[str, str]]) -> None:
    test_csv_fuzz.hypothesis.inner_test(rows, True)  # type: ignore[attr-defined]


# -- named cases ------------------------------------------------------------------------------------
def test_unclosed_quote_swallows_nothing(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('prompt,response\nq1,"never closed\nq2,r2\nq3,"r, 3"\nq4,r4\n')
    with wb.Store(tmp_path / "s.db") as store:
        report = import_file(store, path)
        assert [str(e).split(":")[0] for e in report.errors] == ["line 2"]
        assert "quote" in report.errors[0].reason
        assert report.imported == 3


def test_truncated_json_gz_is_refused_before_writing(tmp_path: Path) -> None:
    packed = gzip.compress(json.dumps([{"prompt": "q", "response": "a"}] * 500).encode())
    path = tmp_path / "t.json.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with wb.Store(tmp_path / "s.db") as store:
        with pytest.raises(ImportFormatError, match="truncated"):
            import_file(store, path)
        assert len(store) == 0


def test_not_gzip_and_bad_utf8_json(tmp_path: Path) -> None:
    with wb.Store(tmp_path / "s.db") as store:
        (tmp_path / "plain.jsonl.gz").write_text('{"prompt": "q", "response": "a"}\n')
        with pytest.raises(ImportFormatError, match="not gzip data"):
            import_file(store, tmp_path / "plain.jsonl.gz")
        (tmp_path / "b.json").write_bytes(b'[{"prompt": "q",\n "response": "\xff"}]')
        with pytest.raises(ImportFormatError, match="line 2: invalid UTF-8"):
            import_file(store, tmp_path / "b.json")
        (tmp_path / "deep.json").write_text('{"a": ' + "[" * 3000 + "]" * 3000 + "}")
        with pytest.raises(ImportFormatError, match="nested deeper"):
            import_file(store, tmp_path / "deep.json")
        assert len(store) == 0


def test_map_typo_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "t.jsonl"
    data.write_text('{"q": "Q", "out": "A", "who": "m1", "level": 3, "grader": "g"}\n')
    db = str(tmp_path / "s.db")
    assert cli_main(["import", str(data), "--store", db, "--map", "modle=who"]) == 2
    err = capsys.readouterr().err
    assert "did you mean model?" in err and "meta.modle=who" in err and err.count("\n") == 1
    with pytest.raises(ImportFormatError, match="did you mean grade"):
        parse_mapping(["grader=grader"])
    with wb.Store(db) as store:
        assert len(store) == 0
    argv = ["import", str(data), "--store", db, "--map", "prompt=q", "--map", "response=out"]
    argv += ["--map", "model=who", "--map", "meta.modle=who", "--map", "difficulty=level"]
    argv += ["--map", "metadata.grader=grader"]
    assert cli_main(argv) == 0
    with wb.Store(db) as store:
        t = store.get(store.list_trajectories()["id"][0])
        assert t.model == "m1"
        assert t.metadata == {"modle": "m1", "difficulty": 3, "grader": "g"}


def test_import_refuses_a_damaged_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    with wb.Store(db) as store:
        store.add_trajectories(
            [wb.Trajectory(prompt=f"q{i}", raw="x" * 4000, metadata={"i": i}) for i in range(60)]
        )
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(db, "r+b") as f:
        f.seek(db.stat().st_size // 2)
        f.write(b"\x0d" * 4096)
    data = tmp_path / "t.jsonl"
    data.write_text('{"prompt": "q", "response": "a"}\n')
    with wb.Store(db) as store, pytest.raises(StoreError, match="damaged.*nothing was written"):
        import_file(store, data)
    assert cli_main(["import", str(data), "--store", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".recover" in err and "remove" not in err
