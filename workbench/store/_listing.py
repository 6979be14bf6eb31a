"""The listing cache: ``list_trajectories()`` of a large store from columnar chunks in the file.

Why
---
Building a polars frame of a million listing rows from Python's ``sqlite3`` rows takes about
5 s (twenty Python objects per row); decoding the same columns from Arrow IPC takes about 0.2 s.
So the store keeps the listing's columns (:data:`~workbench.store._trajectories.LIST_SCHEMA`) as
Arrow IPC chunks, compressed with zstd, *inside the store file* (the store stays one file, and
the chunks are written in the same transactions as everything else).

How it stays exact
------------------
``listing_chunks`` holds one chunk per range of row ids (``first_rowid`` … ``last_rowid``, up to
:data:`CHUNK_ROWS` rows): every trajectory of that range as it was when the chunk was written.
The ranges are contiguous from the smallest row id SQLite allows to the last chunk's end.
Triggers on ``trajectories`` record in ``listing_stale`` every row inserted, updated or deleted
inside a covered range after that (an insert there only happens when row ids are reused). A
listing then takes the chunks, drops their stale rows, and reads from SQL only the stale rows
and the rows past the last chunk; the result equals the plain SQL listing at every moment,
whatever wrote to the file (the store's API, an importer, a hand-written ``UPDATE``). The
``layout`` of each chunk names the columns and types it holds, so chunks written by another
version of the listing are ignored (and rebuilt) rather than misread.

When it is written
------------------
:meth:`Store.cache_listing <workbench.store._trajectories.TrajectoryTables.cache_listing>`
brings it up to date (``workbench index`` and ``workbench import`` call it). A full listing of a
writable store does so itself first when :data:`AUTO_CACHE_ROWS` or more rows are not covered
(a first listing of a large store therefore pays once for the chunks: about 10 % over the plain
listing). Stores under :data:`AUTO_CACHE_ROWS` rows are never cached automatically: SQL lists
them in well under a second.

The design (a materialised view kept exact by change-recording triggers) is ours; the triggers
follow the same pattern as the search index's ``search_pending`` (:mod:`workbench.store._search`).
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = [
    "AUTO_CACHE_ROWS",
    "CHUNK_ROWS",
    "MIN_CACHED_PAGE",
    "ROWID",
    "ListingCache",
    "create_listing_cache",
    "has_listing_cache",
    "layout_of",
    "order_listing",
]

CHUNK_ROWS = 100_000
"""Rows per chunk (about 5 MB compressed): an edit rewrites at most this many rows' chunk."""

AUTO_CACHE_ROWS = 20_000
"""Uncovered rows (new or changed) at which a full listing of a writable store refreshes the cache."""

MIN_CACHED_PAGE = 10_000
"""Pages ending before this row are read from SQL (faster than decoding every chunk)."""

_MIN_ROWID = -(2**63)

ROWID = "_rowid"
"""Column of the cached frames holding each trajectory's row id (dropped from what is returned)."""

_DDL = (
    """CREATE TABLE IF NOT EXISTS listing_chunks (
        first_rowid INTEGER PRIMARY KEY,
        last_rowid  INTEGER NOT NULL,
        n_rows      INTEGER NOT NULL,
        layout      TEXT NOT NULL,
        data        BLOB NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS listing_stale (traj_rowid INTEGER PRIMARY KEY)",
    *(
        f"""CREATE TRIGGER IF NOT EXISTS listing_stale_{event.lower()} AFTER {event} ON trajectories
        WHEN {row}.rowid <= (SELECT max(last_rowid) FROM listing_chunks)
        BEGIN INSERT OR IGNORE INTO listing_stale (traj_rowid) VALUES ({row}.rowid); END"""
        for event, row in (("INSERT", "new"), ("UPDATE", "old"), ("DELETE", "old"))
    ),
)


def create_listing_cache(conn: sqlite3.Connection) -> None:
    """Migration to schema 8: create the (empty) chunk table, the stale-row table and triggers."""
    for statement in _DDL:
        conn.execute(statement)


def has_listing_cache(conn: sqlite3.Connection) -> bool:
    """Whether the open file has the cache's tables (schema 8 and later)."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'listing_chunks'"
    ).fetchone()
    return row is not None


def layout_of(schema: dict[str, Any]) -> str:
    """Return the fingerprint of a listing schema (column names and polars types, in order)."""
    text = ";".join(f"{name}:{dtype}" for name, dtype in schema.items())
    return "v1:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="zstd")
    return buffer.getvalue()


def _decode(blob: bytes) -> pl.DataFrame:
    import pyarrow as pa

    table = pa.ipc.open_file(pa.py_buffer(blob)).read_all()
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


Loader = Callable[[str, Sequence[Any]], pl.DataFrame]
"""``load(sql_tail, params)``: the listing rows (with :data:`ROWID`) of ``... FROM trajectories t
<sql_tail>``, in row-id order."""


@dataclass(frozen=True, slots=True)
class ListingCache:
    """The cache of one store file, for one listing ``schema``.

    Parameters
    ----------
    schema
        The listing's columns and polars types (what each chunk holds, plus :data:`ROWID`).
    load
        Reads listing rows from SQL (see :data:`Loader`).
    """

    schema: dict[str, Any]
    load: Loader

    @property
    def layout(self) -> str:
        """The fingerprint every chunk written for this schema carries."""
        return layout_of(self.schema)

    # -- state ----------------------------------------------------------------------------------
    def uncovered(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """Return ``(rows a listing would read from SQL, rows in the chunks)``."""
        chunks = conn.execute(
            "SELECT max(last_rowid), coalesce(sum(n_rows), 0), "
            "coalesce(sum(layout != ?), 0) FROM listing_chunks",
            (self.layout,),
        ).fetchone()
        last, cached, foreign = chunks
        if last is None or foreign:
            (total,) = conn.execute("SELECT count(*) FROM trajectories").fetchone()
            return int(total), 0
        (stale,) = conn.execute("SELECT count(*) FROM listing_stale").fetchone()
        (tail,) = conn.execute(
            "SELECT count(*) FROM trajectories WHERE rowid > ?", (last,)
        ).fetchone()
        return int(stale) + int(tail), int(cached) - int(stale)

    # -- reading --------------------------------------------------------------------------------
    def read(self, conn: sqlite3.Connection) -> pl.DataFrame | None:
        """Return every listing row (with :data:`ROWID`, in row-id order), or ``None`` uncached.

        Call inside one read transaction, so that the chunks and the rows read from SQL are of
        the same moment.
        """
        chunks = conn.execute(
            "SELECT first_rowid, last_rowid, layout, data FROM listing_chunks ORDER BY first_rowid"
        ).fetchall()
        if not chunks or any(layout != self.layout for _, _, layout, _ in chunks):
            return None
        last = max(c[1] for c in chunks)
        stale = [r[0] for r in conn.execute("SELECT traj_rowid FROM listing_stale")]
        # two queries: SQLite scans the whole table for ``rowid > ? OR rowid IN (...)``
        fresh = [self.load("WHERE t.rowid > ? ORDER BY t.rowid", (last,))]
        try:
            frames = [_decode(data) for _, _, _, data in chunks]
        except Exception as exc:  # a damaged chunk: list from SQL (exact, slower)
            warnings.warn(
                f"the listing cache cannot be read ({type(exc).__name__}: {str(exc)[:100]}); "
                "listing from the trajectories table instead: run Store.check(), then "
                "Store.cache_listing(rebuild=True)",
                RuntimeWarning,
                stacklevel=4,
            )
            return None
        if stale:
            fresh.append(
                self.load(
                    "WHERE t.rowid IN (SELECT traj_rowid FROM listing_stale) AND t.rowid <= ?",
                    (last,),
                )
            )
            drop = pl.Series(stale, dtype=pl.Int64)
            frames = [f.filter(~pl.col(ROWID).is_in(drop.implode())) for f in frames]
        frame = pl.concat([*frames, *fresh], how="vertical", rechunk=False)
        return frame.sort(ROWID) if stale else frame

    # -- writing --------------------------------------------------------------------------------
    def refresh(
        self, conn: sqlite3.Connection, *, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Rewrite the chunks holding stale rows and add chunks for new rows; return rows written.

        The caller holds the write transaction. ``progress(done, total)`` follows the rows
        written (``total`` as estimated at the start).
        """
        report = progress or (lambda done, total: None)
        conn.execute("DELETE FROM listing_chunks WHERE layout != ?", (self.layout,))
        chunks = conn.execute(
            "SELECT first_rowid, last_rowid, n_rows FROM listing_chunks ORDER BY first_rowid"
        ).fetchall()
        if not chunks:
            conn.execute("DELETE FROM listing_stale")
        stale = [r[0] for r in conn.execute("SELECT traj_rowid FROM listing_stale ORDER BY 1")]
        # the first chunk starts at the smallest row id SQLite allows
        start = chunks[-1][1] + 1 if chunks else _MIN_ROWID
        (tail,) = conn.execute(
            "SELECT count(*) FROM trajectories WHERE rowid >= ?", (start,)
        ).fetchone()
        if tail and chunks and chunks[-1][2] < CHUNK_ROWS:  # a short last chunk grows
            first, _, n = chunks.pop()
            conn.execute("DELETE FROM listing_chunks WHERE first_rowid = ?", (first,))
            start, tail = first, tail + n
        dirty = [(a, b) for a, b, _ in chunks if bisect_right(stale, b) > bisect_left(stale, a)]
        total = tail + CHUNK_ROWS * len(dirty)
        done = 0
        for first, end in dirty:
            rows = self.load("WHERE t.rowid BETWEEN ? AND ? ORDER BY t.rowid", (first, end))
            conn.execute(  # an emptied chunk stays: the ranges cover every row id up to the last
                "UPDATE listing_chunks SET n_rows = ?, data = ? WHERE first_rowid = ?",
                (rows.height, _encode(rows), first),
            )
            done += rows.height
            report(done, total)
        while True:
            rows = self.load("WHERE t.rowid >= ? ORDER BY t.rowid LIMIT ?", (start, CHUNK_ROWS))
            if not rows.height:
                break
            end = int(rows[ROWID][-1])
            conn.execute(
                "INSERT INTO listing_chunks (first_rowid, last_rowid, n_rows, layout, data)"
                " VALUES (?, ?, ?, ?, ?)",
                (start, end, rows.height, self.layout, _encode(rows)),
            )
            done += rows.height
            report(done, total)
            start = end + 1
        conn.execute("DELETE FROM listing_stale")
        return done


def order_listing(frame: pl.DataFrame, by: str, *, descending: bool) -> pl.DataFrame:
    """Sort a cached listing as SQL's ``ORDER BY <by> <dir>, rowid <dir>`` does.

    SQLite puts NULLs first in ascending order and last in descending order, and compares text
    by its UTF-8 bytes (polars does too). ``by="created"`` is row-id order.
    """
    if by == "created":
        return frame.sort(ROWID, descending=True) if descending else frame
    return frame.sort([by, ROWID], descending=descending, nulls_last=descending)
