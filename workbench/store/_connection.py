"""Opening a store file: path resolution, pragmas, migrations, read and write transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Self

from workbench.errors import StoreError
from workbench.store._search import (
    AUTO_INDEX_ROWS,
    has_search_index,
    index_pending,
    pending_rows,
)
from workbench.store.schema import MIGRATIONS, Migration, migrate

__all__ = [
    "DEFAULT_STORE",
    "STORE_ENV",
    "StoreConnection",
    "StoreReplacedError",
    "resolve_store_path",
]

WRITE_CHECK_TEXTS_MAX_BYTES = 1_000_000_000
"""Files up to this size are checked whole before their first write; larger ones skip the texts.

A full ``quick_check`` reads every page: about 50 s for the 15 GB of a million 12 KB
trajectories, which a researcher would wait for at their first annotation.
"""

STORE_ENV = "WORKBENCH_STORE"
"""Environment variable naming the store file when no path is given."""

DEFAULT_STORE = "workbench.db"
"""Store file used when neither an argument nor ``$WORKBENCH_STORE`` names one (in the cwd)."""

_BUSY_TIMEOUT_S = 60.0
BUSY_TIMEOUT_MS = int(_BUSY_TIMEOUT_S * 1000)
"""How long a write waits for another writer to finish (``PRAGMA busy_timeout``)."""
_INSERT_TOKENS = (
    "INSERT INTO token_arrays (traj_rowid, n, ids, offsets, logprobs, entropies)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SENTINEL: Any = object()


def resolve_store_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the store path: ``path``, else ``$WORKBENCH_STORE``, else ``./workbench.db``."""
    if path is None or str(path) == "":
        path = os.environ.get(STORE_ENV) or DEFAULT_STORE
    return Path(path).expanduser()


def _recovery_hint(path: Path) -> str:
    return (
        f"recover it with `sqlite3 {path} .recover | sqlite3 recovered.db` or restore a backup "
        "(the file was left as it is)"
    )


def _sqlite_error(path: Path, exc: sqlite3.Error | UnicodeDecodeError, *, doing: str) -> StoreError:
    """Turn an SQLite error into one line that says what is wrong with the file and what to do.

    A :class:`UnicodeDecodeError` is SQLite's message itself failing to decode: it quotes
    damaged schema text (bytes that are not UTF-8), so it is reported as damage too.
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    if isinstance(exc, UnicodeDecodeError) or str(exc).startswith("Could not decode"):
        return StoreError(
            f"{path} holds text that is not UTF-8 while {doing} (the file is probably "
            f"damaged): run Store.check(), then {_recovery_hint(path)}"
        )
    if name == "SQLITE_NOTADB":
        return StoreError(
            f"{path} is not a workbench store (not an SQLite database: {exc}): pass the path of "
            f"a store; if this was one, {_recovery_hint(path)}"
        )
    if name.startswith("SQLITE_CORRUPT") or str(exc).startswith(_SCHEMA_DAMAGE):
        return StoreError(f"{path} is damaged ({exc}) while {doing}: {_recovery_hint(path)}")
    if name.startswith("SQLITE_READONLY"):
        return StoreError(
            f"{path} cannot be written ({exc}) while {doing}: make the file and its folder "
            "writable, or open it with readonly=True to read it"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(
            f"{path} cannot be opened ({exc}) while {doing}: check that the file and its folder "
            "exist and are readable"
        )
    if name.startswith("SQLITE_FULL") or name.startswith("SQLITE_IOERR"):
        return StoreError(
            f"{path}: the disk refused the write ({exc}) while {doing}: free space or check the "
            "disk; nothing of this write was kept"
        )
    return StoreError(f"{path}: {exc} while {doing}")


_FILE_ERRORS = ("SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_READONLY", "SQLITE_CANTOPEN",
                "SQLITE_FULL", "SQLITE_IOERR")  # fmt: skip


_SCHEMA_DAMAGE = ("no such column", "no such table", "malformed database schema")
"""Messages of a store whose schema text lost a column or table: it opened at the current
version, so the file was damaged (or edited by hand) since it was written."""


def _is_file_error(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    return (
        name.startswith(_FILE_ERRORS)
        or text.startswith("Could not decode")
        or text.startswith(_SCHEMA_DAMAGE)
    )


def _can_write(path: Path) -> bool:
    """Whether a WAL-mode store at ``path`` can be written (the file and its folder)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        return False
    shm = Path(f"{path}-shm")
    return os.access(folder, os.W_OK) or (shm.exists() and os.access(shm, os.W_OK))


class StoreReplacedError(StoreError):
    """The store file was replaced or removed while a write was under way; nothing was acknowledged."""


class StoreConnection:
    """The connection half of :class:`~workbench.store.Store`: opening, migrating, transactions.

    The connection follows the file at ``path``: when the file is replaced (restored from a
    backup, synced, moved away and back) the next read or write reopens the current file, and a
    write that the replacement overtakes raises :class:`StoreReplacedError` instead of
    succeeding into the unlinked file.

    Parameters
    ----------
    path
        The file. Defaults to ``$WORKBENCH_STORE`` or ``./workbench.db``; created if missing.
    readonly
        Open without write access (no file is created; writes raise). A store whose file or
        folder is not writable is opened read-only whatever this says.
    create
        Create the file when it does not exist (``False``: raise :class:`StoreError` instead;
        an empty file is then not made into a store either).
    migrations
        Schema migrations to apply (for tests of the migration machinery).
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
        self._readonly_why = "it was opened with readonly=True"
        self._create = create
        self._migrations = migrations
        if self.path.is_dir():
            raise StoreError(
                f"{self.path} is a folder, not a store file: pass the path of a file, "
                f"e.g. {self.path / DEFAULT_STORE}"
            )
        if not create and not self.path.exists():
            raise StoreError(
                f"no store at {self.path}: import traces first (workbench import FILE --store "
                f"{self.path}) or pass --store / set ${STORE_ENV}"
            )
        if not create and self.path.stat().st_size == 0:
            raise StoreError(
                f"{self.path} is an empty file, not a workbench store: pass the store's path, "
                f"or import into it (workbench import FILE --store {self.path}) to make it one"
            )
        if not self.readonly and not self.path.exists() and not _can_write(self.path):
            raise StoreError(
                f"cannot create store {self.path}: its folder is not writable; pass a path in a "
                "writable folder"
            )
        if not self.readonly and self.path.exists() and not _can_write(self.path):
            self.readonly = True
            self._readonly_why = "the file or its folder is not writable (opened read-only)"
        self._lock = threading.RLock()
        self._checked = False
        self._conn = self._connect(migrations)
        self._identity = self._stat_identity()

    # -- connection -----------------------------------------------------------------------------
    def _stat_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino)

    def _open_readonly(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise StoreError(f"no store at {self.path}: check the path or create it by importing")
        uri = self.path.resolve().as_uri()
        last: sqlite3.Error | None = None
        # ``mode=ro`` sees the write-ahead log; ``immutable=1`` reads a file on a read-only mount
        # where SQLite cannot create the shared-memory index beside it
        for query in ("mode=ro", "mode=ro&immutable=1"):
            conn: sqlite3.Connection | None = None
            try:
                conn = sqlite3.connect(
                    f"{uri}?{query}", uri=True, timeout=_BUSY_TIMEOUT_S, check_same_thread=False
                )
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.DatabaseError as exc:
                if conn is not None:
                    conn.close()
                last = exc
                if getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
                    break
        assert last is not None
        raise _sqlite_error(self.path, last, doing="opening it read-only") from last

    def _connect(self, migrations: Sequence[Migration]) -> sqlite3.Connection:
        if self.readonly:
            conn = self._open_readonly()
        else:
            if self.path.parent and not self.path.parent.exists():
                raise StoreError(
                    f"cannot create store {self.path}: folder {self.path.parent} does not exist"
                )
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=_BUSY_TIMEOUT_S,
                    check_same_thread=False,
                    isolation_level=None,
                )
            except sqlite3.Error as exc:
                raise _sqlite_error(self.path, exc, doing="opening it") from exc
        conn.isolation_level = None
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            conn.close()
            raise _sqlite_error(self.path, exc, doing="opening it") from exc
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
                    "open it once writable (without readonly=True, on a writable copy)"
                )
            try:
                self._migrate(conn, migrations)
            except sqlite3.DatabaseError as exc:
                raise _sqlite_error(self.path, exc, doing="migrating it") from exc
        return conn

    def _follow(self) -> None:
        """Reopen the current file if the one open was replaced (call with the lock held)."""
        identity = self._stat_identity()
        if identity == self._identity:
            return
        if identity is None:
            raise StoreReplacedError(
                f"the store file {self.path} was moved or deleted while open: nothing was read "
                "or written; put it back (or restore a backup) and try again"
            )
        # fold the write-ahead log into the old file and empty it first: the log is found by
        # name, so the new file would otherwise read the old file's pages from it
        if not self.readonly:
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()
        self._conn = self._connect(self._migrations)
        self._identity = identity
        self._checked = False

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

        The first write on a connection checks the file (``PRAGMA quick_check``) and refuses a
        damaged one. A file replaced since the last call is reopened first; a replacement that
        overtakes the transaction rolls it back (or, during the commit, says the write went to
        the replaced file) with :class:`StoreReplacedError`.
        """
        if self.readonly:
            raise StoreError(f"{self.path} is read-only: {self._readonly_why}; nothing was written")
        with self._lock:
            self._follow()
            if not self._checked:
                self._require_intact()
            if not durable:
                self._conn.execute("PRAGMA synchronous = NORMAL")
            try:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                except sqlite3.DatabaseError as exc:
                    raise self._translate(exc, "starting a write") from exc
                try:
                    yield self._conn
                    if self._stat_identity() != self._identity:
                        raise StoreReplacedError(
                            f"the store file {self.path} was replaced during this write: nothing "
                            "was written; try again (the current file will be used)"
                        )
                except BaseException as exc:
                    self._conn.execute("ROLLBACK")
                    if isinstance(exc, sqlite3.DatabaseError) and _is_file_error(exc):
                        raise self._translate(exc, "writing") from exc
                    raise
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.DatabaseError as exc:
                    raise self._translate(exc, "committing a write") from exc
                if self._stat_identity() != self._identity:
                    raise StoreReplacedError(
                        f"the store file {self.path} was replaced while this write was being "
                        "committed: it went to the replaced file, not the current one; write it "
                        "again"
                    )
            finally:
                if not durable:
                    self._conn.execute("PRAGMA synchronous = FULL")

    def _translate(self, exc: sqlite3.DatabaseError, doing: str) -> Exception:
        return _sqlite_error(self.path, exc, doing=doing) if _is_file_error(exc) else exc

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the connection for reads (the current file; damage reported as one line)."""
        with self._lock:
            self._follow()
            try:
                yield self._conn
            except sqlite3.DatabaseError as exc:
                if _is_file_error(exc):
                    raise _sqlite_error(self.path, exc, doing="reading") from exc
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()

    def check(self, *, raise_error: bool = False, texts: bool = True) -> list[str]:
        """Check the file's integrity (``PRAGMA quick_check``); return the problems found.

        Parameters
        ----------
        raise_error
            Raise :class:`StoreError` (with how to recover) instead of returning problems.
        texts
            Also check the tables of texts (``trajectory_bodies`` and the search index), which
            hold nearly all of a large file's bytes: ``False`` checks every other table, one by
            one (the first write to a file over :data:`WRITE_CHECK_TEXTS_MAX_BYTES` does so;
            a damaged text is still reported, as one line, when it is read).

        Returns
        -------
        list of str
            Empty when the file is intact; else SQLite's description of each problem (at most
            20). Importers call this before writing; every write connection runs it once.
        """
        try:
            with self._lock:
                self._follow()
                if texts:
                    rows = self._conn.execute("PRAGMA quick_check(20)").fetchall()
                else:
                    rows = []
                    for (name,) in self._conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN"
                        " ('trajectory_bodies', 'trajectory_fts') AND name NOT LIKE"
                        " 'trajectory\\_fts\\_%' ESCAPE '\\'"
                    ).fetchall():
                        quoted = '"' + str(name).replace('"', '""') + '"'
                        rows += self._conn.execute(f"PRAGMA quick_check({quoted})").fetchall()
            problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        except sqlite3.DatabaseError as exc:
            if not _is_file_error(exc):
                raise
            problems = [str(exc)]
        problems = [" ".join(p.replace("*** in database main ***", "").split()) for p in problems]
        if problems and raise_error:
            raise StoreError(
                f"{self.path} is damaged ({problems[0][:200]}); nothing was written: "
                f"{_recovery_hint(self.path)}"
            )
        return problems

    def _damaged_row(self, what: str, exc: Exception) -> StoreError:
        """Return the error for a row that SQLite returned but that cannot be decoded."""
        return StoreError(
            f"{self.path}: {what} cannot be read ({type(exc).__name__}: {str(exc)[:120]}), the "
            f"file is probably damaged: run Store.check(), then {_recovery_hint(self.path)}"
        )

    def _require_intact(self) -> None:
        """Check the file before its first write (a large file: all but the texts, see below)."""
        size = self.path.stat().st_size if self.path.exists() else 0
        self.check(raise_error=True, texts=size <= WRITE_CHECK_TEXTS_MAX_BYTES)
        self._checked = True

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def _search_indexed(self) -> bool:
        """Whether the open file has the full-text index (cached per connection)."""
        with self._lock:
            self._follow()
            cached = getattr(self, "_indexed", None)
            if cached is None or cached[0] is not self._conn:
                cached = (self._conn, has_search_index(self._conn))
                self._indexed = cached
            return cached[1]

    def _search_ready(self) -> bool:
        """Prepare a text search; return whether the index can be used.

        A writable store first indexes a short pending tail (at most
        :data:`~workbench.store._search.AUTO_INDEX_ROWS` rows, skipped if another writer holds the
        file); a longer tail is scanned by the search (exact, slower) and a warning says once per
        store how to index it.
        """
        if not self._search_indexed():
            return False
        with self._reading() as conn:
            pending = pending_rows(conn)
        if not pending:
            return True
        if pending <= AUTO_INDEX_ROWS:  # a short tail: index it (a read-only store scans it)
            if not self.readonly:
                with (
                    suppress(sqlite3.OperationalError, StoreError),
                    self._write(durable=False) as c,
                ):
                    index_pending(c, AUTO_INDEX_ROWS)
            return True
        if not getattr(self, "_warned_pending", False):
            self._warned_pending = True
            fix = (
                "open it writable and run store.index_search()"
                if self.readonly
                else "run store.index_search()"
            )
            warnings.warn(
                f"{pending:,} trajectories of {self.path} are not in the search index yet, so "
                f"searches scan their text (same results, slower): {fix} or "
                f"`workbench index {self.path}` (about 1 ms per 12 KB trajectory)",
                RuntimeWarning,
                stacklevel=3,
            )
        return True

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self._read("PRAGMA user_version")[0][0])
