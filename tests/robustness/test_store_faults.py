"""Unusable, damaged and replaced store files (issue 14, defects 1 and 7): one-line errors that say
what to do (never "remove the file"), reads on read-only stores, writes refused on a damaged file,
and no write acknowledged into a file that was replaced."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench.cli import main as cli_main
from workbench.errors import NotFoundError, StoreError, ValidationError
from workbench.store import StoreReplacedError

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make(path: Path, n: int = 40) -> list[str]:
    with wb.Store(path) as store:
        items = [
            wb.Trajectory(prompt=f"q{i}", raw=f"<think>{'x' * 3000}</think>a{i}", metadata={"i": i})
            for i in range(n)
        ]
        ids = store.add_trajectories(items).inserted
    conn = sqlite3.connect(path)  # everything into the main file, so damage to it is damage
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids


_PRISTINE: list[tuple[Path, list[str]]] = []


def _pristine(factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    if not _PRISTINE:
        path = factory.mktemp("pristine") / "s.db"
        _PRISTINE.append((path, make(path)))
    return _PRISTINE[0]


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text, text
    advice = re.search(r"\b(remove|delete|rm)\b (the|this|that|it)\b", text.lower())
    assert advice is None, text
    return text


def test_a_folder_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        wb.Store(tmp_path)
    assert "is a folder" in one_line(info.value)
    assert cli_main(["ls", "--store", str(tmp_path)]) == 2


def test_ls_on_an_empty_file_leaves_it_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    assert cli_main(["ls", "--store", str(empty)]) == 2
    assert "empty file" in capsys.readouterr().err
    assert empty.stat().st_size == 0
    with pytest.raises(StoreError, match="empty file"):
        wb.Store(empty, create=False)


def test_text_file_is_refused_with_recovery_advice(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not sqlite " * 500)
    with pytest.raises(StoreError) as info:
        wb.Store(path)
    assert ".recover" in one_line(info.value)
    assert path.read_text().startswith("not sqlite")


@pytest.mark.parametrize("negative", [{"limit": -1}, {"offset": -3}, {"limit": True}])
def test_negative_limit_and_offset_refused(tmp_path: Path, negative: dict) -> None:
    make(tmp_path / "s.db", n=2)
    with wb.Store(tmp_path / "s.db") as store, pytest.raises(ValidationError):
        store.list_trajectories(**negative)


@pytest.mark.parametrize("option", ["--limit", "--offset"])
def test_cli_refuses_negative_counts(tmp_path: Path, option: str) -> None:
    make(tmp_path / "s.db", n=2)
    with pytest.raises(SystemExit) as info:
        cli_main(["ls", "--store", str(tmp_path / "s.db"), option, "-1"])
    assert info.value.code == 2


# -- read-only ------------------------------------------------------------------------------------
def test_reads_work_when_the_store_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ro.db"
    ids = make(path, n=3)
    # as root chmod does not stop writes, so say what a read-only mount says
    monkeypatch.setattr("workbench.store._connection._can_write", lambda p: False)
    with wb.Store(path) as store:
        assert store.readonly and len(store) == 3 and store.get(ids[0]).id == ids[0]
        with pytest.raises(StoreError) as info:
            store.add_annotation(ids[0], "rating", 3)
        assert "read-only" in one_line(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_chmod_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    make(path, n=2)
    path.chmod(0o444)
    with wb.Store(path) as store:
        assert len(store) == 2
        with pytest.raises(StoreError, match="read-only"):
            store.add_annotation(store.list_trajectories()["id"][0], "rating", 1)


def test_immutable_fallback_reads_a_store_whose_folder_refuses_the_shm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ro.db"
    make(path, n=2)
    real_connect = sqlite3.connect
    tried: list[str] = []

    def connect(target: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        tried.append(str(target))
        if "immutable=1" not in str(target) and kwargs.get("uri"):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", connect)
    with wb.Store(path, readonly=True) as store:
        assert len(store) == 2
    assert any("immutable=1" in t for t in tried), tried


# -- damage ---------------------------------------------------------------------------------------
@FAST
@given(
    where=st.floats(min_value=0.05, max_value=0.95),
    size=st.integers(min_value=16, max_value=8192),
    byte=st.integers(min_value=0, max_value=255),
)
# found by this test: 0x80 bytes in the schema text, whose SQLite message is not UTF-8 either
@example(where=0.3125, size=16, byte=128)
def test_damage_anywhere_gives_one_line_errors(
    tmp_path_factory: pytest.TempPathFactory, where: float, size: int, byte: int
) -> None:
    pristine, ids = _pristine(tmp_path_factory)
    path = tmp_path_factory.mktemp("damage") / "s.db"
    shutil.copy(pristine, path)
    length = path.stat().st_size
    start = max(100, int(length * where))  # past the header: "corrupted in the middle"
    with open(path, "r+b") as f:
        f.seek(start)
        f.write(bytes([byte]) * size)
    try:
        store = wb.Store(path)
    except StoreError as exc:
        one_line(exc)
        return
    with store:
        problems = store.check()
        for action in (
            lambda: store.list_trajectories(metadata={"i": 3}),
            lambda: [store.get(i) for i in ids],
            lambda: store.add_annotation(ids[0], "rating", 4),
        ):
            try:
                action()
            except (StoreError, NotFoundError, ValidationError) as exc:
                one_line(exc)
        if problems:
            with pytest.raises(StoreError) as info:
                store.add(wb.Trajectory(prompt="new", raw="text"))
            assert "damaged" in one_line(info.value) and ".recover" in str(info.value)


def test_check_reports_damage_and_writes_refuse(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    ids = make(path, n=60)
    with open(path, "r+b") as f:  # wreck an interior page of the bodies' b-tree
        f.seek(path.stat().st_size // 2)
        f.write(b"\x0d" * 4096)
    with wb.Store(path) as store:
        assert store.check()
        with pytest.raises(StoreError, match="damaged") as info:
            store.add_annotation(ids[0], "rating", 1)
        one_line(info.value)
        with pytest.raises(StoreError):
            store.check(raise_error=True)


# -- file replacement -----------------------------------------------------------------------------
def test_a_replaced_file_is_followed(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    ids = make(path, n=3)
    backup = tmp_path / "backup.db"
    shutil.copy(path, backup)
    with wb.Store(path) as store:
        store.add_annotation(ids[0], "rating", 1)
        os.replace(backup, path)  # restored from a backup taken before that annotation
        store.add_annotation(ids[0], "rating", 5)
        assert [a.value for a in store.get_annotations(ids[0])] == [5]
    with wb.Store(path, readonly=True) as fresh:
        assert [a.value for a in fresh.get_annotations(ids[0])] == [5]


def test_a_removed_file_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    ids = make(path, n=2)
    with wb.Store(path) as store:
        path.rename(tmp_path / "moved.db")
        with pytest.raises(StoreReplacedError) as info:
            store.add_annotation(ids[0], "rating", 1)
        one_line(info.value)


def test_a_replacement_during_a_write_is_not_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    ids = make(path, n=2)
    other = tmp_path / "other.db"
    shutil.copy(path, other)
    with wb.Store(path) as store:
        with pytest.raises(StoreReplacedError), store._write() as conn:
            conn.execute(
                "INSERT INTO annotations (trajectory_id, segment_id, kind, value, author, created_at)"
                " VALUES (?, NULL, 'rating', '1', 'me', 0)",
                (ids[0],),
            )
            os.replace(other, path)
        assert store.get_annotations(ids[0]) == []


def test_a_large_files_first_write_checks_all_but_the_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over WRITE_CHECK_TEXTS_MAX_BYTES the first write skips the texts (a full quick_check of a
    15 GB store takes about 50 s); Store.check() still reads everything."""
    from workbench.store import _connection

    path = tmp_path / "s.db"
    ids = make(path, n=60)
    with open(path, "r+b") as f:  # wreck an interior page of the bodies' b-tree
        f.seek(path.stat().st_size // 2)
        f.write(b"\x0d" * 4096)
    monkeypatch.setattr(_connection, "WRITE_CHECK_TEXTS_MAX_BYTES", 0)
    with wb.Store(path) as store:
        assert store.check(texts=False) == []  # every table but the texts is intact
        store.add_annotation(ids[0], "rating", 1)  # so the first write goes ahead
        assert store.check()  # while the full check still finds the damage
        assert len(store.list_annotations()) == 1
