"""Trajectories in a store: add, save, get, list, count, update."""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench._validate import surrogate_position
from workbench.errors import NotFoundError, StoreError, ValidationError
from workbench.grade import Grade
from workbench.store._connection import BUSY_TIMEOUT_MS, StoreConnection
from workbench.store._listing import (
    AUTO_CACHE_ROWS,
    MIN_CACHED_PAGE,
    ROWID,
    ListingCache,
    has_listing_cache,
    order_listing,
)
from workbench.store._search import index_driven_source, pending_rows, progress_reporter
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
from workbench.trajectory import Trajectory

__all__ = ["LIST_SCHEMA", "AddResult", "TrajectoryTables"]

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
_CACHED_SCHEMA: dict[str, Any] = {ROWID: pl.Int64, **LIST_SCHEMA, "tags": pl.List(pl.String)}
"""What the listing cache holds: the listing as returned, with each row id."""
_LIST_SQL = (
    "t.id, t.source, t.source_id, t.model, t.backend, t.status, t.finish_reason, t.think_format, "
    "t.thinking_end - t.thinking_start, t.answer_end - t.answer_start, t.n_tokens, t.gold, "
    "t.grade, t.correct, t.grader, t.tags, t.metadata, t.prompt_key, t.parent_id, t.created_at"
)


@dataclass(slots=True)
class AddResult:
    """Outcome of :meth:`Store.add_trajectories`.

    Attributes
    ----------
    inserted
        Ids of the trajectories written.
    duplicates
        Ids of the given trajectories skipped because their dedup key was already stored.
    """

    inserted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


_MAX_ID_CHARS = 512
"""Longest id (or prefix) looked up; anything longer names no trajectory."""


class TrajectoryTables(StoreConnection):
    """The trajectory half of :class:`~workbench.store.Store`."""

    # -- trajectories ---------------------------------------------------------------------------
    def add(self, trajectory: Trajectory, *, dedup_key: str | None = None) -> str:
        """Store one trajectory; return its id (the stored one if it was a duplicate)."""
        result = self.add_trajectories(
            [trajectory], dedup_keys=None if dedup_key is None else [dedup_key]
        )
        if result.inserted:
            return result.inserted[0]
        key = dedup_key or _default_dedup_key(trajectory)
        return str(self._read("SELECT id FROM trajectories WHERE dedup_key = ?", (key,))[0][0])

    def add_trajectories(
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
        if len(id_or_prefix) > _MAX_ID_CHARS or surrogate_position(id_or_prefix) is not None:
            shown = id_or_prefix[:40].encode("utf-8", "backslashreplace").decode("ascii", "replace")
            raise NotFoundError(
                f"{shown!r}... is not a trajectory id (ids are at most {_MAX_ID_CHARS} characters "
                "of text): list ids with `workbench ls`"
            )
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
        with self._reading() as conn:
            summary = conn.execute(
                f"SELECT rowid, {SUMMARY_COLUMNS} FROM trajectories WHERE id = ?", (tid,)
            ).fetchone()
            if summary is None:  # removed (or the file replaced) since the id was resolved
                raise NotFoundError(f"no trajectory {tid!r} in {self.path}: it was just removed")
            rowid, summary = summary[0], summary[1:]
            body = conn.execute(
                "SELECT prompt, raw, constraints, sampling, timings FROM trajectory_bodies"
                " WHERE traj_rowid = ?",
                (rowid,),
            ).fetchone()
            tok = conn.execute(
                "SELECT n, ids, offsets, logprobs, entropies FROM token_arrays WHERE traj_rowid = ?",
                (rowid,),
            ).fetchone()
        try:
            tokens = None if tok is None else decode_tokens(tok)
            return trajectory_from_rows(summary, body, tokens)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise self._damaged_row(f"trajectory {tid}", exc) from exc

    def __contains__(self, trajectory_id: object) -> bool:
        return bool(self._read("SELECT 1 FROM trajectories WHERE id = ?", (trajectory_id,)))

    def __len__(self) -> int:
        return int(self._read("SELECT count(*) FROM trajectories")[0][0])

    def iter_trajectories(self, **filters: Any) -> Iterator[Trajectory]:
        """Yield full trajectories matching ``filters`` (see :meth:`list_trajectories`), in insertion order."""
        ids = self.list_trajectories(columns=["id"], **filters)["id"].to_list()
        for tid in ids:
            yield self.get(tid)

    def _index_driven(self, filters: dict[str, Any], order_by: str) -> tuple[str, list[Any]] | None:
        """Return the index-driven source of a search page (see ``index_driven_source``), if any."""
        text = filters.get("search")
        if order_by != "created" or not isinstance(text, str) or not self._search_indexed():
            return None
        with self._reading() as conn:
            if pending_rows(conn):
                return None
        return index_driven_source(text)

    def list_trajectories(
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
        for name, value in (("limit", limit), ("offset", offset)):
            if value is None and name == "limit":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(
                    f"list_trajectories.{name}",
                    f"must be a non-negative integer, got {value!r}"
                    + (" (None for no limit)" if name == "limit" else ""),
                )
        where, params, needs_body = build_where(
            filters, indexed=self._search_ready() if filters.get("search") else False
        )
        orders = {
            "created": "t.rowid",
            "grade": "t.grade",
            "thinking_chars": "t.thinking_end - t.thinking_start",
            "model": "t.model",
            "id": "t.id",
        }
        if order_by not in orders:
            raise ValidationError("list.order_by", f"{order_by!r} is not one of {list(orders)}")
        if columns is not None:
            unknown = [c for c in columns if c not in LIST_SCHEMA]
            if unknown:
                raise ValidationError(
                    "list.columns", f"unknown columns {unknown}; see {list(LIST_SCHEMA)}"
                )
        if not filters and (limit is None or limit + offset >= MIN_CACHED_PAGE):
            cached = self._cached_listing()
            if cached is not None:
                frame = order_listing(cached, order_by, descending=descending).drop(ROWID)
                frame = frame.slice(offset, limit)
                return frame if columns is None else frame.select(list(columns))
        direction = "DESC" if descending else "ASC"
        driven = self._index_driven(filters, order_by)
        if driven is not None:  # a search in insertion order: stream the index's hits
            source, source_params = driven
            where, params, _ = build_where({k: v for k, v in filters.items() if k != "search"})
            sql = f"SELECT {_LIST_SQL} FROM {source} AND {where} ORDER BY f.rowid {direction}"
            params = [*source_params, *params]
        else:
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
        return frame if columns is None else frame.select(list(columns))

    def cache_listing(self, *, progress: bool | None = None, rebuild: bool = False) -> int:
        """Bring the listing cache up to date; return the number of rows written into it.

        The cache (see :mod:`workbench.store._listing`) keeps the columns of
        :meth:`list_trajectories` as compressed Arrow chunks inside the file, so that listing a
        million trajectories takes a fraction of a second instead of seconds. Listings are exact
        whether or not it is up to date; only their speed depends on it. ``workbench index`` and
        ``workbench import`` call this, and a full listing of a writable store calls it itself
        once :data:`~workbench.store._listing.AUTO_CACHE_ROWS` rows are not covered.

        Parameters
        ----------
        progress
            Show a progress bar on stderr; ``None`` (default) shows one for 200,000 rows or more.
        rebuild
            Drop the cache and write it again from the trajectories table (after a damaged
            chunk was reported).

        Examples
        --------
        >>> import workbench as wb
        >>> store = wb.Store(":memory:")
        >>> _ = store.add(wb.Trajectory(prompt="2+2?", raw="<think>Wait, 2+2=4</think>4"))
        >>> store.cache_listing(), store.cache_listing(), store.list_trajectories().height
        (1, 0, 1)
        """
        if not self._listing_cached():
            return 0
        with self._reading() as conn:
            uncovered, cached = self._listing_cache(conn).uncovered(conn)
        if rebuild:
            uncovered += cached
        if not uncovered:
            return 0
        report = progress_reporter(
            uncovered,
            desc="caching the trajectory listing",
            minimum=0 if progress else (200_000 if progress is None else uncovered + 1),
        )
        with self._write(durable=False) as conn:
            if rebuild:
                conn.execute("DELETE FROM listing_chunks")
            written = self._listing_cache(conn).refresh(conn, progress=report)
        report(written, -1)
        return written

    def _listing_cached(self) -> bool:
        """Whether the open file has the listing cache's tables (cached per connection)."""
        with self._reading() as conn:
            known = getattr(self, "_has_listing", None)
            if known is None or known[0] is not conn:
                known = (conn, has_listing_cache(conn))
                self._has_listing = known
            return known[1]

    def _listing_cache(self, conn: sqlite3.Connection) -> ListingCache:
        def load(tail: str, params: Sequence[Any]) -> pl.DataFrame:
            rows = conn.execute(f"SELECT t.rowid, {_LIST_SQL} FROM trajectories t {tail}", params)
            frame = _frame(rows.fetchall(), {ROWID: pl.Int64, **LIST_SCHEMA})
            return frame.with_columns(pl.col("tags").str.json_decode(pl.List(pl.String)))

        return ListingCache(_CACHED_SCHEMA, load)

    def _cached_listing(self) -> pl.DataFrame | None:
        """Every listing row (with its row id) from the cache, refreshed first if far behind."""
        if not self._listing_cached():
            return None
        with self._lock:
            if not self.readonly:
                with self._reading() as conn:
                    uncovered, _ = self._listing_cache(conn).uncovered(conn)
                if uncovered >= AUTO_CACHE_ROWS:  # another writer holding the file: skip it
                    self._conn.execute("PRAGMA busy_timeout = 0")
                    try:
                        with suppress(sqlite3.OperationalError, StoreError):
                            self.cache_listing(progress=False)
                    finally:
                        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            with self._reading() as conn:
                begin = not conn.in_transaction  # chunks and SQL rows of one moment
                if begin:
                    conn.execute("BEGIN")
                try:
                    return self._listing_cache(conn).read(conn)
                finally:
                    if begin:
                        conn.execute("COMMIT")

    def count(self, **filters: Any) -> int:
        """Return the number of trajectories matching ``filters`` (see :meth:`list_trajectories`)."""
        where, params, needs_body = build_where(
            filters, indexed=self._search_ready() if filters.get("search") else False
        )
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
