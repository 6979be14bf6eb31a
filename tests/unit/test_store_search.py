"""Full-text search of the store: the FTS5 index gives exactly the results of a full scan."""

from __future__ import annotations

import json
import random
import sqlite3
import warnings
from pathlib import Path

import pytest

import workbench as wb
from workbench import Store, StoreError, Trajectory
from workbench.store._search import (
    FTS_TABLE,
    build_search_index,
    create_search_index,
    fts5_available,
    match_expression,
)
from workbench.store.query import build_where
from workbench.store.schema import MIGRATIONS

pytestmark = pytest.mark.skipif(not fts5_available(), reason="this SQLite has no FTS5 trigram")

WORDS = [
    "wait",
    "hmm",
    "so",
    "the",
    "sum",
    "of",
    "roots",
    "is",
    "equal",
    "check",
    "again",
    "maybe",
    "x^2",
    "n+1",
    "answer",
    "boxed",
    "Wait,",
    "WAIT",
    "naïve",
    "café",
    "Ünïcode",
    "ÉCOLE",
    "école",
    "日本語",
    "テスト",
    '"quoted"',
    "say",
    '"hi"',
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "a*b",
    "foo*",
    "-x",
    "(x)",
    "50%",
    "snake_case",
    "back\\slash",
    "it's",
    "NEAR(a",
    "b)",
    "{braces}",
    "😀",
    "emoji",
]

QUERIES = (
    # one and two characters (a scan), three and more (the index)
    "a", "é", "É", "wa", "x^", "日本", "😀",
    "wait", "WAIT", "Wait,", "hmm so", "sum of roots", "naïve", "NAÏVE", "café", "école",
    "ÉCOLE", "日本語", "テスト", '"quoted"', 'say "hi"', '"', '""', "AND", "a AND b", "OR NOT",
    "NEAR(a b)", "NEAR(", "*", "foo*", "a*b", "-x", "(x)", "50%", "%", "_", "snake_case",
    "back\\slash", "\\", "it's", "'", "{braces}", "emoji", "  ", "absent-text-zzz",
    "the sum of the", "x^2 n+1 answer",
)  # fmt: skip

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """What ``search=`` ignores: the case of ASCII letters (SQLite's LIKE), nothing else."""
    return text.translate(_ASCII_LOWER)


def texts_of(path: Path) -> dict[str, tuple[str, str]]:
    """Every stored ``(raw, prompt JSON)`` by id, read without the store's code."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT t.id, b.raw, b.prompt FROM trajectories t"
            " JOIN trajectory_bodies b ON b.traj_rowid = t.rowid ORDER BY t.rowid"
        ).fetchall()
    finally:
        conn.close()
    return {tid: (raw, prompt) for tid, raw, prompt in rows}


def full_scan(texts: dict[str, tuple[str, str]], query: str) -> list[str]:
    q = fold(query)
    return [tid for tid, (raw, prompt) in texts.items() if q in fold(raw) or q in fold(prompt)]


def synthetic(n: int, seed: int = 0) -> list[Trajectory]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        thinking = " ".join(rng.choices(WORDS, k=rng.randint(5, 40)))
        answer = " ".join(rng.choices(WORDS, k=rng.randint(1, 8)))
        out.append(
            Trajectory(
                prompt=" ".join(rng.choices(WORDS, k=rng.randint(2, 10))) + "?",
                raw=f"<think>\n{thinking}\n</think>\n\n{answer}",
                model=rng.choice(("m-a", "m-b")),
                source="unit",
                source_id=f"s{i}",
            )
        )
    return out


def _build(path: Path, *, indexed_upto: int) -> dict[str, tuple[str, str]]:
    """10,000 trajectories, the first ``indexed_upto`` of them in the index, the rest pending."""
    items = synthetic(10_000)
    with Store(path) as store:
        for start in range(0, len(items), 2_000):
            if start == indexed_upto:
                assert store.index_search() == indexed_upto
            store.add_trajectories(items[start : start + 2_000])
        if indexed_upto >= len(items):
            store.index_search()
        assert store.search_pending == len(items) - indexed_upto
    return texts_of(path)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A fully indexed store."""
    path = tmp_path_factory.mktemp("search") / "big.db"
    return path, _build(path, indexed_upto=10_000)


@pytest.fixture(scope="module")
def half(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A store whose last 6,000 trajectories were added after the index last caught up."""
    path = tmp_path_factory.mktemp("search") / "half.db"
    return path, _build(path, indexed_upto=4_000)


def test_index_is_created_and_used(big: tuple[Path, dict[str, tuple[str, str]]]) -> None:
    path, _ = big
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS) == 8
        assert store._search_indexed()
        where, params, _ = build_where({"search": "wait"}, indexed=True)
        plan = " ".join(
            str(r[-1])
            for r in store._read(
                "EXPLAIN QUERY PLAN SELECT 1 FROM trajectories t JOIN trajectory_bodies b"
                f" ON b.traj_rowid = t.rowid WHERE {where}",
                params,
            )
        )
        assert "VIRTUAL TABLE INDEX" in plan and FTS_TABLE in plan


@pytest.mark.parametrize("store_kind", ["indexed", "pending"])
@pytest.mark.parametrize("query", QUERIES)
def test_search_equals_a_full_scan(
    big: tuple[Path, dict[str, tuple[str, str]]],
    half: tuple[Path, dict[str, tuple[str, str]]],
    query: str,
    store_kind: str,
) -> None:
    path, texts = big if store_kind == "indexed" else half
    expected = full_scan(texts, query)
    with Store(path, readonly=True) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the pending store's "not indexed" hint
        got = store.list_trajectories(search=query, columns=["id"])["id"].to_list()
        assert got == expected
        assert store.count(search=query) == len(expected)
        result = store.search(query, limit=15)
        assert result.ids == expected[:15]
        assert result.total is not None
        if result.total_exact:
            assert result.total == len(expected)
        else:  # over EXACT_COUNT_LIMIT candidates: an estimate from the first ones
            assert abs(result.total - len(expected)) <= 0.05 * len(expected)
        for tid, snip in zip(result.ids, result.snippets, strict=True):
            assert snip is not None
            assert fold(snip.match) == fold(query)
            raw, _ = texts[tid]
            if snip.field != "prompt":
                assert raw[snip.start : snip.end] == snip.match


def test_filters_combine_with_search(big: tuple[Path, dict[str, tuple[str, str]]]) -> None:
    path, texts = big
    with Store(path, readonly=True) as store:
        models = dict(store.list_trajectories(columns=["id", "model"]).iter_rows())
        expected = [t for t in full_scan(texts, "naïve") if models[t] == "m-b"]
        got = store.search("naïve", model="m-b", limit=10_000)
        assert got.ids == expected and got.total == len(expected)
        desc = store.search("naïve", model="m-b", limit=5, descending=True, offset=2)
        assert desc.ids == expected[::-1][2:7]


def test_large_totals_are_estimated(
    big: tuple[Path, dict[str, tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.store import _searching

    path, texts = big
    monkeypatch.setattr(_searching, "EXACT_COUNT_LIMIT", 100)
    monkeypatch.setattr(_searching, "ESTIMATE_SAMPLE", 500)
    expected = len(full_scan(texts, "wait"))
    with Store(path, readonly=True) as store:
        result = store.search("wait")
        assert not result.total_exact
        assert result.total is not None and abs(result.total - expected) < 0.1 * expected
        assert store.search("wait", count=False).total is None


def test_match_expression_quotes_everything() -> None:
    assert match_expression("ab") is None
    assert match_expression('a"b') == '"a""b"'
    assert match_expression("a AND b") == '"a A" AND " AN" AND "AND" AND "ND " AND "D b"'
    long = match_expression("x" * 5 + "".join(chr(0x4E00 + i) for i in range(100)))
    assert long is not None and long.count(" AND ") == 23


def _integrity(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


def test_index_follows_add_save_update_import_and_delete(tmp_path: Path) -> None:
    path = tmp_path / "sync.db"
    with Store(path) as store:
        t = Trajectory(prompt="first prompt", raw="<think>alpha beta</think>gamma", source_id="1")
        store.add(t)
        assert store.search("alpha").ids == [t.id]
        t.raw = "<think>delta epsilon</think>zeta"
        t.thinking_span, t.answer_span = (7, 20), (28, 32)
        store.save(t)
        assert store.search("alpha").ids == [] and store.search("epsilon").ids == [t.id]
        store.update(t.id, tags=["x"], metadata={"k": 1})
        store.add_annotation(t.id, "note", "alpha in a note is not the trajectory's text")
        assert store.search("epsilon").ids == [t.id] and store.search("alpha").ids == []
        records = tmp_path / "in.jsonl"
        records.write_text(
            json.dumps({"id": "r1", "prompt": "imported question", "response": "omega text"}) + "\n"
        )
        wb.store.import_file(store, records)
        assert len(store.search("omega").ids) == 1
        assert len(store.search("imported question").ids) == 1
    _integrity(path)
    # no Store verb deletes a trajectory; a repair script's DELETE keeps the index right too
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(
        "DELETE FROM trajectory_bodies WHERE traj_rowid = (SELECT rowid FROM trajectories"
        " WHERE id = ?)",
        (t.id,),
    )
    conn.execute("DELETE FROM trajectories WHERE id = ?", (t.id,))
    conn.commit()
    conn.close()
    _integrity(path)
    with Store(path) as store:
        assert store.search("epsilon").ids == []
        assert store.search("omega").total == 1


def test_v6_store_migrates_with_the_same_results(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    items = synthetic(600, seed=3)
    with Store(path, migrations=MIGRATIONS[:6]) as old:
        old.add_trajectories(items)
        assert old.schema_version == 6 and not old._search_indexed()
        before = {q: old.list_trajectories(search=q)["id"].to_list() for q in QUERIES}
    seen: list[tuple[int, int]] = []
    with Store(path) as new:
        assert new.schema_version == 8 and new._search_indexed()
        for q in QUERIES:
            assert new.list_trajectories(search=q)["id"].to_list() == before[q], q
        with new._write() as conn:
            conn.execute(f"DELETE FROM {FTS_TABLE}")  # external content: drop the index only
            conn.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
            assert build_search_index(conn, progress=lambda d, t: seen.append((d, t))) == 600
    assert seen[0][1] == 600 and seen[-1] == (600, -1)
    _integrity(path)


def test_a_crash_while_indexing_leaves_the_v6_store_usable(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    with Store(path, migrations=MIGRATIONS[:6]) as old:
        old.add_trajectories(synthetic(50))

    def crashing(conn: sqlite3.Connection) -> None:
        create_search_index(conn)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Store(path, migrations=(*MIGRATIONS[:6], crashing))
    with Store(path, migrations=MIGRATIONS[:6]) as s:
        assert s.schema_version == 6 and len(s) == 50 and not s._search_indexed()
    with Store(path) as s:
        assert s.schema_version == 8 and s.search("wait").total == s.count(search="wait")


def test_search_rejects_bad_arguments(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        with pytest.raises(wb.ValidationError, match="non-empty"):
            store.search("")
        with pytest.raises(wb.ValidationError, match="once"):
            store.search("x", search="y")
        with pytest.raises(wb.ValidationError, match="context"):
            store.search("x", context=-1)
        with pytest.raises(wb.ValidationError, match="filter"):
            store.search("x", modle="m")
    assert StoreError  # the store's errors stay importable here


def test_adding_defers_indexing_and_searches_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "deferred.db"
    items = synthetic(1_500, seed=5)
    with Store(path) as store:
        store.add_trajectories(items[:1_200])
        assert store.search_pending == 1_200  # nothing indexed on add
        with pytest.warns(RuntimeWarning, match=r"1,200 trajectories .*store.index_search\(\)"):
            got = store.list_trajectories(search="naïve", columns=["id"])["id"].to_list()
        assert got == full_scan(texts_of(path), "naïve")
        assert store.search_pending == 1_200  # too many to index inside a search
        seen: list[tuple[int, int]] = []
        from workbench.store import _search

        real = _search.progress_reporter

        def spy(total: int, **kw: object) -> object:
            seen.append((total, -2))
            return real(total, **kw)  # type: ignore[arg-type]

        _search_mod = __import__("workbench.store._searching", fromlist=["x"])
        orig = _search_mod.progress_reporter
        _search_mod.progress_reporter = spy
        try:
            assert store.index_search(progress=False) == 1_200
        finally:
            _search_mod.progress_reporter = orig
        assert seen == [(1_200, -2)] and store.search_pending == 0
        # a live session's trickle is indexed by the next search, with no warning
        store.add_trajectories(items[1_200:])
        assert store.search_pending == 300
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            result = store.search("naïve", limit=10_000)
        assert store.search_pending == 0
        assert result.ids == full_scan(texts_of(path), "naïve") and result.total_exact
        assert result.total == len(result.ids)
    _integrity(path)
    with Store(path, readonly=True) as ro:
        assert ro.index_search() == 0 and ro.search_pending == 0


def test_pending_rows_can_be_edited_and_deleted(tmp_path: Path) -> None:
    path = tmp_path / "edits.db"
    with Store(path) as store:
        kept = Trajectory(prompt="p1", raw="<think>indexed alpha</think>a", source_id="1")
        store.add(kept)
        store.index_search()
        late = Trajectory(prompt="p2", raw="<think>pending beta</think>b", source_id="2")
        store.add(late)
        assert store.search_pending == 1
        late.raw = "<think>pending gamma</think>g"
        late.thinking_span, late.answer_span = (7, 22), (30, 31)
        store.save(late)  # the update trigger leaves a pending row pending
        kept.raw = "<think>indexed delta</think>d"
        kept.thinking_span, kept.answer_span = (7, 20), (28, 29)
        store.save(kept)  # and re-indexes an indexed one
        assert store.search_pending == 1
    # (the FTS5 integrity check compares the index with every body, so it runs once none wait)
    conn = sqlite3.connect(path)
    conn.execute(
        "DELETE FROM trajectory_bodies WHERE traj_rowid = (SELECT rowid FROM trajectories"
        " WHERE id = ?)",
        (late.id,),
    )
    conn.execute("DELETE FROM trajectories WHERE id = ?", (late.id,))
    conn.commit()
    (left,) = conn.execute("SELECT count(*) FROM search_pending").fetchone()
    conn.close()
    assert left == 0  # a deleted pending row leaves the queue, and the index is untouched
    _integrity(path)
    with Store(path) as store:
        assert store.search("delta").ids == [kept.id] and store.search("alpha").ids == []
        assert store.search("gamma").ids == [] and store.search("beta").ids == []
