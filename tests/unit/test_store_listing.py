"""The listing cache (``workbench.store._listing``): listings equal to SQL's at every moment."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench.store._listing as listing
import workbench.store._trajectories as trajectories
from workbench import Store, Trajectory
from workbench.store.schema import MIGRATIONS

MODELS = ["QwQ-32B", "DeepSeek-R1", None, "Ωmega", "a"]


def make(i: int) -> Trajectory:
    return Trajectory(
        prompt=f"question {i}",
        raw=f"<think>{'step ' * (i % 7)}wait {i}</think>answer {i}",
        model=MODELS[i % len(MODELS)],
        source="synthetic",
        source_id=str(i),
        metadata={"question_id": f"q{i % 4}"},
        tags=["odd"] if i % 2 else [],
    )


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chunks of 16 rows, every full listing through the cache, auto refresh at 8 rows."""
    monkeypatch.setattr(listing, "CHUNK_ROWS", 16)
    monkeypatch.setattr(trajectories, "MIN_CACHED_PAGE", 0)
    monkeypatch.setattr(trajectories, "AUTO_CACHE_ROWS", 8)
    yield


def sql_listing(store: Store, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> pl.DataFrame:
    """The listing straight from SQL (the cache bypassed)."""
    with monkeypatch.context() as m:
        m.setattr(trajectories, "MIN_CACHED_PAGE", 10**12)
        return store.list_trajectories(**kwargs)


def delete_rows(store: Store, where: str) -> None:
    """Delete trajectories by hand (as a repair script would), with their bodies."""
    with store._write() as conn:
        rowids = [r[0] for r in conn.execute(f"SELECT rowid FROM trajectories WHERE {where}")]
        for table, column in (("trajectory_bodies", "traj_rowid"), ("token_arrays", "traj_rowid")):
            conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(r,) for r in rowids])
        conn.executemany("DELETE FROM trajectories WHERE rowid = ?", [(r,) for r in rowids])


def chunks(store: Store) -> list[tuple[int, int, int]]:
    return [tuple(r) for r in store._read(
        "SELECT first_rowid, last_rowid, n_rows FROM listing_chunks ORDER BY 1")]  # fmt: skip


def assert_all_orders_equal(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for order_by in ("created", "grade", "thinking_chars", "model", "id"):
        for descending in (False, True):
            for page in ({}, {"limit": 5, "offset": 3}, {"offset": 2}, {"limit": 0}):
                kw: dict[str, Any] = {"order_by": order_by, "descending": descending, **page}
                got = store.list_trajectories(**kw)
                want = sql_listing(store, monkeypatch, **kw)
                assert got.schema == want.schema, kw
                assert got.equals(want), kw


@pytest.mark.usefixtures("small_chunks")
def test_cached_listing_equals_sql_through_adds_updates_and_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trajectories, "AUTO_CACHE_ROWS", 10**9)  # only the explicit refreshes
    store = Store(tmp_path / "s.db")
    store.add_trajectories([make(i) for i in range(60)])
    assert store.cache_listing() == 60
    assert [c[2] for c in chunks(store)] == [16, 16, 16, 12]
    assert chunks(store)[0][0] == -(2**63)  # the ranges start at SQLite's smallest row id
    assert_all_orders_equal(store, monkeypatch)
    ids = store.list_trajectories()["id"].to_list()
    store.update(ids[3], grade=0.5, tags=["x"])
    store.update(ids[20], grade=True, metadata={"judge": 1})
    store.update(ids[21], status="partial")
    assert store.info()["listing_uncached"] == 3  # recorded by the triggers, still exact:
    assert_all_orders_equal(store, monkeypatch)
    # delete the tail and reuse its row ids: the insert trigger marks reused ids in covered ranges
    delete_rows(store, f"rowid > {chunks(store)[-1][1] - 8}")
    store.add_trajectories([make(i) for i in range(100, 104)])
    assert_all_orders_equal(store, monkeypatch)
    # a gap inside a chunk (a row deleted before the chunk was written) that is reused later
    delete_rows(store, "rowid IN (30, 31)")
    store.cache_listing()
    delete_rows(store, "rowid > 29")
    store.add_trajectories([make(i) for i in range(200, 203)])  # row ids 30, 31, 32
    assert_all_orders_equal(store, monkeypatch)
    store.cache_listing()
    assert store.info()["listing_uncached"] == 0
    assert_all_orders_equal(store, monkeypatch)
    assert store._read("SELECT count(*) FROM listing_stale") == [(0,)]


@pytest.mark.usefixtures("small_chunks")
def test_a_large_listing_refreshes_the_cache_and_a_read_only_one_never_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.add_trajectories([make(i) for i in range(7)])
        store.list_trajectories()
        assert chunks(store) == []  # 7 rows uncovered < AUTO_CACHE_ROWS: SQL lists them
        store.add_trajectories([make(i) for i in range(7, 40)])
    with Store(path, readonly=True) as ro:
        frame = ro.list_trajectories()
        assert chunks(ro) == [] and frame.height == 40
    with Store(path) as store:
        assert store.list_trajectories().equals(sql_listing(store, monkeypatch))
        assert sum(c[2] for c in chunks(store)) == 40
        store.add_trajectories([make(i) for i in range(40, 45)])
        store.list_trajectories()
        assert sum(c[2] for c in chunks(store)) == 40  # 5 new rows: read from SQL, not cached
    with Store(path, readonly=True) as ro:  # a read-only store uses the cache and the tail
        assert ro.list_trajectories().equals(sql_listing(ro, monkeypatch))


@pytest.mark.usefixtures("small_chunks")
def test_listing_skips_the_refresh_while_another_writer_holds_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.add_trajectories([make(i) for i in range(30)])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Store(path) as store:
            frame = store.list_trajectories()  # does not wait the 60 s busy timeout
            assert frame.height == 30 and chunks(store) == []
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.usefixtures("small_chunks")
def test_chunks_of_another_layout_or_damaged_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.db")
    store.add_trajectories([make(i) for i in range(20)])
    store.cache_listing()
    want = sql_listing(store, monkeypatch)
    with store._write() as conn:
        conn.execute("UPDATE listing_chunks SET layout = 'v0:old'")
    assert store.info()["listing_cached"] == 0
    assert store.list_trajectories().equals(want)  # rebuilt for this layout by the listing
    assert {r[0] for r in store._read("SELECT layout FROM listing_chunks")} == {
        listing.layout_of(trajectories._CACHED_SCHEMA)
    }
    with store._write() as conn:
        conn.execute("UPDATE listing_chunks SET data = X'00010203'")
    with pytest.warns(RuntimeWarning, match="cache_listing.rebuild=True"):
        assert store.list_trajectories().equals(want)
    assert store.cache_listing(rebuild=True) == 20
    assert store.list_trajectories().equals(want)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(1, 20)),
            st.tuples(st.just("grade"), st.integers(0, 200), st.floats(0, 1)),
            st.tuples(st.just("delete"), st.integers(0, 200)),
            st.tuples(st.just("cache"), st.just(0)),
            st.tuples(st.just("list"), st.sampled_from(["created", "grade", "model", "id"])),
        ),
        max_size=14,
    ),
    auto=st.sampled_from([5, 10**9]),
)
def test_any_sequence_of_writes_lists_like_sql(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    ops: list[Any],
    auto: int,
) -> None:
    monkeypatch.setattr(listing, "CHUNK_ROWS", 8)
    monkeypatch.setattr(trajectories, "MIN_CACHED_PAGE", 0)
    monkeypatch.setattr(trajectories, "AUTO_CACHE_ROWS", auto)
    store = Store(tmp_path_factory.mktemp("prop") / "s.db")
    store.add_trajectories([make(i) for i in range(10)])
    store.cache_listing()
    counter = 1_000
    for op in ops:
        ids = sql_listing(store, monkeypatch, columns=["id"])["id"].to_list()
        if op[0] == "add":
            store.add_trajectories([make(counter + k) for k in range(op[1])])
            counter += op[1]
        elif op[0] == "grade" and ids:
            store.update(ids[op[1] % len(ids)], grade=op[2])
        elif op[0] == "delete" and ids:
            delete_rows(store, f"id = '{ids[op[1] % len(ids)]}'")
        elif op[0] == "cache":
            store.cache_listing()
        elif op[0] == "list":
            kw = {"order_by": op[1], "descending": op[1] == "grade"}
            assert store.list_trajectories(**kw).equals(sql_listing(store, monkeypatch, **kw))
    assert store.list_trajectories().equals(sql_listing(store, monkeypatch))
    store.close()


def test_a_v7_store_migrates_to_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    with Store(path, migrations=MIGRATIONS[:7]) as old:
        old.add_trajectories([make(i) for i in range(12)])
        before = old.list_trajectories()
    with Store(path) as new:
        assert new.schema_version == 8 and chunks(new) == []
        assert new.list_trajectories().equals(before)
        assert new.cache_listing() == 12 and new.list_trajectories().equals(before)
