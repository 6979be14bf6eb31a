"""The Store: one SQLite file holding trajectories, segments, annotations and pairs.

Open it with :class:`Store` (or :func:`open_store`)::

    store = wb.Store()                      # ./workbench.db, or $WORKBENCH_STORE
    store.add(trajectory)
    df = store.list(model="QwQ-32B", graded=False)
    store.annotate(df["id"][0], "rating", 4)

Durability and concurrency: the file is in WAL mode with ``synchronous=FULL``, so a call that has
returned (an annotation acknowledged, a batch added) is on disk and survives the process being
killed, or the machine losing power. Several processes (several kernels, the JupyterLab server) can
read and write the same file at once; writers wait for each other (``busy_timeout``).
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from workbench.annotation import Annotation, default_author
from workbench.errors import NotFoundError, StoreError, ValidationError
from workbench.grade import Grade
from workbench.pair import Pair
from workbench.segment import Segment
from workbench.store.attention import AttentionStore
from workbench.store.codec import (
    N_SUMMARY_COLUMNS,
    SUMMARY_COLUMNS,
    decode_tokens,
    dumps,
    encode_tokens,
    source_key,
    trajectory_from_rows,
    trajectory_rows,
)
from workbench.store.query import build_where
from workbench.store.schema import MIGRATIONS, Migration, migrate
from workbench.trajectory import Trajectory

__all__ = ["DEFAULT_STORE", "STORE_ENV", "AddResult", "Store", "open_store", "resolve_store_path"]

STORE_ENV = "WORKBENCH_STORE"
"""Environment variable naming the store file when no path is given."""

DEFAULT_STORE = "workbench.db"
"""Store file used when neither an argument nor ``$WORKBENCH_STORE`` names one (in the cwd)."""

_BUSY_TIMEOUT_S = 60.0
_INSERT_TOKENS = (
    "INSERT INTO token_arrays (traj_rowid, n, ids, offsets, logprobs, entropies)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SENTINEL: Any = object()

LIST_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "source": pl.String,
    "source_id": pl.String,
    "model": pl.String,
    "backend": pl.String,
    "status": pl.String,
    "finish_reason": pl.String,
    "think_format": pl.String,
    "thinking_chars": pl.Int64,
    "answer_chars": pl.Int64,
    "n_tokens": pl.Int64,
    "gold": pl.String,
    "grade": pl.Float64,
    "correct": pl.Boolean,
    "grader": pl.String,
    "tags": pl.String,
    "metadata": pl.String,
    "prompt_key": pl.String,
    "parent_id": pl.String,
    "created_at": pl.Float64,
}
_LIST_SQL = (
    "t.id, t.source, t.source_id, t.model, t.backend, t.status, t.finish_reason, t.think_format, "
    "t.thinking_end - t.thinking_start, t.answer_end - t.answer_start, t.n_tokens, t.gold, "
    "t.grade, t.correct, t.grader, t.tags, t.metadata, t.prompt_key, t.parent_id, t.created_at"
)
_ANNOTATION_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "trajectory_id": pl.String,
    "segment_id": pl.String,
    "kind": pl.String,
    "value": pl.String,
    "author": pl.String,
    "created_at": pl.Float64,
}
_PAIR_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "prompt_key": pl.String,
    "chosen_id": pl.String,
    "rejected_id": pl.String,
    "strategy": pl.String,
    "provenance": pl.String,
    "created_at": pl.Float64,
}


def resolve_store_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the store path: ``path``, else ``$WORKBENCH_STORE``, else ``./workbench.db``."""
    if path is None or str(path) == "":
        path = os.environ.get(STORE_ENV) or DEFAULT_STORE
    return Path(path).expanduser()


@dataclass(slots=True)
class AddResult:
    """Outcome of :meth:`Store.add_many`.

    Attributes
    ----------
    inserted
        Ids of the trajectories written.
    duplicates
        Ids of the given trajectories skipped because their dedup key was already stored.
    """

    inserted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


class Store(AttentionStore):
    """A workbench store: one SQLite file.

    Parameters
    ----------
    path
        The file. Defaults to ``$WORKBENCH_STORE`` or ``./workbench.db``; created if missing.
    readonly
        Open without write access (no file is created; writes raise).
    create
        Create the file when it does not exist (``False``: raise :class:`StoreError` instead).
    migrations
        Schema migrations to apply (for tests of the migration machinery).

    Raises
    ------
    StoreError
        When the file is not a workbench store, was written by a newer workbench, or cannot be
        created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        readonly: bool = False,
        create: bool = True,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        self.path = resolve_store_path(path)
        self.readonly = readonly
        if not create and not self.path.exists():
            raise StoreError(
                f"no store at {self.path}: import traces first (workbench import FILE --store "
                f"{self.path}) or pass --store / set ${STORE_ENV}"
            )
        self._lock = threading.RLock()
        self._conn = self._connect(migrations)

    # -- connection -----------------------------------------------------------------------------
    def _connect(self, migrations: Sequence[Migration]) -> sqlite3.Connection:
        if self.readonly:
            if not self.path.exists():
                raise StoreError(
                    f"no store at {self.path}: check the path or create it by importing"
                )
            uri = f"file:{self.path.resolve()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
        else:
            if self.path.parent and not self.path.parent.exists():
                raise StoreError(
                    f"cannot create store {self.path}: folder {self.path.parent} does not exist"
                )
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
        conn.isolation_level = None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{self.path} is not a workbench store ({exc}); pass another path or remove the file"
            ) from exc
        if version > len(migrations):
            conn.close()
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this workbench "
                f"understands ({len(migrations)}): upgrade workbench (pip install -U thinking-workbench)"
            )
        if version < len(migrations):
            if self.readonly:
                conn.close()
                raise StoreError(
                    f"{self.path} needs a schema migration (version {version} -> {len(migrations)}): "
                    "open it once without readonly=True"
                )
            self._migrate(conn, migrations)
        return conn

    def _migrate(self, conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version == 0:
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
                if tables:
                    raise StoreError(
                        f"{self.path} is an SQLite database but not a workbench store; "
                        "pass another path"
                    )
            migrate(conn, migrations)
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(len(migrations)),),
            )
            if version == 0:
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('created_at', ?)",
                    (str(time.time()),),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """Run a write transaction.

        ``durable=False`` commits without waiting for the disk (``synchronous=NORMAL`` in WAL
        mode): the data survives the process being killed, not the machine losing power. Used for
        the frequent checkpoints of a streaming trajectory; the final save is durable.
        """
        if self.readonly:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            if not durable:
                self._conn.execute("PRAGMA synchronous = NORMAL")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            finally:
                if not durable:
                    self._conn.execute("PRAGMA synchronous = FULL")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self._read("PRAGMA user_version")[0][0])

    # -- trajectories ---------------------------------------------------------------------------
    def add(self, trajectory: Trajectory, *, dedup_key: str | None = None) -> str:
        """Store one trajectory; return its id (the stored one if it was a duplicate)."""
        result = self.add_many([trajectory], dedup_keys=None if dedup_key is None else [dedup_key])
        if result.inserted:
            return result.inserted[0]
        key = dedup_key or _default_dedup_key(trajectory)
        return str(self._read("SELECT id FROM trajectories WHERE dedup_key = ?", (key,))[0][0])

    def add_many(
        self,
        trajectories: Iterable[Trajectory],
        *,
        dedup_keys: Sequence[str] | None = None,
    ) -> AddResult:
        """Store trajectories in one transaction, skipping duplicates.

        Parameters
        ----------
        trajectories
            The trajectories (already validated by construction).
        dedup_keys
            One key per trajectory; a trajectory whose key is already stored (or repeated earlier
            in the batch) is skipped. Defaults to ``source`` + ``source_id`` when the trajectory
            has a ``source_id``, else its ``id``.

        Returns
        -------
        AddResult
            Which ids were written and which were skipped.
        """
        items = list(trajectories)
        keys = (
            list(dedup_keys) if dedup_keys is not None else [_default_dedup_key(t) for t in items]
        )
        if len(keys) != len(items):
            raise ValueError("dedup_keys must have one key per trajectory")
        result = AddResult()
        if not items:
            return result
        with self._write() as conn:
            self._insert(conn, items, keys, time.time(), result)
        return result

    @staticmethod
    def _insert(
        conn: sqlite3.Connection,
        items: Sequence[Trajectory],
        keys: Sequence[str],
        now: float,
        result: AddResult,
    ) -> None:
        existing: set[str] = set()
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            rows = conn.execute(
                f"SELECT dedup_key FROM trajectories WHERE dedup_key IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            existing.update(r[0] for r in rows)
        summaries, bodies, tokens = [], [], []
        for t, key in zip(items, keys, strict=True):
            if key in existing:
                result.duplicates.append(t.id)
                continue
            existing.add(key)
            summary, body = trajectory_rows(t, key, now)
            summaries.append(summary)
            bodies.append(body)
            tokens.append(t.tokens)
            result.inserted.append(t.id)
        if not summaries:
            return
        try:
            conn.executemany(
                f"INSERT INTO trajectories ({SUMMARY_COLUMNS}) VALUES ({','.join('?' * N_SUMMARY_COLUMNS)})",
                summaries,
            )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot add trajectories: {exc} (is an id already stored?)") from exc
        (last_rowid,) = conn.execute("SELECT max(rowid) FROM trajectories").fetchone()
        first_rowid = last_rowid - len(summaries) + 1
        conn.executemany(
            "INSERT INTO trajectory_bodies (traj_rowid, prompt, raw, constraints, sampling, timings)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(first_rowid + i, *body) for i, body in enumerate(bodies)],
        )
        token_rows = [
            (first_rowid + i, *encode_tokens(tok))
            for i, tok in enumerate(tokens)
            if tok is not None
        ]
        if token_rows:
            conn.executemany(
                _INSERT_TOKENS,
                token_rows,
            )

    def ids_for_keys(self, dedup_keys: Sequence[str]) -> dict[str, str]:
        """Return ``{dedup key: stored trajectory id}`` for the keys that are stored."""
        out: dict[str, str] = {}
        keys = list(dedup_keys)
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            rows = self._read(
                f"SELECT dedup_key, id FROM trajectories WHERE dedup_key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({str(k): str(v) for k, v in rows})
        return out

    def save(self, trajectory: Trajectory, *, durable: bool = True) -> str:
        """Insert a trajectory, or replace the stored one with the same id; return the id.

        This is how a recorder keeps a streaming trajectory up to date (``partial`` until done).
        ``durable=False`` skips waiting for the disk: the save survives a killed process but not a
        power loss (for frequent checkpoints).
        """
        with self._write(durable=durable) as conn:
            row = conn.execute(
                "SELECT rowid, dedup_key FROM trajectories WHERE id = ?", (trajectory.id,)
            ).fetchone()
            if row is None:
                result = AddResult()
                self._insert(
                    conn, [trajectory], [_default_dedup_key(trajectory)], time.time(), result
                )
                if not result.inserted:
                    raise StoreError(
                        f"trajectory {trajectory.id!r} duplicates a stored one "
                        f"(source {trajectory.source!r}, source_id {trajectory.source_id!r})"
                    )
                return trajectory.id
            rowid, key = row
            summary, body = trajectory_rows(trajectory, key, time.time())
            assignments = ", ".join(f"{c.strip()} = ?" for c in SUMMARY_COLUMNS.split(","))
            conn.execute(
                f"UPDATE trajectories SET {assignments} WHERE rowid = ?", (*summary, rowid)
            )
            conn.execute(
                "UPDATE trajectory_bodies SET prompt = ?, raw = ?, constraints = ?, sampling = ?,"
                " timings = ? WHERE traj_rowid = ?",
                (*body, rowid),
            )
            conn.execute("DELETE FROM token_arrays WHERE traj_rowid = ?", (rowid,))
            if trajectory.tokens is not None:
                conn.execute(
                    _INSERT_TOKENS,
                    (rowid, *encode_tokens(trajectory.tokens)),
                )
        return trajectory.id

    def resolve_id(self, id_or_prefix: str) -> str:
        """Return the full id for an id or a unique prefix of one (like git).

        Raises
        ------
        NotFoundError
            When nothing matches, or the prefix is ambiguous.
        """
        if not isinstance(id_or_prefix, str) or not id_or_prefix:
            raise NotFoundError("a trajectory id must be a non-empty string")
        if self._read("SELECT 1 FROM trajectories WHERE id = ?", (id_or_prefix,)):
            return id_or_prefix
        rows = self._read(
            "SELECT id FROM trajectories WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
            (id_or_prefix, id_or_prefix + "\U0010ffff"),
        )
        if not rows:
            raise NotFoundError(
                f"no trajectory {id_or_prefix!r} in {self.path}: list ids with `workbench ls`"
            )
        if len(rows) > 1:
            raise NotFoundError(f"id prefix {id_or_prefix!r} is ambiguous: give more characters")
        return str(rows[0][0])

    def get(self, id_or_prefix: str) -> Trajectory:
        """Return the trajectory with this id (or unique id prefix)."""
        tid = self.resolve_id(id_or_prefix)
        with self._lock:
            summary = self._conn.execute(
                f"SELECT rowid, {SUMMARY_COLUMNS} FROM trajectories WHERE id = ?", (tid,)
            ).fetchone()
            rowid, summary = summary[0], summary[1:]
            body = self._conn.execute(
                "SELECT prompt, raw, constraints, sampling, timings FROM trajectory_bodies"
                " WHERE traj_rowid = ?",
                (rowid,),
            ).fetchone()
            tok = self._conn.execute(
                "SELECT n, ids, offsets, logprobs, entropies FROM token_arrays WHERE traj_rowid = ?",
                (rowid,),
            ).fetchone()
        return trajectory_from_rows(summary, body, None if tok is None else decode_tokens(tok))

    def __contains__(self, trajectory_id: object) -> bool:
        return bool(self._read("SELECT 1 FROM trajectories WHERE id = ?", (trajectory_id,)))

    def __len__(self) -> int:
        return int(self._read("SELECT count(*) FROM trajectories")[0][0])

    def iter_trajectories(self, **filters: Any) -> Iterator[Trajectory]:
        """Yield full trajectories matching ``filters`` (see :meth:`list`), in insertion order."""
        ids = self.list(columns=["id"], **filters)["id"].to_list()
        for tid in ids:
            yield self.get(tid)

    def list(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "created",
        descending: bool = False,
        columns: Sequence[str] | None = None,
        **filters: Any,
    ) -> pl.DataFrame:
        """Return trajectories matching ``filters`` as a polars DataFrame (one row each).

        Parameters
        ----------
        limit, offset
            Paging.
        order_by
            ``"created"`` (insertion order), ``"grade"``, ``"thinking_chars"``, ``"model"`` or
            ``"id"``.
        descending
            Reverse the order.
        columns
            Subset of the columns below to return.
        **filters
            See :data:`workbench.store.query.FILTERS`, e.g. ``model="QwQ-32B"``,
            ``metadata={"category": "math"}``, ``search="wait"``, ``graded=True``.

        Returns
        -------
        polars.DataFrame
            Columns ``id, source, source_id, model, backend, status, finish_reason, think_format,
            thinking_chars, answer_chars, n_tokens, gold, grade`` (the score), ``correct, grader,
            tags, metadata, prompt_key, parent_id, created_at``; ``tags`` is a list of strings, ``metadata`` a JSON string
            (expand it with :func:`workbench.store.frames.unnest_metadata`).
        """
        where, params, needs_body = build_where(filters)
        orders = {
            "created": "t.rowid",
            "grade": "t.grade",
            "thinking_chars": "t.thinking_end - t.thinking_start",
            "model": "t.model",
            "id": "t.id",
        }
        if order_by not in orders:
            raise ValidationError("list.order_by", f"{order_by!r} is not one of {list(orders)}")
        direction = "DESC" if descending else "ASC"
        join = " JOIN trajectory_bodies b ON b.traj_rowid = t.rowid" if needs_body else ""
        sql = (
            f"SELECT {_LIST_SQL} FROM trajectories t{join} WHERE {where} "
            f"ORDER BY {orders[order_by]} {direction}, t.rowid {direction}"
        )
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params = [*params, int(limit), int(offset)]
        elif offset:
            sql += " LIMIT -1 OFFSET ?"
            params = [*params, int(offset)]
        rows = self._read(sql, params)
        frame = _frame(rows, LIST_SCHEMA)
        frame = frame.with_columns(pl.col("tags").str.json_decode(pl.List(pl.String)))
        if columns is not None:
            unknown = [c for c in columns if c not in LIST_SCHEMA]
            if unknown:
                raise ValidationError(
                    "list.columns", f"unknown columns {unknown}; see {list(LIST_SCHEMA)}"
                )
            frame = frame.select(list(columns))
        return frame

    def count(self, **filters: Any) -> int:
        """Return the number of trajectories matching ``filters`` (see :meth:`list`)."""
        where, params, needs_body = build_where(filters)
        join = " JOIN trajectory_bodies b ON b.traj_rowid = t.rowid" if needs_body else ""
        return int(
            self._read(f"SELECT count(*) FROM trajectories t{join} WHERE {where}", params)[0][0]
        )

    def update(
        self,
        trajectory_id: str,
        *,
        grade: Grade | bool | float | None = _SENTINEL,
        gold: str | None = _SENTINEL,
        status: str = _SENTINEL,
        tags: Sequence[str] = _SENTINEL,
        metadata: dict[str, Any] = _SENTINEL,
    ) -> Trajectory:
        """Change derived fields of a stored trajectory; return the updated trajectory.

        ``metadata`` is merged into the stored metadata (a ``None`` value removes a key); the
        other fields are replaced. ``grade`` takes a :class:`~workbench.grade.Grade`, a dict, a
        bool (correct) or a number (score). The text itself never changes: derive a new trajectory (with
        ``parent_id``) instead.
        """
        current = self.get(trajectory_id)
        if grade is not _SENTINEL:
            current.grade = Grade.coerce(grade, grader="manual")
        if gold is not _SENTINEL:
            current.gold = gold
        if status is not _SENTINEL:
            current.status = status
        if tags is not _SENTINEL:
            current.tags = list(tags)
        if metadata is not _SENTINEL:
            merged = {**current.metadata, **metadata}
            current.metadata = {k: v for k, v in merged.items() if v is not None}
        current.validate()
        g = current.grade
        with self._write() as conn:
            conn.execute(
                "UPDATE trajectories SET grade = ?, correct = ?, grader = ?, grade_details = ?,"
                " gold = ?, status = ?, tags = ?, metadata = ?, updated_at = ? WHERE id = ?",
                (
                    None if g is None else g.score,
                    None if g is None or g.correct is None else int(g.correct),
                    None if g is None else g.grader,
                    None if g is None or g.details is None else dumps(g.details),
                    current.gold,
                    current.status,
                    dumps(current.tags),
                    dumps(current.metadata),
                    time.time(),
                    current.id,
                ),
            )
        return current

    # -- segments -------------------------------------------------------------------------------
    def put_segments(self, trajectory_id: str, segments: Sequence[Segment]) -> None:
        """Replace the stored segments of a trajectory with ``segments``."""
        tid = self.resolve_id(trajectory_id)
        for s in segments:
            if s.trajectory_id != tid:
                raise ValidationError(
                    "Segment.trajectory_id", f"{s.trajectory_id!r} is not the trajectory {tid!r}"
                )
        rows = [
            (
                s.id,
                tid,
                s.index,
                s.char_span[0],
                s.char_span[1],
                None if s.token_span is None else s.token_span[0],
                None if s.token_span is None else s.token_span[1],
                dumps(s.labels),
                s.label_source,
                s.confidence,
                dumps([list(h) for h in s.keyword_hits]),
                s.segmenter,
            )
            for s in segments
        ]
        with self._write() as conn:
            conn.execute("DELETE FROM segments WHERE trajectory_id = ?", (tid,))
            conn.executemany(
                "INSERT INTO segments (id, trajectory_id, idx, char_start, char_end, token_start,"
                " token_end, labels, label_source, confidence, keyword_hits, segmenter)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def segments(self, trajectory_id: str) -> builtins.list[Segment]:
        """Return the stored segments of a trajectory in order, with their text filled in."""
        traj = self.get(trajectory_id)
        rows = self._read(
            "SELECT id, idx, char_start, char_end, token_start, token_end, labels, label_source,"
            " confidence, keyword_hits, segmenter FROM segments WHERE trajectory_id = ? ORDER BY idx",
            (traj.id,),
        )
        return [
            Segment(
                id=r[0],
                trajectory_id=traj.id,
                index=r[1],
                char_span=(r[2], r[3]),
                text=traj.raw[r[2] : r[3]],
                token_span=None if r[4] is None else (r[4], r[5]),
                labels=json.loads(r[6]),
                label_source=r[7],
                confidence=r[8],
                keyword_hits=[(h[0], h[1], h[2]) for h in json.loads(r[9])],
                segmenter=r[10],
            )
            for r in rows
        ]

    # -- annotations ----------------------------------------------------------------------------
    def annotate(
        self,
        trajectory_id: str,
        kind: str,
        value: Any = None,
        *,
        segment_id: str | None = None,
        author: str | None = None,
    ) -> Annotation:
        """Append an annotation; when this returns, it is on disk.

        Parameters
        ----------
        trajectory_id
            Id (or unique prefix) of the trajectory.
        kind
            ``"label"``, ``"rating"``, ``"verdict"`` or ``"note"``.
        value
            The label(s), rating, verdict (``"chosen"``, ``"rejected"``, ``"good"``, ``"bad"``) or
            note; ``None`` clears the previous one of this kind on this target.
        segment_id
            Annotate one segment instead of the whole trajectory.
        author
            Defaults to the login name.

        Returns
        -------
        Annotation
            With its sequence ``id`` set.
        """
        tid = self.resolve_id(trajectory_id)
        ann = Annotation(
            trajectory_id=tid,
            kind=kind,
            value=value,
            segment_id=segment_id,
            author=author or default_author(),
        )
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO annotations (trajectory_id, segment_id, kind, value, author, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    tid,
                    segment_id,
                    kind,
                    None if value is None else dumps(value),
                    ann.author,
                    ann.created_at,
                ),
            )
            ann.id = cur.lastrowid
        return ann

    def annotations(
        self,
        trajectory_id: str | None = None,
        *,
        segment_id: str | None = None,
        kind: str | None = None,
        author: str | None = None,
        history: bool = True,
    ) -> pl.DataFrame:
        """Return annotations as a DataFrame (``value`` is a JSON string).

        Parameters
        ----------
        trajectory_id, segment_id, kind, author
            Filters.
        history
            ``True``: every annotation in order. ``False``: only the latest one per
            (trajectory, segment, kind), and not those whose latest value cleared them.
        """
        clauses, params = [], []
        if trajectory_id is not None:
            clauses.append("a.trajectory_id = ?")
            params.append(self.resolve_id(trajectory_id))
        if segment_id is not None:
            clauses.append("a.segment_id = ?")
            params.append(segment_id)
        if kind is not None:
            clauses.append("a.kind = ?")
            params.append(kind)
        if author is not None:
            clauses.append("a.author = ?")
            params.append(author)
        where = " AND ".join(clauses) if clauses else "1"
        cols = "a.id, a.trajectory_id, a.segment_id, a.kind, a.value, a.author, a.created_at"
        if history:
            sql = f"SELECT {cols} FROM annotations a WHERE {where} ORDER BY a.id"
        else:
            sql = (
                f"SELECT {cols} FROM annotations a WHERE {where} AND a.id = ("
                " SELECT max(b.id) FROM annotations b WHERE b.trajectory_id = a.trajectory_id"
                " AND b.segment_id IS a.segment_id AND b.kind = a.kind)"
                " AND a.value IS NOT NULL ORDER BY a.id"
            )
        rows = self._read(sql, params)
        return _frame(rows, _ANNOTATION_SCHEMA)

    def get_annotations(
        self, trajectory_id: str, *, history: bool = True
    ) -> builtins.list[Annotation]:
        """Return a trajectory's annotations as :class:`Annotation` objects."""
        frame = self.annotations(trajectory_id, history=history)
        return [
            Annotation(
                id=r["id"],
                trajectory_id=r["trajectory_id"],
                segment_id=r["segment_id"],
                kind=r["kind"],
                value=None if r["value"] is None else json.loads(r["value"]),
                author=r["author"],
                created_at=r["created_at"],
            )
            for r in frame.iter_rows(named=True)
        ]

    # -- pairs ----------------------------------------------------------------------------------
    def add_pair(self, pair: Pair) -> str:
        """Store a pair; return its id (the stored one if the same pair was already there)."""
        for role, tid in (("chosen_id", pair.chosen_id), ("rejected_id", pair.rejected_id)):
            if tid not in self:
                raise NotFoundError(f"Pair.{role}: no trajectory {tid!r} in {self.path}")
        with self._write() as conn:
            row = conn.execute(
                "SELECT id FROM pairs WHERE chosen_id = ? AND rejected_id = ? AND strategy = ?",
                (pair.chosen_id, pair.rejected_id, pair.strategy),
            ).fetchone()
            if row is not None:
                return str(row[0])
            conn.execute(
                "INSERT INTO pairs (id, prompt_key, chosen_id, rejected_id, strategy, provenance,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    pair.id,
                    pair.prompt_key,
                    pair.chosen_id,
                    pair.rejected_id,
                    pair.strategy,
                    dumps(pair.provenance),
                    pair.created_at,
                ),
            )
        return pair.id

    def pairs(self, *, strategy: str | None = None) -> pl.DataFrame:
        """Return stored pairs as a DataFrame (``provenance`` is a JSON string)."""
        sql = f"SELECT {', '.join(_PAIR_SCHEMA)} FROM pairs"
        params: list[Any] = []
        if strategy is not None:
            sql += " WHERE strategy = ?"
            params.append(strategy)
        rows = self._read(sql + " ORDER BY rowid", params)
        return _frame(rows, _PAIR_SCHEMA)

    def get_pair(self, pair_id: str) -> Pair:
        """Return one stored pair."""
        frame = self.pairs().filter(pl.col("id") == pair_id)
        if frame.is_empty():
            raise NotFoundError(f"no pair {pair_id!r} in {self.path}")
        row = frame.row(0, named=True)
        row["provenance"] = json.loads(row["provenance"])
        return Pair(**row)

    # -- summary --------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Return a summary: path, size, schema version, counts and breakdowns."""

        def breakdown(column: str) -> dict[str, int]:
            rows = self._read(
                f"SELECT coalesce({column}, '(none)'), count(*) FROM trajectories"
                f" GROUP BY 1 ORDER BY 2 DESC, 1"
            )
            return {str(k): int(v) for k, v in rows}

        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        counts = {
            table: int(self._read(f"SELECT count(*) FROM {table}")[0][0])
            for table in ("trajectories", "segments", "annotations", "pairs")
        }
        return {
            "path": str(self.path),
            "size_bytes": size,
            "schema_version": self.schema_version,
            "counts": counts,
            "models": breakdown("model"),
            "sources": breakdown("source"),
            "think_formats": breakdown("think_format"),
            "statuses": breakdown("status"),
            "graded": int(
                self._read("SELECT count(*) FROM trajectories WHERE grade IS NOT NULL")[0][0]
            ),
        }


def _frame(rows: builtins.list[tuple[Any, ...]], schema: dict[str, Any]) -> pl.DataFrame:
    """Build a DataFrame from SQL rows whose columns are in ``schema`` order.

    SQLite has no booleans: Boolean columns arrive as 0/1 and are cast.
    """
    raw_schema = {k: (pl.Int8 if v == pl.Boolean else v) for k, v in schema.items()}
    frame = pl.DataFrame(
        {name: [r[i] for r in rows] for i, name in enumerate(schema)}, schema=raw_schema
    )
    bools = [k for k, v in schema.items() if v == pl.Boolean]
    return frame.with_columns(pl.col(bools).cast(pl.Boolean)) if bools else frame


def _default_dedup_key(t: Trajectory) -> str:
    if t.source_id is not None:
        return source_key(t.source, t.source_id)
    return f"id:{t.id}"


def open_store(
    path: str | os.PathLike[str] | None = None, *, readonly: bool = False, create: bool = True
) -> Store:
    """Open (or create) a store; see :class:`Store`."""
    return Store(path, readonly=readonly, create=create)
