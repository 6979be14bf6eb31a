from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import workbench as wb
from workbench import Pair, Segment, Store, StoreError, TokenArrays, Trajectory
from workbench.store.schema import MIGRATIONS


def traj(i: int = 0, **kw) -> Trajectory:
    base = dict(
        prompt=f"question {i}",
        raw=f"<think>\nthinking {i} " + "wait " * i + f"\n</think>\n\nanswer {i}",
        model="m-a" if i % 2 == 0 else "m-b",
        source="unit",
        source_id=f"q{i}",
        metadata={"category": "math" if i % 3 == 0 else "logic", "idx": i, "flag": i % 2 == 0},
    )
    base.update(kw)
    return Trajectory(**base)


def test_default_path_env_and_argument(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Store() as s:
        assert s.path == Path("workbench.db")
    assert (tmp_path / "workbench.db").exists()
    monkeypatch.setenv("WORKBENCH_STORE", str(tmp_path / "env.db"))
    with Store() as s:
        assert s.path == tmp_path / "env.db"
    with Store(tmp_path / "arg.db") as s:
        assert s.path == tmp_path / "arg.db"


def test_wal_mode_and_schema_version(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version == len(MIGRATIONS)


def test_add_get_round_trip_with_tokens(store: Store) -> None:
    t = traj(
        3,
        tokens=TokenArrays(
            ids=[5, 6, 7],
            offsets=[[0, 7], [7, 9], [9, 12]],
            logprobs=[-0.5, -1.25, -3.0],
            entropies=[0.1, 0.2, 0.3],
        ),
        constraints=[wb.Constraint(text="question", spans=[(0, 8)], kind="custom")],
        sampling={"temperature": 0.7},
        timings={"total_s": 1.5},
        tags=["x", "y"],
    )
    assert store.add(t) == t.id
    got = store.get(t.id)
    assert got == t
    assert got.tokens is not None and np.array_equal(got.tokens.offsets, t.tokens.offsets)
    assert store.get(t.id[:6]).id == t.id  # unique prefix
    assert t.id in store and len(store) == 1


def test_get_missing_and_ambiguous(store: Store) -> None:
    with pytest.raises(wb.NotFoundError, match="workbench ls"):
        store.get("doesnotexist")
    store.add(traj(1, id="aaaa1111"))
    store.add(traj(2, id="aaaa2222"))
    with pytest.raises(wb.NotFoundError, match="ambiguous"):
        store.get("aaaa")


def test_dedup_by_source_id(store: Store) -> None:
    first = store.add_trajectories([traj(i) for i in range(5)])
    assert len(first.inserted) == 5
    again = store.add_trajectories([traj(i) for i in range(7)])
    assert len(again.duplicates) == 5 and len(again.inserted) == 2
    assert len(store) == 7
    # the same key twice in one batch
    dup = store.add_trajectories([traj(10), traj(10)])
    assert len(dup.inserted) == 1 and len(dup.duplicates) == 1


def test_list_filters(store: Store) -> None:
    store.add_trajectories([traj(i) for i in range(12)])
    ids = store.list_trajectories()["id"].to_list()
    store.update(ids[0], grade=1.0, tags=["gold", "keep"])
    store.update(ids[1], grade=0.0, tags=["keep"])
    store.update(ids[2], grade=0.5)

    df = store.list_trajectories()
    assert df.height == 12
    assert df.schema["tags"] == pl.List(pl.String)
    assert set(df.columns) >= {
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
    assert store.list_trajectories(model="m-a").height == 6
    assert store.list_trajectories(model=["m-a", "m-b"]).height == 12
    assert store.list_trajectories(tags="keep").height == 2
    assert store.list_trajectories(tags=["keep", "gold"]).height == 1
    assert store.list_trajectories(grade=1.0).height == 1
    assert store.list_trajectories(grade=(0.5, None)).height == 2
    assert store.list_trajectories(graded=True).height == 3
    assert store.list_trajectories(graded=False).height == 9
    assert store.list_trajectories(metadata={"category": "math"}).height == 4
    assert store.list_trajectories(metadata={"idx": [1, 2, 3]}).height == 3
    assert store.list_trajectories(metadata={"flag": True}).height == 6
    assert store.list_trajectories(metadata={"missing": None}).height == 12
    assert (
        store.list_trajectories(
            search="WAIT WAIT WAIT WAIT WAIT WAIT WAIT WAIT WAIT WAIT WAIT"
        ).height
        == 1
    )
    assert store.list_trajectories(search="question 1").height == 3  # 1, 10, 11 (prompt search)
    assert store.list_trajectories(search="100%").height == 0  # LIKE wildcards are escaped
    assert store.count(model="m-b", graded=True) == 1
    page = store.list_trajectories(limit=5, offset=10)
    assert page.height == 2
    top = store.list_trajectories(order_by="thinking_chars", descending=True, limit=1)
    assert top["source_id"][0] == "q11"
    assert store.list_trajectories(columns=["id", "grade"]).columns == ["id", "grade"]


def test_typo_in_filter_is_rejected(store: Store) -> None:
    with pytest.raises(wb.ValidationError, match="did you mean 'model'"):
        store.list_trajectories(modle="x")
    with pytest.raises(wb.ValidationError, match="order_by"):
        store.list_trajectories(order_by="size")


def test_unnest_metadata(store: Store) -> None:
    store.add_trajectories([traj(i) for i in range(3)])
    wide = wb.unnest_metadata(store.list_trajectories())
    assert {"category", "idx", "flag"} <= set(wide.columns)
    assert wide["idx"].to_list() == [0, 1, 2]


def test_update_merges_metadata_and_validates(store: Store) -> None:
    tid = store.add(traj(1))
    t = store.update(tid, metadata={"judge": 7.5, "category": None}, gold="4")
    assert t.metadata == {"idx": 1, "flag": False, "judge": 7.5}
    assert store.get(tid).gold == "4"
    with pytest.raises(wb.ValidationError, match="Trajectory.status"):
        store.update(tid, status="finished")
    assert store.get(tid).status == "complete"


def test_save_replaces_streaming_trajectory(store: Store) -> None:
    t = Trajectory(prompt="p", raw="<think>\npart", status="partial", model="m")
    store.save(t)
    assert store.get(t.id).think_format == "unterminated"
    done = Trajectory(
        id=t.id,
        prompt="p",
        raw="<think>\npartial done</think>ok",
        status="complete",
        model="m",
        tokens=TokenArrays(ids=[1, 2]),
        created_at=t.created_at,
    )
    store.save(done)
    got = store.get(t.id)
    assert got == done and len(store) == 1


def test_segments_replace_and_text(store: Store) -> None:
    t = traj(2)
    store.add(t)
    start = t.thinking_span[0]
    segs = [
        Segment(
            trajectory_id=t.id,
            char_span=(start, start + 8),
            index=0,
            labels=["planning"],
            label_source="rule",
        ),
        Segment(
            trajectory_id=t.id,
            char_span=(start + 9, t.thinking_span[1]),
            index=1,
            keyword_hits=[(start + 11, start + 15, "wait")],
        ),
    ]
    store.add_segments(t.id, segs)
    got = store.get_segments(t.id)
    assert [s.text for s in got] == [t.raw[s.char_span[0] : s.char_span[1]] for s in segs]
    assert got[0].labels == ["planning"] and got[1].keyword_hits == [
        (start + 11, start + 15, "wait")
    ]
    store.add_segments(t.id, segs[:1])
    assert len(store.get_segments(t.id)) == 1
    with pytest.raises(wb.ValidationError, match="Segment.trajectory_id"):
        store.add_segments(t.id, [Segment(trajectory_id="other", char_span=(0, 1))])


def test_annotations_are_append_only_with_history(store: Store) -> None:
    tid = store.add(traj(1))
    a1 = store.add_annotation(tid, "rating", 3, author="ann")
    a2 = store.add_annotation(tid, "rating", 5, author="ann")
    store.add_annotation(tid, "label", ["verification"], segment_id=f"{tid}:0-5", author="bob")
    store.add_annotation(tid, "note", "looks fine", author="ann")
    store.add_annotation(tid, "note", None, author="ann")  # cleared
    assert a2.id > a1.id
    history = store.list_annotations(tid)
    assert history.height == 5
    current = store.list_annotations(tid, history=False)
    assert sorted(current["kind"].to_list()) == ["label", "rating"]
    assert json.loads(current.filter(pl.col("kind") == "rating")["value"][0]) == 5
    objs = store.get_annotations(tid, history=False)
    assert {a.kind: a.value for a in objs} == {"rating": 5, "label": ["verification"]}
    assert store.list_annotations(author="bob").height == 1
    with pytest.raises(wb.NotFoundError):
        store.add_annotation("missing", "rating", 1)
    with pytest.raises(wb.ValidationError, match="Annotation.kind"):
        store.add_annotation(tid, "stars", 1)
    assert store.list_annotations(tid).height == 5  # the rejected ones wrote nothing


def test_pairs(store: Store) -> None:
    a, b = traj(1), traj(2)
    store.add_trajectories([a, b])
    p = Pair(
        prompt_key="k", chosen_id=a.id, rejected_id=b.id, strategy="manual", provenance={"by": "me"}
    )
    assert store.add_pair(p) == p.id
    again = Pair(prompt_key="k", chosen_id=a.id, rejected_id=b.id, strategy="manual")
    assert store.add_pair(again) == p.id  # the same pair is stored once
    assert store.list_pairs().height == 1
    assert store.get_pair(p.id) == p
    with pytest.raises(wb.NotFoundError, match="Pair.chosen_id"):
        store.add_pair(Pair(prompt_key="k", chosen_id="nope", rejected_id=b.id, strategy="manual"))


def test_info(store: Store) -> None:
    store.add_trajectories([traj(i) for i in range(4)])
    info = store.info()
    assert info["counts"]["trajectories"] == 4
    assert info["models"] == {"m-a": 2, "m-b": 2}
    assert info["think_formats"] == {"tags": 4}


def test_refuses_foreign_and_newer_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a workbench store"):
        Store(text)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a workbench store"):
        Store(other)
    newer = tmp_path / "newer.db"
    Store(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="upgrade workbench"):
        Store(newer)
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "missing.db", create=False)


def test_migrations_run_in_order_and_keep_data(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as s:
        tid = s.add(traj(1))
        s.add_annotation(tid, "rating", 4)

    def add_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE trajectories ADD COLUMN reviewer TEXT")

    with Store(path, migrations=(*MIGRATIONS, add_column)) as s:
        assert s.schema_version == len(MIGRATIONS) + 1
        assert s.get(tid).model == "m-b"
        assert s.list_annotations(tid).height == 1
        cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(trajectories)")]
        assert "reviewer" in cols


def test_failed_migration_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as s:
        s.add(traj(1))

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE trajectories ADD COLUMN half TEXT")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        Store(path, migrations=(*MIGRATIONS, broken))
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS) and len(s) == 1


def test_readonly_store_refuses_writes(store_path: Path) -> None:
    with Store(store_path) as s:
        s.add(traj(1))
    with Store(store_path, readonly=True) as ro:
        assert len(ro) == 1
        with pytest.raises(StoreError, match="read-only"):
            ro.add(traj(2))


def test_v1_store_migrates_grades_to_objects(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with Store(path, migrations=MIGRATIONS[:1]) as old:
        assert old.schema_version == 1
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO trajectories (id, dedup_key, prompt_key, status, think_format, thinking_start,"
        " thinking_end, answer_start, answer_end, grade, created_at, updated_at)"
        " VALUES ('t1', 'id:t1', 'k', 'complete', 'none', 0, 0, 0, 2, 0.75, 1.0, 1.0)"
    )
    conn.execute(
        "INSERT INTO trajectory_bodies (traj_rowid, prompt, raw, constraints, sampling, timings)"
        " VALUES (1, '[]', 'hi', '[]', '{}', '{}')"
    )
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        t = s.get("t1")
        assert t.grade == wb.Grade(score=0.75, grader="unspecified")
        assert s.list_trajectories(graded=True).height == 1


def test_grade_objects(store: Store) -> None:
    tid = store.add(traj(1))
    details = {"extracted": "42", "method": "numeric"}
    store.update(tid, grade=wb.Grade(correct=False, score=0.0, grader="math", details=details))
    got = store.get(tid).grade
    assert got == wb.Grade(correct=False, score=0.0, grader="math", details=details)
    assert store.list_trajectories(correct=False)["grader"].to_list() == ["math"]
    assert store.list_trajectories(correct=True).is_empty()
    store.update(tid, grade=None)
    assert store.get(tid).grade is None and store.list_trajectories(graded=True).is_empty()
    with pytest.raises(wb.ValidationError, match="Grade"):
        wb.Grade(grader="x")
    with pytest.raises(wb.ValidationError, match="Grade.correct"):
        wb.Grade(correct=1, score=1.0)  # type: ignore[arg-type]


def test_the_previous_method_names_still_work_and_warn(tmp_path) -> None:
    from workbench.store.store import DEPRECATED_NAMES

    with Store(tmp_path / "s.db") as s:
        for old, new in DEPRECATED_NAMES.items():
            assert callable(getattr(s, new)), new
            assert getattr(Store, old).__name__ == old
        tid = s.add(Trajectory(prompt="q", raw="<think>a</think>b"))
        with pytest.warns(
            DeprecationWarning, match=r"Store\.annotate\(\) is deprecated.*add_annotation"
        ):
            s.annotate(tid, "rating", 3)
        with pytest.warns(DeprecationWarning, match=r"Store\.list\(\) is deprecated"):
            assert s.list()["id"].to_list() == [tid]
        assert s.list_annotations(tid).height == 1
